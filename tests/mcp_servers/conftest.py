from __future__ import annotations

import os
from pathlib import Path

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
