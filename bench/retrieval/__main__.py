"""Retrieval benchmark: quality per mode, and speed against raw sentence-transformers + faiss + bm25s.

    python -m bench.retrieval [--quick] [--json] [--distractors N]

Quality: nDCG@10 and recall@100 on the Python-FAQ evaluation (see ``bench/retrieval/dataset.py``).
Speed, measured in the same run on the same chunks and queries: ingest throughput (chunks/s) against raw
``SentenceTransformer.encode``, and query latency p50/p95 against raw faiss (exact) + bm25s (+ RRF).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.retrieval.dataset import load_python_faq
from bench.retrieval.metrics import dedupe, ndcg_at_k, percentile, recall_at_k

MODES: list[tuple[str, dict[str, Any]]] = [
    ("keyword", {"mode": "keyword"}),
    ("dense", {"mode": "dense"}),
    ("hybrid (rrf)", {"mode": "hybrid", "fusion": "rrf"}),
    ("hybrid (weighted 0.7)", {"mode": "hybrid", "fusion": "weighted", "dense_weight": 0.7}),
    ("hybrid (rrf) + rerank", {"mode": "hybrid", "fusion": "rrf", "rerank": True}),
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="300 distractors and 60 queries (~2 minutes)")
    ap.add_argument("--distractors", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n_distract = args.distractors if args.distractors is not None else (300 if args.quick else 2000)
    data = load_python_faq(distractors=n_distract)
    queries = data.queries[:60] if args.quick else data.queries

    from deepwell.sdk import Deepwell
    from deepwell.settings import Settings
    from retrieval.embedding import resolve_model_dir

    with tempfile.TemporaryDirectory() as tmp:
        dw = Deepwell(Settings(data_dir=Path(tmp)))
        dw.embedder.encode(["warm up"])
        log(f"ingesting {len(data.corpus)} documents …")
        t0 = time.perf_counter()
        report = dw.ingest_texts(data.corpus, "bench")
        ingest_s = time.perf_counter() - t0
        cid = dw.store.collection_id("bench")
        pairs = list(dw.store.iter_chunk_texts(cid))
        chunk_ids, chunk_texts = [p[0] for p in pairs], [p[1] for p in pairs]
        uri_of = {c: d["uri"] for c, d in dw.store.chunk_details(chunk_ids).items()}

        from bench.retrieval.peers import RawPeer

        log(f"peer: raw SentenceTransformer.encode on the same {len(chunk_texts)} chunks …")
        peer = RawPeer(resolve_model_dir(dw.settings.embedding_model), chunk_ids, chunk_texts)
        peer_encode_s = peer.encode_corpus()

        quality: dict[str, dict[str, float]] = {}
        latency: dict[str, list[float]] = {}
        for name, kw in MODES:
            log(f"quality: {name}")
            nd, rc, lat = [], [], []
            for qid, q in queries:
                t = time.perf_counter()
                hits = dw.search(q, "bench", k=100, **kw)
                lat.append(time.perf_counter() - t)
                ranked = dedupe(h.uri for h in hits)
                nd.append(ndcg_at_k(ranked, data.qrels[qid], 10))
                rc.append(recall_at_k(ranked, data.qrels[qid], 100))
            quality[name] = {"ndcg@10": sum(nd) / len(nd), "recall@100": sum(rc) / len(rc)}
            latency[name] = lat

        log("latency: Deepwell k=10 vs raw peer, same queries")
        speed: dict[str, dict[str, float]] = {}
        for name, kw, peer_fn in (
            ("keyword", {"mode": "keyword"}, peer.keyword),
            ("dense", {"mode": "dense"}, peer.dense),
            ("hybrid (rrf)", {"mode": "hybrid"}, peer.hybrid),
        ):
            ours, theirs = [], []
            for _, q in queries:
                t = time.perf_counter()
                dw.search(q, "bench", k=10, **kw)
                ours.append(time.perf_counter() - t)
                t = time.perf_counter()
                peer_fn(q, 10)
                theirs.append(time.perf_counter() - t)
            speed[name] = {
                "p50_ms": percentile(ours, 50) * 1e3,
                "p95_ms": percentile(ours, 95) * 1e3,
                "peer_p50_ms": percentile(theirs, 50) * 1e3,
                "peer_p95_ms": percentile(theirs, 95) * 1e3,
            }
        peer_quality = {}
        for name, fn in (("keyword", peer.keyword), ("dense", peer.dense), ("hybrid (rrf)", peer.hybrid)):
            nd = [ndcg_at_k(dedupe(uri_of[c] for c in fn(q, 100)), data.qrels[qid], 10) for qid, q in queries]
            peer_quality[name] = sum(nd) / len(nd)
        dw.close()

    result = {
        "dataset": {
            "name": "python3.11-doc FAQ (questions -> answers) + doc-section distractors",
            "documents": len(data.corpus),
            "chunks": len(chunk_texts),
            "queries": len(queries),
        },
        "quality": quality,
        "peer_ndcg@10": peer_quality,
        "ingest": {
            "deepwell_chunks_per_s": report.chunks / ingest_s,
            "raw_encode_chunks_per_s": len(chunk_texts) / peer_encode_s,
            "time_ratio": ingest_s / peer_encode_s,
        },
        "latency": speed,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    d = result["dataset"]
    print(f"Data: {d['name']}: {d['documents']} documents, {d['chunks']} chunks, {d['queries']} queries\n")
    print(f"{'mode':<24} {'nDCG@10':>8} {'recall@100':>11} {'p50 ms':>8} {'p95 ms':>8}")
    for name, q in quality.items():
        lat = latency[name]
        print(
            f"{name:<24} {q['ndcg@10']:>8.3f} {q['recall@100']:>11.3f}"
            f" {percentile(lat, 50) * 1e3:>8.1f} {percentile(lat, 95) * 1e3:>8.1f}"
        )
    ing = result["ingest"]
    print(
        f"\nIngest: Deepwell {ing['deepwell_chunks_per_s']:.1f} chunks/s (chunk+embed+store+index) vs raw "
        f"encode {ing['raw_encode_chunks_per_s']:.1f} chunks/s → time ratio {ing['time_ratio']:.2f}x"
    )
    head = ("latency k=10", "p50 ms", "peer p50", "ratio", "p95 ms", "peer p95", "ratio")
    print("\n{:<16} {:>8} {:>9} {:>6} {:>8} {:>9} {:>6}".format(*head))
    for name, s in speed.items():
        print(
            f"{name:<16} {s['p50_ms']:>8.1f} {s['peer_p50_ms']:>9.1f} {s['p50_ms'] / s['peer_p50_ms']:>5.2f}x"
            f" {s['p95_ms']:>8.1f} {s['peer_p95_ms']:>9.1f} {s['p95_ms'] / s['peer_p95_ms']:>5.2f}x"
        )
    print(
        "\nPeer nDCG@10 (same chunks, raw libraries): "
        + ", ".join(f"{k} {v:.3f}" for k, v in peer_quality.items())
    )


if __name__ == "__main__":
    main()
