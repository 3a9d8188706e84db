"""Derived search indexes: FAISS for dense vectors, bm25s for keywords.

Both are built from the database, saved as plain files beside it with the collection revision they were
built at, and rebuilt whenever that revision no longer matches (after an ingest, a delete, or a crash).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from deepwell.storage._pgvector import PgVector

__all__ = [
    "BM25Index",
    "DenseIndex",
    "DocumentMeans",
    "FaissIndex",
    "KeywordIndex",
    "PgVectorIndex",
    "PieceIndex",
    "tokenize",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ranked:
    """Parallel arrays of chunk ids and scores, best first."""

    ids: np.ndarray
    scores: np.ndarray


class DenseIndex(Protocol):
    revision: int
    kind: str

    @property
    def size(self) -> int: ...

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Ranked: ...

    def save(self, directory: Path) -> None: ...


class KeywordIndex(Protocol):
    revision: int

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> Ranked: ...

    def save(self, directory: Path) -> None: ...


def _atomic_dir(directory: Path) -> tuple[Path, Path]:
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    return tmp, directory


def _swap(tmp: Path, final: Path) -> None:
    old = final.with_name(final.name + ".old")
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    tmp.rename(final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


class FaissIndex:
    """Exact inner-product search, or HNSW once a collection passes ``ann_threshold`` vectors."""

    def __init__(self, index: Any, revision: int, kind: str) -> None:
        self._index = index
        self.revision = revision
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, *, revision: int, ann_threshold: int) -> FaissIndex:
        import faiss

        dim = vectors.shape[1]
        if len(ids) > ann_threshold:
            inner: Any = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = 80
            inner.hnsw.efSearch = 128
            kind = "hnsw"
        else:
            inner = faiss.IndexFlatIP(dim)
            kind = "flat"
        index = faiss.IndexIDMap2(inner)
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
        return cls(index, revision, kind)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Ranked:
        import faiss

        n = self.size
        if n == 0 or k <= 0:
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
            sel = faiss.IDSelectorBatch(allowed.astype(np.int64))
            # faiss's generated stubs lack the SWIG keyword constructors these take at run time
            params = (
                faiss.SearchParametersHNSW(sel=sel, efSearch=128)  # type: ignore[attr-defined]
                if self.kind == "hnsw"
                else faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
            )
        scores, ids = self._index.search(q, min(k, n), params=params)
        keep = ids[0] >= 0
        return Ranked(ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))

    def save(self, directory: Path) -> None:
        import faiss

        tmp, final = _atomic_dir(directory)
        faiss.write_index(self._index, str(tmp / "index.faiss"))
        (tmp / "meta.json").write_text(json.dumps({"revision": self.revision, "kind": self.kind}))
        _swap(tmp, final)

    @classmethod
    def load(cls, directory: Path) -> FaissIndex | None:
        import faiss

        try:
            meta = json.loads((directory / "meta.json").read_text())
            index = faiss.read_index(str(directory / "index.faiss"))
        except (OSError, ValueError, RuntimeError):
            return None
        return cls(index, int(meta["revision"]), str(meta["kind"]))


class PgVectorIndex:
    """Dense search run by PostgreSQL + pgvector; nothing on disk, always at the database's revision."""

    kind = "pgvector"

    def __init__(
        self, pgvector: PgVector, collection_id: int, dim: int, revision: int, ann_threshold: int
    ) -> None:
        self._pg = pgvector
        self._cid = collection_id
        self._dim = dim
        self.revision = revision
        self.size = pgvector.count(collection_id)
        if self.size > ann_threshold:
            pgvector.ensure_ann(collection_id, dim)
            self.kind = "pgvector-hnsw"

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Ranked:
        if allowed is not None and len(allowed) == 0:
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        ids, scores = self._pg.search(self._cid, self._dim, query, k, allowed)
        return Ranked(ids, scores)

    def save(self, directory: Path) -> None:
        return None


