"""Hybrid search over one collection: dense + keyword, fused, optionally reranked, with citations."""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from deepwell.core.errors import ConfigError, InputError
from deepwell.retrieval.embedding import Embedder
from deepwell.retrieval.fusion import FUSIONS
from deepwell.retrieval.indexes import (
    BM25Index,
    DenseIndex,
    DocumentMeans,
    FaissIndex,
    PgVectorIndex,
    PieceIndex,
    Ranked,
)
from deepwell.retrieval.rerank import Reranker
from deepwell.storage import Store

__all__ = ["MODES", "Retriever", "SearchHit"]

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]
MODES: tuple[str, ...] = ("hybrid", "dense", "keyword")


@dataclass
class SearchHit:
    """One result with its citation: which document, which chunk, which characters, and every score."""

    chunk_id: int
    document_id: int
    uri: str
    title: str
    text: str
    ordinal: int
    char_start: int
    char_end: int
    headings: list[str]
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def citation(self) -> str:
        return f"{self.uri}#chunk={self.ordinal}&chars={self.char_start}-{self.char_end}"


class Retriever:
    """Keeps each collection's derived indexes in memory and in sync with the database revision."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        index_dir: Path,
        *,
        ann_threshold: int = 100_000,
        fusion: str = "rrf",
        dense_weight: float = 0.6,
        reranker: Reranker | None = None,
        max_query_chars: int = 2000,
        dense_backend: str = "faiss",
        rerank_depth: int = 20,
        doc_weight: float = 0.0,
        piece_tokens: int = 48,
        piece_overlap: int = 12,
        piece_weight: float = 0.5,
    ) -> None:
        """``piece_tokens`` > 0 scores each chunk with its best piece of that many tokens too
        (``PieceIndex``, blended at ``piece_weight``) in collections up to ``ann_threshold`` chunks on the
        FAISS backend; 0 turns it off."""
        self.rerank_depth = rerank_depth
        self.doc_weight = doc_weight
        self.piece_tokens = piece_tokens
        self.piece_overlap = piece_overlap
        self.piece_weight = piece_weight
        self._pieces: dict[int, PieceIndex | None] = {}
        if dense_backend == "pgvector" and store.pgvector is None:
            raise ConfigError(
                "DEEPWELL_DENSE_BACKEND=pgvector needs PostgreSQL with the pgvector extension "
                "(apt install postgresql-15-pgvector, then CREATE EXTENSION vector); or use faiss or auto."
            )
        self.dense_backend = dense_backend
        self.store = store
        self.embedder = embedder
        self.index_dir = index_dir
        self.ann_threshold = ann_threshold
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.reranker = reranker
        self.max_query_chars = max_query_chars
        self._cache: dict[int, tuple[DenseIndex, BM25Index]] = {}
        self._means: dict[int, DocumentMeans] = {}
        self._lock = threading.Lock()

    def _dir(self, collection_id: int) -> Path:
        return self.index_dir / f"c{collection_id}"

    def indexes(self, collection_id: int) -> tuple[DenseIndex, BM25Index]:
        """The collection's indexes at the database's current revision, loading or rebuilding as needed."""
        rev = self.store.revision(collection_id)
        with self._lock:
            cached = self._cache.get(collection_id)
            if cached and cached[0].revision == rev and cached[1].revision == rev:
                return cached
            d = self._dir(collection_id)
            dense: DenseIndex | None
            if self.dense_backend == "pgvector":
                assert self.store.pgvector is not None
                dense = PgVectorIndex(
                    self.store.pgvector, collection_id, self.embedder.dim, rev, self.ann_threshold
                )
            else:
                dense = FaissIndex.load(d / "dense")
                if dense is None or dense.revision != rev:
                    dense = self._build_dense(collection_id, rev)
                    dense.save(d / "dense")
            kw = BM25Index.load(d / "bm25")
            if kw is None or kw.revision != rev:
                kw = self._build_keyword(collection_id, rev)
                kw.save(d / "bm25")
            self._cache[collection_id] = (dense, kw)
            self._pieces[collection_id] = self._piece_index(collection_id, rev, dense)
            return dense, kw

    def pieces(self, collection_id: int) -> PieceIndex | None:
        """The collection's piece index at the current revision, or None where pieces are off (turned
        off, the pgvector backend, or more chunks than the ANN threshold)."""
        self.indexes(collection_id)
        return self._pieces.get(collection_id)

    def _piece_index(self, collection_id: int, rev: int, dense: DenseIndex) -> PieceIndex | None:
        """Called with the lock held, after the dense index is current."""
        if self.piece_tokens <= 0 or self.dense_backend != "faiss" or dense.size > self.ann_threshold:
            return None
        d = self._dir(collection_id) / "pieces"
        config = f"{self.embedder.name} {self.piece_tokens}/{self.piece_overlap}"
        old = self._pieces.get(collection_id) or PieceIndex.load(d)
        if old is not None and old.revision == rev and old.config == config:
            return old
        from deepwell.retrieval.chunking import Chunker

        ids, vecs = self.store.load_vectors(collection_id, self.embedder.dim)
        texts = dict(self.store.iter_chunk_texts(collection_id))
        chunker = Chunker(self.embedder.token_offsets, self.piece_tokens, self.piece_overlap)
        log.info("building piece index for collection %s (%d chunks)", collection_id, len(ids))
        index = PieceIndex.build(
            ids,
            vecs,
            texts,
            lambda t: [c.text for c in chunker.chunk(t)],
            lambda t: self.embedder.encode(t, batch_size=64),
            revision=rev,
            previous=old,
            config=config,
        )
        index.save(d)
        return index

    def document_means(self, collection_id: int) -> DocumentMeans:
        """Each document's mean chunk vector at the current revision (kept in memory, rebuilt from the
        database's vectors when the revision moves)."""
        rev = self.store.revision(collection_id)
        with self._lock:
            means = self._means.get(collection_id)
            if means is not None and means.revision == rev:
                return means
            ids, vecs = self.store.load_vectors(collection_id, self.embedder.dim)
            details = self.store.chunk_details(ids.tolist())
            keep = np.fromiter((int(c) in details for c in ids), bool, len(ids))
            docs = np.fromiter((details[int(c)]["chunk"].document_id for c in ids[keep]), np.int64)
            means = DocumentMeans.build(ids[keep], vecs[keep], docs, revision=rev)
            self._means[collection_id] = means
            return means

    def rebuild(self, collection_id: int) -> None:
        with self._lock:
            self._cache.pop(collection_id, None)
            self._means.pop(collection_id, None)
            self._pieces.pop(collection_id, None)
            d = self._dir(collection_id)
            for sub in ("dense", "bm25", "pieces"):
                (d / sub / "meta.json").unlink(missing_ok=True)
        self.indexes(collection_id)

    def forget(self, collection_id: int) -> None:
        import shutil

        with self._lock:
            self._cache.pop(collection_id, None)
            self._means.pop(collection_id, None)
            self._pieces.pop(collection_id, None)
            shutil.rmtree(self._dir(collection_id), ignore_errors=True)

    def _build_dense(self, collection_id: int, rev: int) -> FaissIndex:
        ids, vecs = self.store.load_vectors(collection_id, self.embedder.dim)
        log.info("building dense index for collection %s (%d vectors)", collection_id, len(ids))
        return FaissIndex.build(ids, vecs, revision=rev, ann_threshold=self.ann_threshold)

    def _build_keyword(self, collection_id: int, rev: int) -> BM25Index:
        pairs = list(self.store.iter_chunk_texts(collection_id))
        ids = np.asarray([p[0] for p in pairs], dtype=np.int64)
        return BM25Index.build(ids, [p[1] for p in pairs], revision=rev)

    def check_query(self, query: str) -> str:
        q = (query or "").strip()
        if not q:
            raise InputError("The query is empty; pass some words to search for.")
        if len(q) > self.max_query_chars:
            raise InputError(
                f"The query is {len(q)} characters, over the {self.max_query_chars} limit; shorten it "
                "(or raise DEEPWELL_MAX_QUERY_CHARS)."
            )
        return q

    def search(
        self,
        query: str,
        collection: str,
        *,
        mode: str = "hybrid",
        k: int = 10,
        rerank: bool = False,
        filters: dict[str, Any] | None = None,
        fusion: str | None = None,
        dense_weight: float | None = None,
    ) -> list[SearchHit]:
        q = self.check_query(query)
        if mode not in MODES:
            raise InputError(f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}.")
        if not 1 <= k <= 1000:
            raise InputError(f"k must be between 1 and 1000, not {k}.")
        fusion = fusion or self.fusion
        if fusion not in FUSIONS:
            raise InputError(f"Unknown fusion {fusion!r}; use one of {', '.join(FUSIONS)}.")
        cid = self.store.collection_id(collection)
        dense_idx, kw_idx = self.indexes(cid)
        allowed = None
        if filters:
            allowed = np.fromiter(self.store.chunk_ids_matching(cid, filters), dtype=np.int64)
        depth = max(k, 100) if mode == "hybrid" or rerank else k
        empty = Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        dense = kw = empty
        if mode in ("hybrid", "dense"):
            qv = self.embedder.encode([q])[0]
            pieces = self._pieces.get(cid)
            if pieces is not None and pieces.revision == dense_idx.revision:
                dense = pieces.search(qv, depth, allowed, self.piece_weight)
            else:
                dense = dense_idx.search(qv, depth, allowed)
            if self.doc_weight > 0:
                dense = self.document_means(cid).blend(qv, dense, self.doc_weight)
        if mode in ("hybrid", "keyword"):
            kw = kw_idx.search(q, depth, allowed)
        per_stage: dict[int, dict[str, float]] = {}
        for name, r in (("dense", dense), ("keyword", kw)):
            for c, s in zip(r.ids.tolist(), r.scores.tolist(), strict=True):
                per_stage.setdefault(c, {})[name] = float(s)
        if mode == "hybrid":
            default_w = self.dense_weight if fusion != "rrf" else 0.5
            fused = FUSIONS[fusion](dense, kw, default_w if dense_weight is None else dense_weight)
            for c, s in fused.items():
                per_stage[c]["fusion"] = s
            order = sorted(fused, key=fused.__getitem__, reverse=True)
            final = dict(fused)
        else:
            r = dense if mode == "dense" else kw
            order = r.ids.tolist()
            final = {c: float(s) for c, s in zip(r.ids.tolist(), r.scores.tolist(), strict=True)}
        if rerank and order:
            order, final = self._rerank(q, order, per_stage, top=self.rerank_depth)
        order = order[:k]
        details = self.store.chunk_details(order)
        hits = []
        for c in order:
            d = details.get(c)
            if d is None:  # deleted between index and lookup
                continue
            ch = d["chunk"]
            hits.append(
                SearchHit(
                    chunk_id=c,
                    document_id=ch.document_id,
                    uri=d["uri"],
                    title=d["title"],
                    text=ch.text,
                    ordinal=ch.ordinal,
                    char_start=ch.char_start,
                    char_end=ch.char_end,
                    headings=ch.headings,
                    score=float(final[c]),
                    scores=per_stage.get(c, {}),
                    metadata=d["metadata"],
                )
            )
        return hits

    def _rerank(
        self, q: str, order: list[int], per_stage: dict[int, dict[str, float]], top: int
    ) -> tuple[list[int], dict[int, float]]:
        assert self.reranker is not None
        head, tail = order[:top], order[top:]
        texts = self.store.chunk_details(head)
        head = [c for c in head if c in texts]
        scores = self.reranker.score(q, [texts[c]["chunk"].text for c in head])
        final: dict[int, float] = {}
        for c, s in zip(head, scores.tolist(), strict=True):
            per_stage.setdefault(c, {})["rerank"] = float(s)
            final[c] = float(s)
        head.sort(key=final.__getitem__, reverse=True)
        floor = min(final.values(), default=0.0)
        for i, c in enumerate(tail):
            final[c] = floor - 1.0 - i
        return head + tail, final
