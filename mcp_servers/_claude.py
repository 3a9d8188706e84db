"""MCP client set-up: a config entry in each client's documented format, and a merge into the user's config
file that keeps everything else.

| client          | file                                               | key          | entry extras     |
|-----------------|----------------------------------------------------|--------------|------------------|
| claude-desktop  | Claude/claude_desktop_config.json (per platform)   | mcpServers   |                  |
| cursor          | ~/.cursor/mcp.json (or a project's .cursor/mcp.json)| mcpServers  |                  |
| vscode          | .vscode/mcp.json in the workspace                  | servers      | "type": "stdio"  |
| claude-code     | .mcp.json in the project (project scope)           | mcpServers   | "type": "stdio"  |
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from deepwell.core.errors import InputError
from deepwell.core.settings import Settings

__all__ = ["CLIENTS", "claude_config_path", "client_config", "client_config_path", "config_entry", "install"]

CLIENTS = ("claude-desktop", "cursor", "vscode", "claude-code")
# the top-level key each client reads its servers from, and whether entries name their transport
_KEY = {
    "claude-desktop": "mcpServers",
    "cursor": "mcpServers",
    "vscode": "servers",
    "claude-code": "mcpServers",
}
_TYPED = {"vscode", "claude-code"}


def claude_config_path() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Claude/claude_desktop_config.json"
    return (
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "Claude/claude_desktop_config.json"
    )


def client_config_path(client: str) -> Path:
    """Where ``client`` reads its MCP servers: user-wide for the desktop apps, the current project else."""
    _check(client)
    if client == "claude-desktop":
        return claude_config_path()
    if client == "cursor":
        return Path.home() / ".cursor" / "mcp.json"
    if client == "vscode":
        return Path.cwd() / ".vscode" / "mcp.json"
    return Path.cwd() / ".mcp.json"


def _check(client: str) -> None:
    if client not in CLIENTS:
        raise InputError(
            f"Unknown client {client!r}; supported: {', '.join(CLIENTS)}. "
            "For another client, `deepwell mcp config` prints the command, args and env to enter."
        )


def _command() -> str:
    found = shutil.which("deepwell") or str(Path(sys.executable).with_name("deepwell"))
    return str(Path(found).resolve()) if Path(found).exists() else found


def config_entry(settings: Settings, name: str = "deepwell") -> dict[str, Any]:
    """``{"mcpServers": {name: {...}}}`` with absolute paths, so Claude Desktop needs no PATH."""
    env = {
        "DEEPWELL_DATA_DIR": str(Path(settings.data_dir).expanduser().resolve()),
        "DEEPWELL_LLM_MODEL": settings.llm_model,
        "HF_HUB_OFFLINE": "1",
    }
    if settings.database_url:
        env["DEEPWELL_DATABASE_URL"] = settings.database_url
    if settings.allowed_roots:
        env["DEEPWELL_ALLOWED_ROOTS"] = json.dumps(
            [str(Path(r).expanduser().resolve()) for r in settings.allowed_roots]
        )
    return {"mcpServers": {name: {"command": _command(), "args": ["mcp", "stdio"], "env": env}}}


def client_config(
    settings: Settings, client: str = "claude-desktop", name: str = "deepwell"
) -> dict[str, Any]:
    """The config snippet for ``client``, in the shape that client's documentation gives."""
    _check(client)
    entry = dict(config_entry(settings, name)["mcpServers"][name])
    if client in _TYPED:
        entry = {"type": "stdio", **entry}
    return {_KEY[client]: {name: entry}}


def _free_name(path: Path) -> Path:
    """``path``, or ``path-1``, ``path-2``...: two installs in one second must not overwrite a backup."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def install(
    settings: Settings,
    config_path: Path | None = None,
    name: str = "deepwell",
    client: str = "claude-desktop",
) -> tuple[Path, Path | None]:
    """Merge the entry into the client's config file; back up the old file first. Returns (path, backup)."""
    _check(client)
    key = _KEY[client]
    path = config_path or client_config_path(client)
    data: dict[str, Any] = {}
    backup = None
    if path.exists():
        raw = path.read_text(encoding="utf-8")
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); fix or move it, then run again. "
                "Nothing was changed."
            ) from exc
        if not isinstance(data, dict):
            raise InputError(f"{path} does not hold a JSON object; nothing was changed.")
        backup = _free_name(path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}"))
        shutil.copy2(path, backup)
    servers = data.setdefault(key, {})
    if not isinstance(servers, dict):
        raise InputError(f"'{key}' in {path} is not an object; nothing was changed.")
    servers.update(client_config(settings, client, name)[key])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if path.exists():
        shutil.copymode(path, tmp)
    tmp.replace(path)
    return path, backup
