"""`deepwell ask` on the real default model over the samples: auto takes an RLM run for a counting question
and the retrieved passages for a lookup, and both answers are right."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deepwell.cli import app
from deepwell.core.settings import Settings
from deepwell.sdk import Deepwell

pytestmark = [pytest.mark.model, pytest.mark.slow]

SAMPLES = Path(__file__).resolve().parents[2] / "deepwell" / "samples"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("ask-strategy") / "data"
    with Deepwell(Settings(data_dir=d)) as dw:
        dw.ingest([SAMPLES], "samples")
    yield d


def _ask(data_dir: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    monkeypatch.setenv("DEEPWELL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DEEPWELL_LLM_CACHE_MB", "0")
    r = CliRunner().invoke(app, ["ask", *args, "-c", "samples", "--json"])
    return r.exit_code, json.loads(r.stdout) if r.stdout.strip() else {"output": r.output}


def test_auto_counts_with_an_rlm_run_over_the_collection(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, r = _ask(data_dir, monkeypatch, "How many entries does release 3.2.0 list?")
    assert code == 0, r
    assert r["strategy"] == "rlm" and "counts entries" in r["why"], r
    assert r["answer"].strip() == "3" and r["status"] == "answered", r  # offline mode, export, emoji crash


def test_auto_looks_up_from_the_retrieved_passages(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, r = _ask(data_dir, monkeypatch, "How often must API keys be rotated?")
    assert code == 0, r
    assert r["strategy"] == "rag" and r["status"] == "answered", r
    assert "90" in r["answer"] and r["citations"][0]["uri"].endswith("handbook.md"), r
