"""Rerankers: re-score the top candidates of a search with a slower, more precise model.

No cross-encoder ships with weights in a PyPI package we could find (issue 15 looked again: the
``flashrank`` 0.2.10, ``local-reranker`` 0.1.1 and ``rag-reranker`` 0.1.1 wheels are 3-15 KB of code that
download their models at run time; no npm or Debian package carries one either), so the default is
LLM-free and uses the embedder already loaded: a chunk's score becomes its best sentence's similarity to
the query blended with the chunk's own. A cross-encoder directory (``DEEPWELL_RERANK_MODEL``) replaces it
when configured.

Measured on the development sets (bench/retrieval, issue 15): since the dense stage already scores each
chunk with its best 48-token piece (``PieceIndex``), re-scoring the fused top 10-20 by sentence similarity
*lowers* nDCG@10 (unix FAQs: 0.816 -> 0.808 at a 0.2 blend, 0.69 when it replaces the fused score), and
so did Rocchio feedback on the query vector (0.816 -> 0.78-0.81). Query-likelihood scoring with the local
135M LLM took seconds per passage on the shared two cores, far past a one-second budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from deepwell.core.errors import ModelError
from deepwell.retrieval.embedding import Embedder, resolve_model_dir

__all__ = ["CrossEncoderReranker", "Reranker", "SentenceMaxSimReranker", "load_reranker"]

_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray: ...


class SentenceMaxSimReranker:
    """Max over sentences of cosine(query, sentence), blended with cosine(query, chunk)."""

    name = "sentence-maxsim"

    def __init__(self, embedder: Embedder, chunk_weight: float = 0.5) -> None:
        self._emb = embedder
        self._w = chunk_weight

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        sents: list[str] = []
        owner: list[int] = []
        for i, t in enumerate(texts):
            parts = [p.strip() for p in _SENT.split(t) if len(p.strip()) > 20] or [t]
            sents.extend(parts)
            owner.extend([i] * len(parts))
        vecs = self._emb.encode([query, *texts, *sents], batch_size=64)
        q, chunks, sv = vecs[0], vecs[1 : 1 + len(texts)], vecs[1 + len(texts) :]
        best = np.full(len(texts), -1.0, dtype=np.float32)
        sims = sv @ q
        for o, s in zip(owner, sims, strict=True):
            best[o] = max(best[o], s)
        return self._w * (chunks @ q) + (1 - self._w) * best


class CrossEncoderReranker:
    def __init__(self, name: str) -> None:
        path = resolve_model_dir(name)
        try:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(path, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"Cannot load cross-encoder {name!r} from {path}: {exc}. Point DEEPWELL_RERANK_MODEL at a "
                "local cross-encoder directory, or unset it to use the built-in sentence reranker."
            ) from exc
        self.name = name

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.predict([(query, t) for t in texts], batch_size=32), dtype=np.float32)


def load_reranker(name: str | None, embedder: Embedder) -> Reranker:
    return CrossEncoderReranker(name) if name else SentenceMaxSimReranker(embedder)
