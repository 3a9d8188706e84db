from __future__ import annotations

from pathlib import Path

import pytest

from deepwell.errors import ModelError
from reasoning import resolve_model_path


def test_packaged_default_resolves() -> None:
    path = resolve_model_path("smollm2-135m")
    assert path.name.endswith(".gguf") and path.stat().st_size > 50_000_000


def test_missing_file_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="DEEPWELL_LLM_MODEL"):
        resolve_model_path(str(tmp_path / "nope.gguf"))


def test_not_gguf_is_refused_before_llama_cpp(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 4096)
    with pytest.raises(ModelError, match="not a GGUF"):
        resolve_model_path(str(bad))


def test_truncated_gguf_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(b"GGUF\x03\x00")
    with pytest.raises(ModelError, match="too small"):
        resolve_model_path(str(bad))
