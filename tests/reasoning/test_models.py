from __future__ import annotations

from pathlib import Path

import pytest

from deepwell.core.errors import ModelError
from deepwell.reasoning import model_info, resolve_model_path
from deepwell.reasoning._gguf import read_gguf_metadata


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
    with pytest.raises(ModelError, match="truncated"):
        resolve_model_path(str(bad))


def test_model_info_reads_the_header(model_path: Path) -> None:
    info = model_info(model_path)
    assert info["quantization"] == "Q4_1" and info["trained_context"] == 8192
    assert info["architecture"] == "llama" and info["chat_template"] is True


def test_header_is_read_without_the_token_tables(model_path: Path) -> None:
    meta = read_gguf_metadata(model_path)
    assert meta["gguf.version"] == 3 and meta["tokenizer.ggml.tokens"] == "<array of 49152>"


def test_file_cut_in_the_middle_is_refused(model_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "half.gguf"
    with model_path.open("rb") as src:
        cut.write_bytes(src.read(4 << 20))
    with pytest.raises(ModelError, match="truncated"):
        resolve_model_path(str(cut))


def test_corrupt_header_is_refused(model_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    with model_path.open("rb") as src:
        head = bytearray(src.read(1 << 20))
    head[8:16] = b"\xff" * 8  # the tensor count
    bad.write_bytes(bytes(head))
    with pytest.raises(ModelError, match="corrupt GGUF header"):
        resolve_model_path(str(bad))


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="No model file"):
        resolve_model_path(str(tmp_path))


def test_public_api_is_exactly_all() -> None:
    from deepwell import reasoning

    assert reasoning.__all__ == sorted(
        reasoning.__all__, key=lambda s: (not s.isupper(), not s[0].isupper(), s)
    )
    for name in reasoning.__all__:
        assert hasattr(reasoning, name)
    assert {"LLM", "Message", "Completion", "ToolCall", "ToolSpec", "Usage", "SyncLLM", "load_llm"} <= set(
        reasoning.__all__
    )


@pytest.mark.parametrize("cache_mb", [0, 64])
def test_cache_setting_reaches_llama_cpp(cache_mb: int) -> None:
    from deepwell.core.settings import Settings
    from deepwell.reasoning import load_llm

    llm = load_llm(Settings(llm_n_ctx=512, llm_cache_mb=cache_mb))
    cache = llm._llama.cache  # type: ignore[attr-defined]
    assert (cache is None) if cache_mb == 0 else cache.capacity_bytes == cache_mb << 20
