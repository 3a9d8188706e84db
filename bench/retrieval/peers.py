"""The peer: raw sentence-transformers + faiss + bm25s doing the same work as Deepwell, no framework."""

from __future__ import annotations

import numpy as np

__all__ = ["RawPeer"]


class RawPeer:
    def __init__(self, model_dir: str, ids: list[int], texts: list[str]) -> None:
        import bm25s
        import faiss
        import Stemmer
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.texts = texts
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25s = bm25s
        self.vectors: np.ndarray | None = None
        self.faiss = faiss
        self.index = None
        self.bm25 = bm25s.BM25()
        self.bm25.index(
            bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, show_progress=False),
            show_progress=False,
        )

    def encode_corpus(self, batch_size: int = 32) -> float:
        """Encode every chunk; returns seconds."""
        import time

        t = time.perf_counter()
        self.vectors = np.asarray(
            self.model.encode(self.texts, batch_size=batch_size, normalize_embeddings=True), dtype=np.float32
        )
        seconds = time.perf_counter() - t
        self.index = self.faiss.IndexFlatIP(self.vectors.shape[1])
        self.index.add(self.vectors)
        return seconds

    def dense(self, query: str, k: int) -> list[int]:
        q = np.asarray(self.model.encode([query], normalize_embeddings=True), dtype=np.float32)
        _, idx = self.index.search(q, k)  # type: ignore[union-attr]
        return [int(self.ids[i]) for i in idx[0] if i >= 0]

    def keyword(self, query: str, k: int) -> list[int]:
        toks = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False)
        if not toks.ids[0]:
            return []
        docs, scores = self.bm25.retrieve(toks, k=min(k, len(self.ids)), show_progress=False, n_threads=1)
        return [int(self.ids[d]) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def hybrid(self, query: str, k: int, depth: int = 100) -> list[int]:
        fused: dict[int, float] = {}
        for ranked in (self.dense(query, depth), self.keyword(query, depth)):
            for r, c in enumerate(ranked):
                fused[c] = fused.get(c, 0.0) + 1 / (61 + r)
        return sorted(fused, key=fused.__getitem__, reverse=True)[:k]
