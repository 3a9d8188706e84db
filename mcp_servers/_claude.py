"""Claude Desktop integration: a config entry, and a merge into the user's config file that keeps the rest."""

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

__all__ = ["claude_config_path", "config_entry", "install"]


def claude_config_path() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library/Application Support/Claude/claude_desktop_config.json"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home())) / "Claude/claude_desktop_config.json"
    return (
        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "Claude/claude_desktop_config.json"
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


def _free_name(path: Path) -> Path:
    """``path``, or ``path-1``, ``path-2``...: two installs in one second must not overwrite a backup."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def install(
    settings: Settings, config_path: Path | None = None, name: str = "deepwell"
) -> tuple[Path, Path | None]:
    """Merge the entry into the config file; back up the old file first. Returns (path, backup)."""
    path = config_path or claude_config_path()
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
    servers = data.setdefault("mcpServers", {})
    if not isinstance(servers, dict):
        raise InputError(f"'mcpServers' in {path} is not an object; nothing was changed.")
    servers.update(config_entry(settings, name)["mcpServers"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if path.exists():
        shutil.copymode(path, tmp)
    tmp.replace(path)
    return path, backup
