"""``deepwell rlm`` as a user runs it: a real subprocess, the real default model, the real run store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepwell.storage import Store

NEEDLE = "The special magic number for amber-falcon is: 4417263."


def run(
    args: list[str], data_dir: Path, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEEPWELL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "deepwell", "rlm", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=timeout,
    )


@pytest.fixture
def haystack(tmp_path: Path) -> Path:
    """~5K tokens of the packaged sample documents with two needles."""
    samples = Path(__file__).parents[2] / "deepwell" / "samples"
    paras = [
        p
        for name in ("handbook.md", "night-sky.md", "bicycle-care.txt", "release-notes.md")
        for p in (samples / name).read_text().split("\n\n")
        if p.strip()
    ]
    body = (paras * 3)[:120]
    body.insert(len(body) // 2, NEEDLE)
    body.insert(len(body) // 5, "The special magic number for crimson-raven is: 7730581.")
    path = tmp_path / "haystack.txt"
    path.write_text("\n\n".join(body))
    return path


def _seed_run(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{data_dir / 'deepwell.db'}")
    rid = store.runs.start("rlm", "Which label is most common?", {"mode": "actions"})
    s = store.runs.add_step(rid, "strategy", {"name": "extract_then_count"})
    store.runs.add_step(rid, "reduce", {"operation": "most", "result": "billing"}, parent_seq=s)
    store.runs.add_step(rid, "final", {"status": "answered", "answer": "billing"})
    store.runs.finish(rid, "answered", "billing", {"usage": {"sub_calls": 0}})
    store.close()
    return rid


def test_show_runs_json_and_html_of_a_recorded_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rid = _seed_run(data)

    r = run(["runs"], data)
    assert r.returncode == 0, r.stderr
    assert rid in r.stdout and "answered" in r.stdout
    listed = json.loads(run(["runs", "--json"], data).stdout)
    assert [x["id"] for x in listed] == [rid]

    r = run(["show", rid[:5]], data)
    assert r.returncode == 0, r.stderr
    assert "#1 strategy · extract_then_count" in r.stdout and "#2 reduce" in r.stdout
    assert "answer (answered): billing" in r.stdout
    assert r.stdout.index("#2 reduce") - r.stdout.rfind("\n", 0, r.stdout.index("#2 reduce")) > (
        r.stdout.index("#1 strategy") - r.stdout.rfind("\n", 0, r.stdout.index("#1 strategy"))
    )

    exported = json.loads(run(["show", rid, "--json"], data).stdout)
    assert exported["id"] == rid and len(exported["steps"]) == 3

    page = tmp_path / "run.html"
    r = run(["show", rid, "--html", str(page)], data)
    assert r.returncode == 0, r.stderr
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "extract_then_count" in text and "http" not in text


def test_bad_input_is_one_clear_message(tmp_path: Path, haystack: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    cases = [
        (["show", "nope"], "No run 'nope'"),
        (["What?"], "exactly one of --context"),
        (["What?", "--context", str(haystack), "--collection", "c"], "exactly one of --context"),
        (["What?", "--context", str(tmp_path / "missing.txt")], "No context file"),
        (["What?", "--context", str(haystack), "--mode", "fast"], "Unknown --mode"),
        (["What?", "--context", str(haystack), "--sandbox", "vm"], "Unknown --sandbox"),
        (["What?", "--context", "-"], "read nothing from stdin"),
        (["What?", "-c", str(haystack)], "-c is --collection"),
        (["What?", "-c", "-"], "pass it as --context -"),
        (["show", _seed_run(data), "--html", str(tmp_path / "no" / "dir" / "x.html")], "Cannot write"),
    ]
    for args, message in cases:
        r = run(args, data, stdin="")
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_binary_context_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 64)
    r = run(["What is in it?", "--context", str(blob), "--mode", "actions"], tmp_path / "data")
    assert r.returncode == 1 and "binary" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.model
@pytest.mark.slow
def test_answers_a_needle_with_the_real_model_then_shows_the_run(tmp_path: Path, haystack: Path) -> None:
    data = tmp_path / "data"
    r = run(
        [
            "What is the special magic number for amber-falcon?",
            "--context",
            str(haystack),
            "--mode",
            "actions",
            "--json",
            "--max-seconds",
            "120",
        ],
        data,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["status"] == "answered" and "4417263" in result["answer"]
    assert "#1" in r.stderr  # live progress, one line per step, on stderr

    shown = run(["show", result["run_id"]], data)
    assert shown.returncode == 0, shown.stderr
    assert "4417263" in shown.stdout and "plan" in shown.stdout and "execute" in shown.stdout

    # follow-up questions in one session (the context is loaded and indexed once)
    r = run(
        [
            "What is the special magic number for amber-falcon?",
            "--context",
            str(haystack),
            "--mode",
            "actions",
            "-i",
        ],
        data,
        stdin="What is the special magic number for crimson-raven?\n",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["4417263", "7730581"]
    assert r.stderr.count("answered ·") == 2 and "follow-up" in r.stderr

    # a question the context cannot answer, context on stdin: a recorded non-answer, never an invented number
    r = run(
        ["What is the special magic number for silver-otter?", "--context", "-", "--mode", "actions", "-q"],
        data,
        stdin=haystack.read_text(),
    )
    assert r.returncode in (0, 3), r.stderr
    assert "4417263" not in r.stdout and "7730581" not in r.stdout
    assert "#1" not in r.stderr  # --quiet


@pytest.mark.model
@pytest.mark.slow
def test_answers_over_an_ingested_collection(tmp_path: Path, corpus_dir: Path) -> None:
    data = tmp_path / "data"
    env_run = subprocess.run(
        [sys.executable, "-m", "deepwell", "ingest", str(corpus_dir), "-c", "docs"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEEPWELL_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert env_run.returncode == 0, env_run.stderr
    r = run(
        [
            "At how many degrees should green tea be steeped?",
            "--collection",
            "docs",
            "--mode",
            "actions",
            "--json",
        ],
        data,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["status"] == "answered" and "75" in result["answer"]
    r = run(["anything?", "--collection", "nope", "--mode", "actions"], data)
    assert r.returncode == 1 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_follow_prints_steps_until_the_run_finishes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = Store(f"sqlite:///{data / 'deepwell.db'}")
    rid = store.runs.start("rlm", "Which label is most common?", {})
    first = store.runs.add_step(rid, "strategy", {"name": "extract_then_count"})
    env = {**os.environ, "DEEPWELL_DATA_DIR": str(data), "COLUMNS": "160"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepwell", "rlm", "show", rid, "--follow", "--brief"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        while "#1" not in line:
            assert line, "follow ended before printing the first step"
            line = proc.stderr.readline()
        assert proc.poll() is None  # still following: the run has not finished
        store.runs.add_step(rid, "reduce", {"operation": "most", "result": "billing"}, parent_seq=first)
        store.runs.finish(rid, "answered", "billing", {})
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        store.close()
    assert proc.returncode == 0, err
    assert "#2 reduce" in err  # printed live as it was recorded
    assert "answer (answered): billing" in out and "#2 reduce" in out