class DocumentMeans:
    """Each document's mean chunk vector, to blend a chunk's similarity with its whole document's.

    The dot product of a query with the mean of a document's (normalised) chunk vectors is the mean of
    the query's similarities to those chunks, so one extra vector per document gives mean aggregation at
    the cost of a matrix-vector product. Scoring a document by its best chunk alone favours long documents
    (many windows, many chances at one lucky match); blending in the mean measured +0.01 to +0.04 nDCG@10
    where long sections compete with short answers (``python -m bench.retrieval.lab``).
    """

    def __init__(self, chunk_ids: np.ndarray, owner: np.ndarray, means: np.ndarray, revision: int) -> None:
        self.revision = revision
        self._row = {int(c): int(o) for c, o in zip(chunk_ids, owner, strict=True)}
        self.means = means

    @classmethod
    def build(
        cls, chunk_ids: np.ndarray, vectors: np.ndarray, documents: np.ndarray, *, revision: int
    ) -> DocumentMeans:
        """``documents[i]`` is the document of ``chunk_ids[i]``."""
        uniq, owner = np.unique(documents, return_inverse=True)
        sums = np.zeros((len(uniq), vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float64)
        np.add.at(sums, owner, vectors)
        counts = np.bincount(owner, minlength=len(uniq)).reshape(-1, 1)
        return cls(chunk_ids, owner, (sums / np.maximum(counts, 1)).astype(np.float32), revision)

    def blend(self, query: np.ndarray, ranked: Ranked, weight: float) -> Ranked:
        """``(1 - weight) * chunk similarity + weight * mean similarity of its document``, re-sorted."""
        if weight <= 0 or not len(ranked.ids):
            return ranked
        rows = np.fromiter((self._row.get(int(c), -1) for c in ranked.ids), np.int64, len(ranked.ids))
        doc_sim = np.where(rows >= 0, self.means[np.maximum(rows, 0)] @ query, ranked.scores)
        scores = ((1 - weight) * ranked.scores + weight * doc_sim).astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        return Ranked(ranked.ids[order], scores[order])


class PieceIndex:
    """Two granularities in one dense score: each chunk's vector and the vectors of its *pieces* (the
    chunk's text cut again into spans of a few dozen tokens).

    A chunk scores ``(1 - weight) * cos(query, chunk) + weight * max cos(query, piece)``. A 256-token chunk
    vector is the mean of many sentences, so one sentence that answers the query is diluted by its
    neighbours; a piece alone loses the context that disambiguates it. Blending the two measured +0.02 to
    +0.03 nDCG@10 of dense on bench/retrieval's development sets over either alone
    (``python -m bench.retrieval.lab --sweep``). Scoring is exact (two matrix-vector products), so it is
    used up to the collection's ANN threshold; the pieces' vectors are derived data, saved beside the
    other indexes and re-embedded only for chunks that are new since the last build.
    """

    def __init__(
        self,
        chunk_ids: np.ndarray,
        chunk_vecs: np.ndarray,
        starts: np.ndarray,
        piece_vecs: np.ndarray,
        revision: int,
        config: str = "",
    ) -> None:
        self.config = config  # what cut and embedded the pieces: an index built otherwise is not reused
        self.chunk_ids = chunk_ids.astype(np.int64)
        self.chunk_vecs = np.ascontiguousarray(chunk_vecs, dtype=np.float32)
        self.starts = starts.astype(np.int64)  # chunk i's pieces are rows starts[i]:starts[i + 1]
        self.piece_vecs = np.ascontiguousarray(piece_vecs, dtype=np.float32)
        self.revision = revision
        self._row = {int(c): i for i, c in enumerate(self.chunk_ids)}

    @property
    def size(self) -> int:
        return len(self.chunk_ids)

    def pieces_of(self, chunk_id: int) -> np.ndarray | None:
        i = self._row.get(int(chunk_id))
        if i is None:
            return None
        end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.piece_vecs)
        return self.piece_vecs[self.starts[i] : end]

    @classmethod
    def build(
        cls,
        chunk_ids: np.ndarray,
        chunk_vecs: np.ndarray,
        texts: dict[int, str],
        split: Callable[[str], list[str]],
        encode: Callable[[list[str]], np.ndarray],
        *,
        revision: int,
        previous: PieceIndex | None = None,
        config: str = "",
    ) -> PieceIndex:
        """Pieces of every chunk; a chunk ``previous`` already holds keeps its vectors, a chunk that is one
        piece reuses its own vector, and only the rest are embedded (in one batch)."""
        dim = chunk_vecs.shape[1] if chunk_vecs.ndim == 2 else 0
        parts: list[np.ndarray | list[str]] = []
        todo: list[str] = []
        if previous is not None and previous.config != config:
            previous = None
        for c, v in zip(chunk_ids.tolist(), chunk_vecs, strict=True):
            old = previous.pieces_of(c) if previous is not None else None
            if old is not None:
                parts.append(old)
                continue
            pieces = split(texts.get(c, ""))
            if len(pieces) <= 1:
                parts.append(v.reshape(1, -1))
            else:
                parts.append(pieces)
                todo.extend(pieces)
        fresh = encode(todo) if todo else np.zeros((0, dim), np.float32)
        rows: list[np.ndarray] = []
        at = 0
        for p in parts:
            if isinstance(p, list):
                rows.append(fresh[at : at + len(p)])
                at += len(p)
            else:
                rows.append(p)
        counts = np.asarray([len(r) for r in rows], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(rows) else np.zeros(0, np.int64)
        vecs = np.vstack(rows) if rows else np.zeros((0, dim), np.float32)
        return cls(chunk_ids, chunk_vecs, starts, vecs, revision, config)

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None, weight: float = 0.5
    ) -> Ranked:
        if not self.size or k <= 0:
            return Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = query.astype(np.float32)
        scores = (1 - weight) * (self.chunk_vecs @ q) + weight * np.maximum.reduceat(
            self.piece_vecs @ q, self.starts
        )
        if allowed is not None:
            keep = np.isin(self.chunk_ids, allowed)
            scores = np.where(keep, scores, -np.inf)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        return Ranked(self.chunk_ids[top], scores[top].astype(np.float32))

    def save(self, directory: Path) -> None:
        tmp, final = _atomic_dir(directory)
        np.savez(
            tmp / "pieces.npz",
            chunk_ids=self.chunk_ids,
            chunk_vecs=self.chunk_vecs,
            starts=self.starts,
            piece_vecs=self.piece_vecs,
        )
        meta = {"revision": self.revision, "config": self.config}
        (tmp / "meta.json").write_text(json.dumps(meta))
        _swap(tmp, final)

    @classmethod
    def load(cls, directory: Path) -> PieceIndex | None:
        try:
            meta = json.loads((directory / "meta.json").read_text())
            with np.load(directory / "pieces.npz") as z:
                return cls(
                    z["chunk_ids"],
                    z["chunk_vecs"],
                    z["starts"],
                    z["piece_vecs"],
                    int(meta["revision"]),
                    str(meta.get("config", "")),
                )
        except (OSError, ValueError, KeyError):
            return None


