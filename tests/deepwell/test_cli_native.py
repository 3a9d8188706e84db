"""The CLI as a new user meets it: --version, `docs`, citations in --json, fast keyword search, and
settings typed the way people type them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deepwell.core import Settings
from tests.deepwell.test_cli_retrieval import run

# runs a CLI command in-process, then says whether torch was ever imported
_PROBE = """
import sys
from deepwell.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("TORCH_LOADED" if "torch" in sys.modules else "TORCH_ABSENT", file=sys.stderr)
"""


def test_version() -> None:
    from deepwell import __version__

    r = run(["--version"], Path("/nonexistent"))
    assert r.returncode == 0 and r.stdout.strip() == f"deepwell {__version__}"


@pytest.mark.slow
def test_keyword_search_docs_and_json_citations(tmp_path: Path, corpus_dir: Path) -> None:
    data = tmp_path / "data"
    assert run(["ingest", str(corpus_dir), "-c", "docs"], data).returncode == 0

    env = {**os.environ, "DEEPWELL_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            "search",
            "rotate API keys",
            "-c",
            "docs",
            "--mode",
            "keyword",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert "TORCH_ABSENT" in probe.stderr, probe.stderr
    hit = json.loads(probe.stdout)["hits"][0]
    assert hit["uri"].endswith("keys.md")
    assert (
        hit["citation"] == f"{hit['uri']}#chunk={hit['ordinal']}&chars={hit['char_start']}-{hit['char_end']}"
    )

    # hybrid search does need the embedder: the probe must say so, or it proves nothing above
    hybrid = subprocess.run(
        [sys.executable, "-c", _PROBE, "search", "rotate API keys", "-c", "docs", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert "TORCH_LOADED" in hybrid.stderr and json.loads(hybrid.stdout)["hits"]

    docs = json.loads(run(["docs", "-c", "docs", "--json"], data).stdout)["documents"]
    assert sorted(Path(d["uri"]).name for d in docs) == sorted(p.name for p in corpus_dir.iterdir())
    table = run(["docs", "-c", "docs"], data, COLUMNS="200")
    assert table.returncode == 0 and "keys.md" in table.stdout
    missing = run(["docs", "-c", "nope"], data)
    assert missing.returncode == 1 and "No collection named 'nope'" in missing.stderr


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/srv/docs", ["/srv/docs"]),
        (f"/a{os.pathsep}/b", ["/a", "/b"]),
        ('["/x", "/y"]', ["/x", "/y"]),
        ("", []),
    ],
)
def test_allowed_roots_plain_path_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    monkeypatch.setenv("DEEPWELL_ALLOWED_ROOTS", raw)
    assert [str(p) for p in Settings().allowed_roots] == expected


def test_allowed_roots_broken_json_says_what_it_wants(tmp_path: Path) -> None:
    r = run(["collections"], tmp_path, DEEPWELL_ALLOWED_ROOTS='["/x",')
    assert r.returncode == 2 and "looks like JSON" in r.stderr and "Traceback" not in r.stderr
