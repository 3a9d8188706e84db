"""The README's CLI and ask quickstarts, run as written in a shell: every command of the two blocks, with
``~`` a temporary home holding the samples as ``~/notes`` and the sample collection ingested as ``make demo``
does. Each command must succeed and print what a user is promised. Real models throughout."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def bash_lines(heading: str) -> list[str]:
    """The commands of one README section's bash blocks, comments stripped."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            cmd = re.sub(r"\s+#.*$", "", line).strip()
            if cmd and not cmd.startswith("#"):
                lines.append(cmd)
    return lines


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    shutil.copytree(ROOT / "deepwell" / "samples", tmp_path / "notes")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DEEPWELL_DATA_DIR": str(tmp_path / "data"),
        "DEEPWELL_LLM_CACHE_MB": "0",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    env.pop("DEEPWELL_DATABASE_URL", None)
    return env


def _sh(cmd: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", cmd], env=env, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )


def test_cli_quickstart_runs_as_written(home: dict[str, str], tmp_path: Path) -> None:
    cmds = bash_lines("Quickstart: CLI")
    assert any(c.startswith("deepwell ingest") for c in cmds), cmds
    out: dict[str, str] = {}
    for cmd in cmds:
        if cmd.startswith("source "):  # the test already runs the venv's deepwell
            continue
        real = cmd.replace("/abs/path/to/file.md", str(tmp_path / "notes" / "handbook.md"))
        p = _sh(real, home, tmp_path)
        assert p.returncode == 0, f"{cmd}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        out[cmd] = p.stdout
    by = {c.split()[1]: o for c, o in reversed(out.items())}  # the first command of each verb wins
    assert by["--version"].startswith("deepwell ")
    hits = [o for c, o in out.items() if c.startswith("deepwell search")]
    assert "handbook.md" in hits[0], hits[0]  # "how do I rotate keys" → the key-rotation policy
    js = json.loads(next(o for c, o in out.items() if "--json" in c and c.startswith("deepwell search")))
    assert js["hits"] and all("citation" in h for h in js["hits"])
    assert "handbook.md" in js["hits"][0]["uri"], js["hits"][0]
    assert "notes" in by["collections"]
    assert "handbook.md" in by["docs"]
    assert "_deepwell_completion" in (tmp_path / ".bash_completions" / "deepwell.sh").read_text()
    assert "handbook.md" not in _sh("deepwell docs -c notes", home, tmp_path).stdout  # `rm` removed it


def test_ask_quickstart_runs_as_written(home: dict[str, str], tmp_path: Path) -> None:
    cmds = bash_lines("Quickstart: ask (cited answers)")
    ingest = _sh(f"deepwell ingest {ROOT / 'deepwell' / 'samples'} --collection samples", home, tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    answers: dict[str, subprocess.CompletedProcess[str]] = {}
    for cmd in cmds:
        if "RUN_ID" in cmd:
            run_id = re.search(r"\b([0-9a-f]{8,})\b", answers["deepwell runs"].stdout)
            assert run_id, answers["deepwell runs"].stdout
            cmd = cmd.replace("RUN_ID", run_id.group(1))
        p = _sh(cmd, home, tmp_path)
        assert p.returncode == 0, f"{cmd}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        answers[cmd if "RUN_ID" not in cmd else "show"] = p
    asks = [(c, p) for c, p in answers.items() if c.startswith("deepwell ask")]
    assert len(asks) == 4
    (_, rotate), (_, meals), (_, count), (_, meals_rag) = asks
    assert "90" in rotate.stdout and "[1]" in rotate.stdout, rotate.stdout
    for p in (meals, meals_rag):
        r = json.loads(p.stdout)
        assert r["status"] == "answered" and "60" in r["answer"], r
        assert r["citations"], r
    assert json.loads(meals_rag.stdout)["strategy"] == "rag"
    assert re.search(r"\b3\b", count.stdout), count.stdout
    assert "rlm" in count.stderr.lower(), count.stderr
