"""bench.retrieval's metrics against values worked out by hand (gain / log2(rank + 1))."""

from __future__ import annotations

import math

import pytest

from bench.retrieval.metrics import doc_ranking, mean, ndcg_at_k, percentile, recall_at_k


@pytest.mark.parametrize(
    ("ranked", "qrels", "k", "expected"),
    [
        (["a", "b", "c"], {"a": 1}, 10, 1.0),
        # the one relevant document at rank 2: 1/log2(3)
        (["a", "b", "c"], {"b": 1}, 10, 0.6309297535714575),
        # relevant at ranks 1 and 3: (1 + 1/2) / (1 + 1/log2(3))
        (["a", "b", "c"], {"a": 1, "c": 1}, 10, 0.9197207891481876),
        # graded, the less relevant first: (1 + 2/log2(3)) / (2 + 1/log2(3))
        (["a", "b"], {"a": 1, "b": 2}, 10, 0.8597186998521972),
        # a relevant document that was never retrieved still counts in the ideal: 1 / (1 + 1/log2(3))
        (["a", "x"], {"a": 1, "z": 1}, 10, 0.6131471927654584),
        # past the cut-off
        ([f"x{i}" for i in range(10)] + ["a"], {"a": 1}, 10, 0.0),
        (["a", "b"], {"b": 1}, 1, 0.0),
        (["a"], {}, 10, 0.0),
        ([], {"a": 1}, 10, 0.0),
        # judged non-relevant (grade 0) is the same as unjudged
        (["a", "b"], {"a": 0, "b": 1}, 10, 0.6309297535714575),
    ],
)
def test_ndcg_at_k(ranked: list[str], qrels: dict[str, int], k: int, expected: float) -> None:
    assert ndcg_at_k(ranked, qrels, k) == pytest.approx(expected, abs=1e-12)


def test_ndcg_ideal_is_cut_at_k() -> None:
    # 3 relevant, k=2, both top slots relevant: the ideal DCG@2 is 1 + 1/log2(3) too, so nDCG is 1
    assert ndcg_at_k(["a", "b", "x"], {"a": 1, "b": 1, "c": 1}, 2) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("ranked", "qrels", "k", "expected"),
    [
        (["a", "x", "c"], {"a": 1, "b": 1, "c": 1, "d": 1}, 100, 0.5),
        (["a", "x", "c"], {"a": 1, "b": 1, "c": 1, "d": 1}, 1, 0.25),
        (["x", "y"], {"a": 1}, 100, 0.0),
        (["a"], {"a": 0}, 100, 0.0),
        (["a"], {}, 100, 0.0),
    ],
)
def test_recall_at_k(ranked: list[str], qrels: dict[str, int], k: int, expected: float) -> None:
    assert recall_at_k(ranked, qrels, k) == expected


def test_doc_ranking_scores_a_document_by_its_best_chunk() -> None:
    hits = [("d1", 0.5), ("d2", 0.9), ("d1", 0.95), ("d3", 0.9), ("d2", 0.1)]
    # d1's best chunk (0.95) lifts it to the top; d2 and d3 tie at 0.9 and keep their first-seen order
    assert doc_ranking(hits) == ["d1", "d2", "d3"]


def test_doc_ranking_keeps_engine_order_on_ties_and_handles_empty() -> None:
    assert doc_ranking([("b", 1.0), ("a", 1.0), ("b", 1.0)]) == ["b", "a"]
    assert doc_ranking([]) == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10 .. 1, unsorted on purpose
    assert percentile(values, 50) == 5.0
    assert percentile(values, 95) == 10.0
    assert percentile(values, 90) == 9.0
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 10.0
    assert math.isnan(percentile([], 50))


def test_mean() -> None:
    assert mean([1.0, 2.0, 6.0]) == 3.0
    assert math.isnan(mean([]))
