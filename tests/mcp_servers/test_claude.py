"""Claude Desktop set-up as a user runs it: `deepwell mcp config` and `deepwell mcp install`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from deepwell.core.settings import Settings


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "DEEPWELL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "deepwell", "mcp", *args], capture_output=True, text=True, env=e, timeout=120
    )


def test_config_prints_a_complete_entry_with_absolute_paths(tmp_path: Path) -> None:
    r = run(["config"], tmp_path / "data", COLUMNS="40", DEEPWELL_ALLOWED_ROOTS=f'["{tmp_path}"]')
    assert r.returncode == 0, r.stderr
    entry = json.loads(r.stdout)["mcpServers"]["deepwell"]
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).exists()
    assert entry["args"] == ["mcp", "stdio"]
    assert entry["env"]["DEEPWELL_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert json.loads(entry["env"]["DEEPWELL_ALLOWED_ROOTS"]) == [str(tmp_path.resolve())]
    assert entry["env"]["DEEPWELL_LLM_MODEL"]


def test_install_merges_keeps_other_servers_and_backs_up(tmp_path: Path) -> None:
    cfg = tmp_path / "Claude" / "claude_desktop_config.json"
    cfg.parent.mkdir()
    before = {"mcpServers": {"other": {"command": "/usr/bin/other", "args": []}}, "theme": "dark"}
    cfg.write_text(json.dumps(before))

    r = run(["install", "--client", "claude-desktop", "--config-path", str(cfg)], tmp_path / "data")
    assert r.returncode == 0, r.stderr
    after = json.loads(cfg.read_text())
    assert after["theme"] == "dark" and after["mcpServers"]["other"] == before["mcpServers"]["other"]
    assert after["mcpServers"]["deepwell"]["args"] == ["mcp", "stdio"]
    backups = list(cfg.parent.glob("claude_desktop_config.json.bak-*"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == before

    again = run(["install", "--config-path", str(cfg)], tmp_path / "data")
    assert again.returncode == 0 and list(json.loads(cfg.read_text())["mcpServers"]) == ["other", "deepwell"]
    backups = list(cfg.parent.glob("claude_desktop_config.json.bak-*"))
    assert len(backups) == 2 and before in [json.loads(b.read_text()) for b in backups]


def test_install_creates_a_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "new" / "claude_desktop_config.json"
    r = run(["install", "--config-path", str(cfg)], tmp_path / "data")
    assert r.returncode == 0, r.stderr
    assert list(json.loads(cfg.read_text())["mcpServers"]) == ["deepwell"]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", [], "is not valid JSON"),
        ("[1, 2]", [], "does not hold a JSON object"),
        ('{"mcpServers": []}', [], "'mcpServers'"),
        ("{}", ["--client", "zed"], "Unknown client 'zed'"),
    ],
)
def test_install_refuses_to_damage_a_config(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    cfg = tmp_path / "claude_desktop_config.json"
    cfg.write_text(content)
    r = run(["install", "--config-path", str(cfg), *args], tmp_path / "data")
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert cfg.read_text() == content


@pytest.mark.slow
async def test_the_generated_entry_starts_a_working_server(loaded: Settings, tmp_path: Path) -> None:
    """Launch the server exactly as Claude Desktop would: the entry's command, args and env only."""
    r = run(["config"], loaded.data_dir)
    entry = json.loads(r.stdout)["mcpServers"]["deepwell"]
    params = StdioServerParameters(
        command=entry["command"], args=entry["args"], env=entry["env"], cwd=tmp_path
    )
    async with Client(params) as client:
        hits = await client.call_tool("search", {"query": "API key rotation", "collection": "kb", "k": 1})
    assert hits.structured_content["hits"][0]["uri"].endswith("handbook.md")


# where each client keeps its servers, per its documentation, and how it reads one entry
CLIENT_FILES = {
    "claude-desktop": ("claude_desktop_config.json", "mcpServers"),
    "cursor": (".cursor/mcp.json", "mcpServers"),
    "vscode": (".vscode/mcp.json", "servers"),
    "claude-code": (".mcp.json", "mcpServers"),
}


def _read_like_the_client(path: Path, key: str, name: str) -> StdioServerParameters:
    """Parse the file as the client does: JSON, the servers under its key, a stdio entry (VS Code and
    Claude Code name the transport; the desktop apps imply it), env values as strings."""
    entry = json.loads(path.read_text())[key][name]
    assert entry.get("type", "stdio") == "stdio"
    assert isinstance(entry["command"], str) and Path(entry["command"]).is_absolute()
    assert all(isinstance(a, str) for a in entry["args"])
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in entry.get("env", {}).items())
    return StdioServerParameters(command=entry["command"], args=entry["args"], env=entry.get("env"))


@pytest.mark.slow
@pytest.mark.parametrize("client", list(CLIENT_FILES))
async def test_each_client_config_launches_a_working_server(
    loaded: Settings, tmp_path: Path, client: str
) -> None:
    """`deepwell mcp install --client X` writes X's file; the entry, launched with only its command, args
    and env (as the client launches it), serves a search over stdio."""
    rel, key = CLIENT_FILES[client]
    cfg = tmp_path / "home" / rel
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(json.dumps({key: {"other": {"command": "/usr/bin/true", "args": []}}}))
    r = run(["install", "--client", client, "--config-path", str(cfg)], loaded.data_dir)
    assert r.returncode == 0, r.stderr
    printed = json.loads(run(["config", "--client", client], loaded.data_dir).stdout)
    assert json.loads(cfg.read_text())[key]["deepwell"] == printed[key]["deepwell"]
    assert "other" in json.loads(cfg.read_text())[key]

    params = _read_like_the_client(cfg, key, "deepwell")
    params.cwd = tmp_path
    async with Client(params) as mcp_client:
        hits = await mcp_client.call_tool("search", {"query": "API key rotation", "collection": "kb", "k": 1})
    assert hits.structured_content["hits"][0]["uri"].endswith("handbook.md")
