"""The retrieval commands as a user runs them: a real subprocess, real models, results on stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "DEEPWELL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "deepwell", *args], capture_output=True, text=True, env=e, timeout=300
    )


@pytest.mark.slow
def test_ingest_search_json_and_errors(tmp_path: Path, corpus_dir: Path) -> None:
    data = tmp_path / "data"
    r = run(["ingest", str(corpus_dir), "-c", "docs", "--json"], data)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == 3

    r = run(["search", "rotate API keys", "-c", "docs", "-k", "2", "--json"], data)
    assert r.returncode == 0, r.stderr
    hits = json.loads(r.stdout)["hits"]
    assert hits[0]["uri"].endswith("keys.md") and hits[0]["char_end"] > hits[0]["char_start"]

    r = run(["search", "rotate API keys", "-c", "docs", "-k", "1"], data)
    assert "keys.md#chunk=" in r.stdout

    r = run(["search", "x", "-c", "missing"], data)
    assert r.returncode == 1 and "No collection named 'missing'" in r.stderr and "Traceback" not in r.stderr
    r = run(["search", "   ", "-c", "docs"], data)
    assert r.returncode == 1 and "empty" in r.stderr and "Traceback" not in r.stderr

    r = run(["collections", "--json"], data)
    assert json.loads(r.stdout)[0]["documents"] == 3

    r = run(["rm", "-c", "docs", str(corpus_dir / "tea.md")], data)
    assert r.returncode == 0, r.stderr
    r = run(["doctor", "--json"], data)
    checks = {c["check"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["database"]["ok"] and checks["indexes vs database"]["ok"]
    assert checks["embedding model (offline)"]["ok"]


def test_database_down_is_one_clear_message(tmp_path: Path) -> None:
    r = run(
        ["collections"],
        tmp_path,
        DEEPWELL_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2",
    )
    assert r.returncode == 1
    assert "Cannot reach the database" in r.stderr and "Traceback" not in r.stderr


def test_help_lists_commands() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "deepwell", "--help"], capture_output=True, text=True, timeout=120
    )
    for cmd in ("ingest", "search", "collections", "rm", "doctor"):
        assert cmd in r.stdout
