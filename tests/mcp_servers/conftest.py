from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deepwell.core.settings import Settings
from deepwell.sdk import Deepwell

DOCS = {
    "handbook.md": (
        "# Handbook\n\n## Security\n\nRotate API keys every 90 days.\n\n## Leave\n\nEmployees get 30 days.\n"
    ),
    "tea.md": "# Tea\n\nGreen tea is steeped for two minutes at 75 degrees.\n",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    return root


@pytest.fixture
def settings(tmp_path: Path, corpus: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", allowed_roots=[corpus])


@pytest.fixture
def loaded(settings: Settings, corpus: Path) -> Settings:
    """A store with the corpus ingested into collection 'kb'."""
    with Deepwell(settings) as dw:
        dw.ingest([corpus], "kb")
    return settings


def server_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "DEEPWELL_DATA_DIR": str(settings.data_dir),
        "DEEPWELL_ALLOWED_ROOTS": "[" + ",".join(f'"{r}"' for r in settings.allowed_roots) + "]",
        "HF_HUB_OFFLINE": "1",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_http(settings: Settings, **env: str) -> Iterator[str]:
    """``deepwell serve`` in a subprocess with bearer token ``s3cret``; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepwell", "serve", "--port", str(port)],
        env={**server_env(settings), "DEEPWELL_AUTH_TOKEN": "s3cret", **env},
        cwd=str(Path(__file__).resolve().parents[2]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("deepwell serve did not come up")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
