"""Red-team issue 13, item 7: the CLI gives a clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEEPWELL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "deepwell", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_ingesting_a_path_that_does_not_exist_fails(tmp_path: Path) -> None:
    r = run(["ingest", str(tmp_path / "nonexistent")], tmp_path / "data")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "no such file or directory" in r.stderr and "nothing was ingested" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "garbage", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\x07" * 4000]
)
def test_a_corrupt_store_is_a_clear_error(tmp_path: Path, garbage: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "deepwell.db").write_bytes(garbage)
    doc = tmp_path / "a.md"
    doc.write_text("# A\n\nSome words.\n")
    for args in (["ingest", str(doc)], ["search", "words"]):
        r = run(args, data)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert "deepwell doctor" in r.stderr and "not a Deepwell store" in r.stderr, r.stderr


@pytest.mark.slow
def test_punctuation_only_text_is_not_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    doc = tmp_path / "dots.md"
    doc.write_text("!!! ... ??? --- ;;; *** " * 40)
    r = run(["ingest", str(doc), "-c", "p"], data)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    r = run(["rlm", "ask", "what?", "--context", str(doc), "--mode", "actions", "-q"], data)
    assert r.returncode == 1 and "no words to index" in r.stderr and "Traceback" not in r.stderr, r.stderr
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(bytes(range(0x80, 0x100)) * 20)
    r = run(["rlm", "ask", "what?", "--context", str(latin), "--mode", "actions", "-q"], data)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr


@pytest.mark.model
def test_a_full_disk_is_a_clear_error_and_the_store_stays_intact(tmp_path: Path) -> None:
    """No room to write (a file-size limit stands in for a full disk): the ingest fails with one message
    saying so, and what was ingested before is still whole and searchable."""
    import resource
    import signal

    data = tmp_path / "data"
    small = tmp_path / "small.md"
    small.write_text("# Keys\n\nEvery API key is rotated every 90 days.\n")
    assert run(["ingest", str(small), "-c", "kb"], data).returncode == 0
    big = tmp_path / "big.md"
    big.write_text("\n\n".join(f"# Part {i}\n\n" + f"word{i} text about part {i}. " * 60 for i in range(60)))
    room = (data / "deepwell.db").stat().st_size + 40_000

    def no_room() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

    env = {**os.environ, "DEEPWELL_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    r = subprocess.run(
        [sys.executable, "-m", "deepwell", "ingest", str(big), "-c", "kb"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        preexec_fn=no_room,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "disk is probably full" in r.stderr and "store is intact" in r.stderr, r.stderr[-500:]
    docs = run(["docs", "-c", "kb", "--json"], data)
    assert docs.returncode == 0 and "small.md" in docs.stdout and "big.md" not in docs.stdout, docs.stdout
    hit = run(["search", "how often are API keys rotated", "-c", "kb", "--mode", "keyword", "--json"], data)
    assert hit.returncode == 0 and "small.md" in hit.stdout
    doctor = run(["doctor"], data)
    assert "in sync" in doctor.stdout, doctor.stdout
