"""Ranking metrics at the document level, as BEIR and trec_eval compute them.

Deepwell returns chunks, but relevance is judged per document, so a run is first collapsed to documents:
a document's score is the best score of any of its chunks (``doc_ranking``). Gains are linear in the
graded relevance (trec_eval's ``ndcg_cut``), which for binary judgments is the textbook nDCG.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["Qrels", "doc_ranking", "mean", "ndcg_at_k", "percentile", "recall_at_k"]

Qrels = Mapping[str, int]  # doc_id -> graded relevance (> 0 means relevant)


def doc_ranking(chunk_hits: Iterable[tuple[str, float]]) -> list[str]:
    """Documents ordered by their best chunk's score; ties keep the order the engine returned them in."""
    best: dict[str, tuple[float, int]] = {}
    for pos, (doc, score) in enumerate(chunk_hits):
        if doc not in best or score > best[doc][0]:
            best[doc] = (score, best[doc][1] if doc in best else pos)
    return sorted(best, key=lambda d: (-best[d][0], best[d][1]))


def ndcg_at_k(ranked: Sequence[str], qrels: Qrels, k: int = 10) -> float:
    """DCG of the top k over the DCG of the ideal ordering of the judged documents; 0 if none is relevant."""
    dcg = sum(qrels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    gains = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    return dcg / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], qrels: Qrels, k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {d for d, g in qrels.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, never an interpolation."""
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]
