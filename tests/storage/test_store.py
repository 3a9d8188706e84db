from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import text

from deepwell.core.errors import InputError, NotFoundError, SchemaError, StorageError
from deepwell.storage import SCHEMA_VERSION, NewChunk, Store


def _chunk(i: int, text_: str, dim: int = 4) -> NewChunk:
    v = np.zeros(dim, dtype=np.float32)
    v[i % dim] = 1.0
    return NewChunk(i, text_, 0, len(text_), 3, ["H"], v.tobytes())


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 's.db'}"
    else:
        base = request.getfixturevalue("pg_url")
        # a schema-less database per test: drop our tables between tests
        url = base
    s = Store(url)
    yield s
    if request.param == "postgres":
        with s.engine.begin() as conn:
            conn.execute(
                text(
                    "DROP TABLE IF EXISTS run_steps, runs, embeddings, chunks, documents, collections, "
                    "deepwell_meta CASCADE"
                )
            )
    s.close()


def test_document_roundtrip_and_atomic_replace(store: Store) -> None:
    cid = store.ensure_collection("c", "m", 4)
    _, replaced = store.put_document(
        cid,
        uri="u",
        title="t",
        text="hello world",
        content_hash="h1",
        metadata={"a": 1},
        chunks=[_chunk(0, "hello")],
    )
    assert not replaced
    rev1 = store.revision(cid)
    _, replaced = store.put_document(
        cid,
        uri="u",
        title="t",
        text="bye",
        content_hash="h2",
        metadata={},
        chunks=[_chunk(0, "b"), _chunk(1, "y")],
    )
    assert replaced
    assert store.revision(cid) == rev1 + 1
    doc = store.get_document("c", "u")
    assert doc.text == "bye" and doc.chunk_count == 2 and doc.content_hash == "h2"
    ids, vecs = store.load_vectors(cid, 4)
    assert len(ids) == 2 and vecs.shape == (2, 4)
    assert store.collections()[0].chunks == 2


def test_delete_document_leaves_no_rows(store: Store) -> None:
    cid = store.ensure_collection("c", "m", 4)
    store.put_document(
        cid, uri="u", title="", text="x", content_hash="h", metadata={}, chunks=[_chunk(0, "x")]
    )
    assert store.delete_document("c", "u")
    ids, _ = store.load_vectors(cid, 4)
    assert len(ids) == 0
    assert list(store.iter_chunk_texts(cid)) == []
    with pytest.raises(NotFoundError):
        store.get_document("c", "u")


def test_unknown_collection_message_says_how_to_fix(store: Store) -> None:
    with pytest.raises(NotFoundError, match="deepwell ingest"):
        store.collection_id("missing")


def test_collection_embedding_model_mismatch(store: Store) -> None:
    store.ensure_collection("c", "m", 4)
    with pytest.raises(InputError, match="embedding model"):
        store.ensure_collection("c", "other", 8)


def test_metadata_filters(store: Store) -> None:
    cid = store.ensure_collection("c", "m", 4)
    store.put_document(
        cid,
        uri="/a/x.md",
        title="X",
        text="x",
        content_hash="1",
        metadata={"team": "a"},
        chunks=[_chunk(0, "x")],
    )
    store.put_document(
        cid,
        uri="/b/y.md",
        title="Y",
        text="y",
        content_hash="2",
        metadata={"team": "b"},
        chunks=[_chunk(0, "y")],
    )
    assert len(store.chunk_ids_matching(cid, {"team": "a"})) == 1
    assert len(store.chunk_ids_matching(cid, {"team": ["a", "b"]})) == 2
    assert len(store.chunk_ids_matching(cid, {"uri": "/b/*"})) == 1
    assert store.chunk_ids_matching(cid, {"team": "z"}) == set()


def test_runs_are_persisted_as_a_tree(store: Store) -> None:
    run = store.runs.start("rlm", "q")
    root = store.runs.add_step(run, "llm", {"prompt": "p"})
    store.runs.add_step(run, "sub_call", {"answer": "a"}, parent_seq=root, seconds=0.5)
    store.runs.finish(run, "answered", "42")
    rec = store.runs.get(run)
    assert rec.answer == "42" and [s.parent_seq for s in rec.steps] == [None, root]


def test_newer_schema_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.db'}"
    s = Store(url)
    with s.engine.begin() as conn:
        conn.execute(
            text("UPDATE deepwell_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION + 1)},
        )
    s.close()
    with pytest.raises(SchemaError, match="Upgrade Deepwell"):
        Store(url)


def test_database_down_gives_clear_error() -> None:
    with pytest.raises(StorageError, match="Cannot reach the database"):
        Store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
