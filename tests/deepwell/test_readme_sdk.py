"""The README's SDK quickstart, run as written: its four Python blocks (local and remote, blocking and
async) against the samples copied to ``docs/``, the remote ones against a real ``deepwell serve``
subprocess on loopback (only the port differs). Real models throughout."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepwell.core.settings import Settings
from tests.mcp_servers.conftest import serve_http

pytestmark = [pytest.mark.model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
README_PORT = "http://127.0.0.1:8765"


def sdk_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart: Python SDK", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_quickstart_has_local_and_remote_blocking_and_async_blocks() -> None:
    blocks = sdk_blocks()
    assert len(blocks) == 4
    local_sync, local_async, remote_sync, remote_async = blocks
    assert "Deepwell(Settings(" in local_sync and "AsyncDeepwell(Settings(" in local_async
    assert "Deepwell.connect(" in remote_sync and "AsyncDeepwell.connect(" in remote_async


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "deepwell" / "samples", tmp_path / "docs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEEPWELL_LLM_CACHE_MB", "0")
    return tmp_path


def _run(code: str, capsys: pytest.CaptureFixture[str]) -> str:
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    return capsys.readouterr().out


def test_readme_sdk_blocks_run_as_written(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local_sync, local_async, remote_sync, remote_async = sdk_blocks()

    out = _run(local_sync, capsys)
    assert "release-notes.md#chunk=" in out or "handbook.md#chunk=" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("rag answered") and "90" in last, out

    out = _run(local_async, capsys)
    assert "tea.html#chunk=" in out
    assert re.match(r"rlm 3 - it counts entries", out.strip().splitlines()[-1]), out

    settings = Settings(data_dir=workdir / ".deepwell", allowed_roots=[workdir / "docs"])
    server: Iterator[str] = serve_http(settings)
    url = next(server)
    try:
        out = _run(remote_sync.replace(README_PORT, url), capsys)
        lines = out.strip().splitlines()
        assert "handbook.md#chunk=" in lines[0]
        assert lines[-1].startswith("rag answered") and "'ask'" in lines[-1], out

        out = _run(remote_async.replace(README_PORT, url), capsys)
        assert out.startswith(str(workdir / "docs" / "tea.html")) or "tea.html" in out.split()[0], out
        assert out.strip().endswith("answered 3.2.0"), out
    finally:
        server.close()
