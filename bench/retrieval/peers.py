"""The peer: raw sentence-transformers + faiss + bm25s doing the same work as Deepwell, with no framework.

It indexes the very chunk texts Deepwell stored and answers the same queries the way a hand-written script
would: encode the query and search ``faiss.IndexFlatIP``; tokenize (stopwords, Snowball stemmer) and
``bm25s.retrieve``; for hybrid, both lists 100 deep merged in a dict (RRF, or min-max weighted); for rerank,
the same re-scoring of the top 20 done directly on the model. Whatever Deepwell spends beyond this (the
database lookups for citations, query checks, per-stage scores) is its overhead.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np

__all__ = ["PEER_DEPTH", "RawPeer", "Timing"]

PEER_DEPTH = 100  # how deep each list goes before fusion, as in Deepwell's hybrid search
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Timing:
    wall_s: float
    cpu_s: float  # this process's CPU time over all threads: steadier than wall time on a shared machine


def _timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, Timing(time.perf_counter() - w, time.process_time() - c)


class RawPeer:
    def __init__(
        self,
        model_dir: str,
        ids: list[int],
        texts: list[str],
        *,
        cross_encoder_dir: str | None = None,
        rrf_k: int = 60,
    ) -> None:
        import bm25s
        import faiss
        import Stemmer
        from sentence_transformers import SentenceTransformer

        self._bm25s = bm25s
        self._faiss = faiss
        self._stemmer = Stemmer.Stemmer("english")
        self.model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.texts = texts
        self.rrf_k = rrf_k
        self.index: faiss.IndexFlatIP | None = None
        self.bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self.bm25.index(tokens, show_progress=False)
        self._pos = {int(c): i for i, c in enumerate(ids)}
        self._cross_encoder = None
        if cross_encoder_dir:
            from sentence_transformers import CrossEncoder

            self._cross_encoder = CrossEncoder(cross_encoder_dir, device="cpu", local_files_only=True)

    # ingest ------------------------------------------------------------------------------------
    def encode_corpus(self, batch_size: int = 32) -> Timing:
        """Encode every chunk (the part of ingestion the peer is measured on) and build the flat index."""
        vecs, timing = _timed(self.model.encode, self.texts, batch_size=batch_size, normalize_embeddings=True)
        vectors = np.ascontiguousarray(vecs, dtype=np.float32)
        self.index = self._faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(vectors)
        return timing

    # search: each returns (chunk ids, scores), best first ---------------------------------------
    def dense(self, query: str, k: int) -> tuple[list[int], list[float]]:
        assert self.index is not None, "call encode_corpus() first"
        q = np.asarray(self.model.encode([query], normalize_embeddings=True), dtype=np.float32)
        scores, idx = self.index.search(q, min(k, len(self.ids)))
        keep = idx[0] >= 0
        return self.ids[idx[0][keep]].tolist(), scores[0][keep].tolist()

    def keyword(self, query: str, k: int) -> tuple[list[int], list[float]]:
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False)
        if not tokens.ids[0]:
            return [], []
        docs, scores = self.bm25.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False, n_threads=1)
        keep = scores[0] > 0
        return self.ids[docs[0][keep]].tolist(), scores[0][keep].tolist()

    def hybrid(
        self, query: str, k: int, *, fusion: str = "rrf", dense_weight: float = 0.5
    ) -> tuple[list[int], list[float]]:
        d_ids, d_sc = self.dense(query, max(k, PEER_DEPTH))
        k_ids, k_sc = self.keyword(query, max(k, PEER_DEPTH))
        fused: dict[int, float] = {}
        for ids, scores, w in ((d_ids, d_sc, dense_weight), (k_ids, k_sc, 1 - dense_weight)):
            if fusion == "rrf":
                for r, c in enumerate(ids):
                    fused[c] = fused.get(c, 0.0) + 2 * w / (self.rrf_k + r + 1)
            elif scores:
                lo, hi = min(scores), max(scores)
                for c, s in zip(ids, scores, strict=True):
                    fused[c] = fused.get(c, 0.0) + w * (s - lo) / ((hi - lo) or 1.0)
        order = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
        return order, [fused[c] for c in order]

    def rerank(
        self, query: str, k: int, *, top: int = 20, **hybrid_kw: object
    ) -> tuple[list[int], list[float]]:
        """Hybrid, then re-score the top ``top`` chunks as Deepwell's reranker does: with the cross-encoder
        when one is configured, else max-sim over sentences with the embedding model."""
        ids, _ = self.hybrid(query, max(k, PEER_DEPTH), **hybrid_kw)  # type: ignore[arg-type]
        head = ids[:top]
        texts = [self.texts[self._pos[c]] for c in head]
        new = self._cross(query, texts) if self._cross_encoder is not None else self._maxsim(query, texts)
        order = sorted(range(len(head)), key=lambda i: -new[i])
        out_ids = [head[i] for i in order] + ids[top:]
        floor = float(min(new, default=0.0))
        out_scores = [float(new[i]) for i in order] + [floor - 1 - i for i in range(len(ids) - len(head))]
        return out_ids[:k], out_scores[:k]

    def _maxsim(self, query: str, texts: list[str], chunk_weight: float = 0.5) -> np.ndarray:
        sents, owner = [], []
        for i, t in enumerate(texts):
            parts = [p.strip() for p in _SENT.split(t) if len(p.strip()) > 20] or [t]
            sents += parts
            owner += [i] * len(parts)
        v = self.model.encode([query, *texts, *sents], batch_size=64, normalize_embeddings=True)
        q, chunks, sv = v[0], v[1 : 1 + len(texts)], v[1 + len(texts) :]
        best = np.full(len(texts), -1.0, dtype=np.float32)
        np.maximum.at(best, np.asarray(owner), sv @ q)
        return chunk_weight * (chunks @ q) + (1 - chunk_weight) * best

    def _cross(self, query: str, texts: list[str]) -> np.ndarray:
        assert self._cross_encoder is not None
        pairs = [(query, t) for t in texts]
        return np.asarray(self._cross_encoder.predict(pairs, batch_size=32), dtype=np.float32)