_STEMMER = None


def _bm25s():  # type: ignore[no-untyped-def]
    """Import bm25s, which sets its own logger to DEBUG on import; keep its chatter off stderr."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, English-stopworded, Snowball-stemmed word tokens (the bm25s recipe)."""
    bm25s = _bm25s()
    global _STEMMER
    if _STEMMER is None:
        import Stemmer

        _STEMMER = Stemmer.Stemmer("english")
    tok = bm25s.tokenize(texts, stopwords="en", stemmer=_STEMMER, return_ids=True, show_progress=False)
    inv = {v: k for k, v in tok.vocab.items()}
    return [[inv[i] for i in doc] for doc in tok.ids]


class BM25Index:
    """bm25s over chunk texts; positions map back to chunk ids."""

    def __init__(self, retriever: object | None, ids: np.ndarray, revision: int) -> None:
        self._bm25 = retriever
        self.ids = ids
        self.revision = revision
        self._pos = {int(c): i for i, c in enumerate(ids)}

    @property
    def empty(self) -> bool:
        """No words were indexed (no texts, or only punctuation): every search finds nothing."""
        return self._bm25 is None

    @classmethod
    def build(cls, ids: np.ndarray, texts: list[str], *, revision: int) -> BM25Index:
        bm25s = _bm25s()
        if not len(ids):
            return cls(None, ids, revision)
        tokens = tokenize(texts)
        if not any(tokens):  # punctuation only or undecodable bytes: bm25s cannot index an empty vocabulary
            return cls(None, ids, revision)
        retriever = bm25s.BM25()
        retriever.index(tokens, show_progress=False)
        return cls(retriever, ids, revision)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> Ranked:
        empty = Ranked(np.zeros(0, np.int64), np.zeros(0, np.float32))
        q = tokenize([query])[0]
        if self._bm25 is None or not q or k <= 0:
            return empty
        vocab = self._bm25.vocab_dict  # type: ignore[attr-defined]
        q = [t for t in q if t in vocab]
        if not q:
            return empty
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            pos = [self._pos[int(c)] for c in allowed if int(c) in self._pos]
            if not pos:
                return empty
            mask[pos] = 1.0
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve(  # type: ignore[attr-defined]
            [q], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        docs, scores = docs[0], scores[0]
        keep = scores > 0
        return Ranked(self.ids[docs[keep]].astype(np.int64), scores[keep].astype(np.float32))

    def save(self, directory: Path) -> None:
        tmp, final = _atomic_dir(directory)
        np.save(tmp / "ids.npy", self.ids)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)  # type: ignore[attr-defined]
        (tmp / "meta.json").write_text(json.dumps({"revision": self.revision}))
        _swap(tmp, final)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        bm25s = _bm25s()
        try:
            meta = json.loads((directory / "meta.json").read_text())
            ids = np.load(directory / "ids.npy")
            retriever = None
            if len(ids):
                retriever = bm25s.BM25.load(str(directory / "bm25"), mmap=True, show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, ids, int(meta["revision"]))
