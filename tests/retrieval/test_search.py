"""End-to-end retrieval on the real embedder, real FAISS and bm25s, against SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepwell.core.errors import InputError, NotFoundError
from deepwell.core.settings import Settings
from deepwell.sdk import Deepwell


@pytest.fixture(params=["sqlite", "postgres", "pgvector"])
def client(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = None
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    elif request.param == "pgvector":
        url = request.getfixturevalue("pgvector_url")
    dw = Deepwell(Settings(data_dir=tmp_path / "data", database_url=url, chunk_tokens=64, chunk_overlap=8))
    yield dw
    if request.param == "pgvector":
        assert dw.retriever.dense_backend == "pgvector"
    if request.param != "sqlite":
        for c in dw.collections():
            dw.delete_collection(c.name)
    dw.close()


def test_ingest_search_update_delete(client: Deepwell, corpus_dir: Path) -> None:
    report = client.ingest([corpus_dir], "docs")
    assert (report.added, report.skipped) == (3, [])
    again = client.ingest([corpus_dir], "docs")
    assert (again.added, again.unchanged, again.chunks) == (0, 3, 0)

    for mode in ("hybrid", "dense", "keyword"):
        hits = client.search("how often should API keys be rotated", "docs", mode=mode, k=2)
        assert hits[0].uri.endswith("keys.md"), mode
        assert hits[0].text in client.get_document("docs", hits[0].document_id).text
        assert hits[0].headings == ["Security", "API keys"]
    hybrid = client.search("rotate API keys", "docs")[0]
    assert {"dense", "keyword", "fusion"} <= hybrid.scores.keys()

    (corpus_dir / "keys.md").write_text("# Security\n\nPasswords expire after 30 days.\n")
    upd = client.ingest([corpus_dir], "docs")
    assert (upd.updated, upd.unchanged) == (1, 2)
    assert client.search("passwords expire", "docs", k=1)[0].uri.endswith("keys.md")
    assert all("90 days" not in h.text for h in client.search("rotate API keys 90 days", "docs", k=5))

    doc = client.search("green tea", "docs", k=1)[0]
    client.delete_document("docs", doc.uri)
    assert all(h.document_id != doc.document_id for h in client.search("green tea steep", "docs", k=5))
    assert all(h.document_id != doc.document_id for h in client.search("tea", "docs", mode="keyword", k=5))


def test_filters_rerank_and_weighted_fusion(client: Deepwell) -> None:
    client.ingest_texts(
        [
            ("a", "Rotate API keys every 90 days.", {"team": "sec"}),
            ("b", "API keys for the staging cluster live in the vault.", {"team": "ops"}),
            ("c", "Green tea is steeped at 75 degrees.", {"team": "kitchen"}),
        ],
        "t",
    )
    assert [h.uri for h in client.search("API keys", "t", filters={"team": "ops"})] == ["b"]
    assert client.search("API keys", "t", filters={"team": "nobody"}) == []
    ranked = client.search("how often are keys rotated", "t", rerank=True, k=3)
    assert ranked[0].uri == "a" and "rerank" in ranked[0].scores
    assert client.search("keys rotated", "t", fusion="weighted", k=1)[0].uri == "a"


def test_bad_queries_and_unknown_collection(client: Deepwell) -> None:
    client.ingest_texts([("a", "some text", None)], "t")
    with pytest.raises(InputError, match="empty"):
        client.search("  ", "t")
    with pytest.raises(InputError, match="limit"):
        client.search("x" * 5000, "t")
    with pytest.raises(NotFoundError, match="deepwell ingest"):
        client.search("x", "missing")
    with pytest.raises(InputError, match="mode"):
        client.search("x", "t", mode="fuzzy")
    assert client.search("zzzzqqq", "t", mode="keyword") == []


def test_bad_files_are_skipped_and_nothing_is_lost(client: Deepwell, corpus_dir: Path) -> None:
    client.ingest([corpus_dir], "docs")
    (corpus_dir / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (corpus_dir / "blob.txt").write_bytes(b"\x00\x00\x00")
    report = client.ingest([corpus_dir], "docs")
    assert {Path(p).name for p, _ in report.skipped} == {"broken.pdf", "blob.txt"}
    assert report.unchanged == 3
    assert client.collections()[0].documents == 3


def test_indexes_catch_up_after_a_crash(client: Deepwell, tmp_path: Path) -> None:
    """An index left at an old revision (e.g. a crash after commit) is rebuilt from the database."""
    client.ingest_texts([("a", "alpha document about rivers", None)], "t")
    cid = client.store.collection_id("t")
    # simulate a crash: a second writer commits to the DB but the index files are never refreshed
    other = Deepwell(client.settings)
    other.ingest_texts([("b", "beta document about mountains", None)], "t")
    other.close()
    assert client.search("mountains", "t", k=1)[0].uri == "b"
    dense, kw = client.retriever.indexes(cid)
    assert dense.size == 2 and len(kw.ids) == 2


def test_interrupted_ingest_keeps_finished_documents(client: Deepwell) -> None:
    def items():  # type: ignore[no-untyped-def]
        yield ("one", "first document text", None)
        yield ("two", "second document text", None)
        raise KeyboardInterrupt

    client._ingestor.batch_chunks = 1
    report = client._ingestor.ingest_texts(items(), "t")
    assert report.interrupted and report.added == 2
    assert {h.uri for h in client.search("document text", "t")} == {"one", "two"}


def test_hnsw_index_past_the_threshold(tmp_path: Path) -> None:
    dw = Deepwell(Settings(data_dir=tmp_path / "d", ann_threshold=3))
    dw.ingest_texts([(f"d{i}", f"document number {i} about topic {i % 3}", None) for i in range(8)], "t")
    dense, _ = dw.retriever.indexes(dw.store.collection_id("t"))
    assert dense.kind == "hnsw"
    assert dw.search("document number 5", "t", mode="dense", k=1)[0].uri == "d5"
    assert [h.uri for h in dw.search("topic", "t", mode="dense", filters={"uri": "d7"})] == ["d7"]
    dw.close()


def test_pgvector_hnsw_past_the_threshold(tmp_path: Path, pgvector_url: str) -> None:
    dw = Deepwell(Settings(data_dir=tmp_path / "d", database_url=pgvector_url, ann_threshold=3))
    dw.ingest_texts([(f"d{i}", f"document number {i} about topic {i % 3}", None) for i in range(8)], "hnsw")
    dense, _ = dw.retriever.indexes(dw.store.collection_id("hnsw"))
    assert dense.kind == "pgvector-hnsw" and dense.size == 8
    assert dw.search("document number 5", "hnsw", mode="dense", k=1)[0].uri == "d5"
    dw.delete_collection("hnsw")
    dw.close()
