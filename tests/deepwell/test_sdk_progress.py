"""Ingest progress that is honest: the SDK reports chunks as they are embedded, and they add up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepwell.core import Settings
from deepwell.sdk import Deepwell


def _notes(root: Path, files: int, sentences: int) -> Path:
    docs = root / "docs"
    docs.mkdir()
    for i in range(files):
        body = " ".join(f"line {j} of note {i}." for j in range(sentences))
        (docs / f"n{i}.md").write_text(f"# Note {i}\n\n{body}")
    return docs


@pytest.mark.slow
def test_on_chunks_counts_every_embedded_chunk(tmp_path: Path) -> None:
    docs = _notes(tmp_path, 6, 400)
    files: list[tuple[int, int]] = []
    steps: list[int] = []
    with Deepwell(Settings(data_dir=tmp_path / "data")) as dw:
        report = dw.ingest([docs], "c", progress=lambda _, d, t: files.append((d, t)), on_chunks=steps.append)
        assert report.chunks > 8 and sum(steps) == report.chunks
        assert max(steps) <= 8 and len(steps) >= report.chunks // 8  # moves every few chunks
        assert files[-1] == (6, 6)
        again: list[int] = []
        assert dw.ingest([docs], "c", on_chunks=again.append).unchanged == 6 and again == []


@pytest.mark.slow
def test_cli_prints_periodic_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    docs = _notes(tmp_path, 12, 600)
    env = {**os.environ, "DEEPWELL_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "deepwell", "ingest", str(docs), "-c", "c"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "12 added" in r.stdout
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("ingest: ")]
    # a few seconds of embedding at least: plain progress lines, no terminal control codes
    assert lines and all("chunks embedded" in ln for ln in lines) and "\x1b[" not in r.stderr


@pytest.mark.slow
def test_one_big_file_is_reported_read_before_its_chunks_are_embedded(tmp_path: Path) -> None:
    """A single large file: the progress line names it as read while its chunks embed, instead of
    '0/0 files read · loading models' until the end."""
    docs = _notes(tmp_path, 1, 3000)
    seen: list[tuple[str, int, int, int]] = []
    embedded = [0]

    def on_chunks(n: int) -> None:
        embedded[0] += n

    def on_file(item: str, done: int, total: int) -> None:
        seen.append((item, done, total, embedded[0]))

    with Deepwell(Settings(data_dir=tmp_path / "data")) as dw:
        dw.ingest([docs], "c", progress=on_file, on_chunks=on_chunks)
    assert seen and seen[0][:3] == (str(docs / "n0.md"), 1, 1) and seen[0][3] == 0, seen
    assert embedded[0] > 8
