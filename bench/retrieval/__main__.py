"""Retrieval benchmark: quality per search mode, and speed against raw sentence-transformers + faiss + bm25s.

    python -m bench.retrieval [--quick] [--json] [--queries N] [--distractors N] [--sources DIR]

Data: the Python 3.11 FAQ evaluation (``bench/retrieval/dataset.py``; ``apt-get install python3.11-doc``).
Quality: nDCG@10 and recall@100 per mode, over documents (a document scores its best chunk), from searches
100 chunks deep. Speed, in the same run on the same chunks and queries: ingest throughput (chunks/s) against
raw ``SentenceTransformer.encode`` of the chunks Deepwell stored, and per-mode query latency p50/p95 against
the raw peer (``bench/retrieval/peers.py``) doing the same search, the two interleaved query by query so
load from other processes hits both alike. Ratios are Deepwell / peer: below 1 means Deepwell is slower for
throughput, and faster for latency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.retrieval.dataset import SOURCES, Dataset, load_python_faq
from bench.retrieval.metrics import doc_ranking, mean, ndcg_at_k, percentile, recall_at_k
from bench.retrieval.peers import RawPeer, Timing
from deepwell.core.errors import DeepwellError

DEPTH = 100  # chunks retrieved per query: recall@100 needs them, and latency is measured on these calls
QUICK = {"queries": 12, "distractors": 20}
FULL = {"queries": None, "distractors": 1000}
# The reranked mode costs dozens of encoder passes per query on each side, so its peer (which only
# repeats the same model calls) runs on every Nth query; its latency ratios pair the same queries.
RERANK_PEER_STRIDE = 4

PeerSearch = Callable[[str, int], tuple[list[int], list[float]]]


@dataclass
class Mode:
    name: str
    search: dict[str, Any]  # keyword arguments for Deepwell.search
    peer: PeerSearch
    peer_stride: int = 1
    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    peer_ndcg: list[float] = field(default_factory=list)
    peer_recall: list[float] = field(default_factory=list)
    ours_s: list[float] = field(default_factory=list)
    paired_s: list[float] = field(default_factory=list)  # ours, on the queries the peer ran too
    paired_ndcg: list[float] = field(default_factory=list)
    peer_s: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {
            "ndcg@10": mean(self.ndcg),
            "recall@100": mean(self.recall),
            "peer_ndcg@10": mean(self.peer_ndcg),
            "peer_recall@100": mean(self.peer_recall),
            "peer_queries": len(self.peer_s),
            "ndcg@10_on_peer_queries": mean(self.paired_ndcg),
            "p50_ms": percentile(self.ours_s, 50) * 1e3,
            "p95_ms": percentile(self.ours_s, 95) * 1e3,
            "peer_p50_ms": percentile(self.peer_s, 50) * 1e3,
            "peer_p95_ms": percentile(self.peer_s, 95) * 1e3,
            "p50_ratio": percentile(self.paired_s, 50) / percentile(self.peer_s, 50),
            "p95_ratio": percentile(self.paired_s, 95) / percentile(self.peer_s, 95),
        }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.retrieval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help=f"a small run: {QUICK} (about 2 minutes)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    ap.add_argument("--queries", type=int, default=None, help="number of queries (a seeded sample)")
    ap.add_argument("--distractors", type=int, default=None, help="documentation sections added as noise")
    ap.add_argument("--sources", type=Path, default=SOURCES, help="the Python 3.11 docs' _sources directory")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    if args.queries is not None and args.queries < 1:
        ap.error("--queries must be 1 or more")
    if args.distractors is not None and args.distractors < 0:
        ap.error("--distractors must be 0 or more")
    size = QUICK if args.quick else FULL
    args.queries = args.queries if args.queries is not None else size["queries"]
    args.distractors = args.distractors if args.distractors is not None else size["distractors"]
    return args


def _reranker(dw: Any) -> tuple[str | None, str]:
    """(reranker name or None, a note saying what it is, or why there is none)."""
    try:
        name = dw.reranker.name
    except DeepwellError as exc:
        return None, f"hybrid + rerank is unavailable: {exc}"
    if dw.settings.rerank_model:
        return name, f"cross-encoder {dw.settings.rerank_model}"
    return name, (
        "no cross-encoder ships with weights in a PyPI package, so this is Deepwell's built-in LLM-free "
        "reranker (sentence max-sim with the embedding model); set DEEPWELL_RERANK_MODEL to a local "
        "cross-encoder directory to measure one"
    )


def _modes(settings: Any, peer: RawPeer, reranker: str | None) -> list[Mode]:
    w = settings.dense_weight
    modes = [
        Mode("keyword", {"mode": "keyword"}, peer.keyword),
        Mode("dense", {"mode": "dense"}, peer.dense),
        Mode(
            "hybrid rrf",
            {"mode": "hybrid", "fusion": "rrf", "dense_weight": 0.5},
            lambda q, k: peer.hybrid(q, k, fusion="rrf", dense_weight=0.5),
        ),
        Mode(
            f"hybrid weighted {w:g}",
            {"mode": "hybrid", "fusion": "weighted", "dense_weight": w},
            lambda q, k: peer.hybrid(q, k, fusion="weighted", dense_weight=w),
        ),
    ]
    if reranker is not None:  # on top of the configured default fusion, as `deepwell search --rerank` does
        fusion = settings.fusion
        rw = w if fusion == "weighted" else 0.5
        modes.append(
            Mode(
                f"hybrid {fusion} + rerank ({reranker})",
                {"mode": "hybrid", "fusion": fusion, "dense_weight": rw, "rerank": True},
                lambda q, k: peer.rerank(q, k, fusion=fusion, dense_weight=rw),
                peer_stride=RERANK_PEER_STRIDE,
            )
        )
    return modes


def _search_all(dw: Any, data: Dataset, modes: list[Mode], uri_of: dict[int, str]) -> None:
    for m in modes:  # first calls load lazily (tokenizers, stemmer, reranker): not timed
        dw.search("warm up", "bench", k=DEPTH, **m.search)
        m.peer("warm up", DEPTH)
    log(f"searching: {len(data.queries)} queries x {len(modes)} modes, Deepwell and peer interleaved …")
    t0 = time.perf_counter()
    for i, (qid, query) in enumerate(data.queries.items()):
        if i and i % 10 == 0:
            log(f"  {i}/{len(data.queries)} queries, {time.perf_counter() - t0:.0f} s")
        qrels = data.qrels[qid]
        for m in modes:
            with_peer = i % m.peer_stride == 0
            for ours_first in (True, False) if i % 2 == 0 else (False, True):
                t = time.perf_counter()
                if ours_first:
                    hits = dw.search(query, "bench", k=DEPTH, **m.search)
                    m.ours_s.append(time.perf_counter() - t)
                    ranked = doc_ranking((h.uri, h.score) for h in hits)
                    m.ndcg.append(ndcg_at_k(ranked, qrels, 10))
                    if with_peer:
                        m.paired_s.append(m.ours_s[-1])
                        m.paired_ndcg.append(m.ndcg[-1])
                    m.recall.append(recall_at_k(ranked, qrels, 100))
                elif with_peer:
                    ids, scores = m.peer(query, DEPTH)
                    m.peer_s.append(time.perf_counter() - t)
                    ranked = doc_ranking(zip((uri_of[c] for c in ids), scores, strict=True))
                    m.peer_ndcg.append(ndcg_at_k(ranked, qrels, 10))
                    m.peer_recall.append(recall_at_k(ranked, qrels, 100))


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deepwell.retrieval.embedding import resolve_model_dir

    from deepwell.core.settings import Settings
    from deepwell.sdk import Deepwell

    full = load_python_faq(args.sources, distractors=args.distractors, seed=args.seed)
    data = full.sample(args.queries, args.seed) if args.queries else full
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        # a throwaway SQLite store, whatever DEEPWELL_DATABASE_URL says; other settings come from the env
        settings = Settings(data_dir=Path(tmp), database_url=None)
        with Deepwell(settings) as dw:
            dw.embedder.encode(["warm up"])
            log(f"Deepwell: ingesting {len(data.corpus)} documents …")
            w, c = time.perf_counter(), time.process_time()
            report = dw.ingest_texts(data.corpus, "bench")
            ours = Timing(time.perf_counter() - w, time.process_time() - c)
            pairs = list(dw.store.iter_chunk_texts(dw.store.collection_id("bench")))
            chunk_ids, chunk_texts = [p[0] for p in pairs], [p[1] for p in pairs]
            uri_of = {c: d["uri"] for c, d in dw.store.chunk_details(chunk_ids).items()}

            reranker, rerank_note = _reranker(dw)
            if reranker is None:
                log(rerank_note)
            cross = resolve_model_dir(settings.rerank_model) if reranker and settings.rerank_model else None
            log(f"peer: raw SentenceTransformer.encode of the same {len(chunk_texts)} chunks …")
            model_dir = resolve_model_dir(settings.embedding_model)
            peer = RawPeer(model_dir, chunk_ids, chunk_texts, cross_encoder_dir=cross)
            peer.model.encode(["warm up"])
            theirs = peer.encode_corpus()

            modes = _modes(settings, peer, reranker)
            _search_all(dw, data, modes, uri_of)
    return {
        "dataset": {
            "name": data.name,
            "documents": len(data.corpus),
            "relevant_documents": sum(len(r) for r in data.qrels.values()),
            "distractors": sum(meta["kind"] == "docs" for _, _, meta in data.corpus),
            "chunks": len(chunk_texts),
            "queries": len(data.queries),
            "seed": args.seed,
        },
        "config": {
            "embedding_model": settings.embedding_model,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap": settings.chunk_overlap,
            "depth": DEPTH,
            "rerank": rerank_note,
            "cpus": os.cpu_count(),
            "load_average_1m": os.getloadavg()[0],
        },
        "modes": {m.name: m.summary() for m in modes},
        "ingest": {
            "chunks": report.chunks,
            "deepwell_chunks_per_s": report.chunks / ours.wall_s,
            "peer_encode_chunks_per_s": len(chunk_texts) / theirs.wall_s,
            "throughput_ratio": (report.chunks / ours.wall_s) / (len(chunk_texts) / theirs.wall_s),
            "deepwell_cpu_s": ours.cpu_s,
            "peer_cpu_s": theirs.cpu_s,
            "cpu_throughput_ratio": (report.chunks / ours.cpu_s) / (len(chunk_texts) / theirs.cpu_s),
        },
        "seconds": time.perf_counter() - started,
    }


def render(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=None if sys.stdout.isatty() else 150)
    d, cfg, ing = result["dataset"], result["config"], result["ingest"]
    con.print(
        f"[bold]{d['name']}[/]: {d['queries']} queries, {d['documents']} documents "
        f"({d['relevant_documents']} judged relevant, {d['distractors']} distractor sections), "
        f"{d['chunks']} chunks of ≤{cfg['chunk_tokens']} tokens; model {cfg['embedding_model']}"
    )
    t = Table(title=f"Quality and latency per mode (searches {cfg['depth']} chunks deep)")
    t.add_column("mode")
    for col in ("nDCG@10", "recall@100", "peer nDCG@10", "p50 ms", "peer p50", "ratio", "p95 ms", "peer p95"):
        t.add_column(col, justify="right")
    t.add_column("ratio", justify="right")
    best = max(m["ndcg@10"] for m in result["modes"].values())
    partial = []
    for name, m in result["modes"].items():
        nd = f"{m['ndcg@10']:.3f}"
        star = "" if m["peer_queries"] == d["queries"] else "*"
        if star:
            partial.append(
                f"{name}: {m['peer_queries']} queries, where Deepwell's nDCG@10 is "
                f"{m['ndcg@10_on_peer_queries']:.3f}"
            )
        t.add_row(
            name,
            f"[bold]{nd}[/]" if m["ndcg@10"] == best else nd,
            f"{m['recall@100']:.3f}",
            f"{m['peer_ndcg@10']:.3f}{star}",
            f"{m['p50_ms']:.1f}",
            f"{m['peer_p50_ms']:.1f}{star}",
            f"{m['p50_ratio']:.2f}x",
            f"{m['p95_ms']:.1f}",
            f"{m['peer_p95_ms']:.1f}{star}",
            f"{m['p95_ratio']:.2f}x",
        )
    con.print(t)
    it = Table(title="Ingest throughput (Deepwell: chunk + embed + store + index; peer: encode only)")
    for col in ("chunks", "Deepwell chunks/s", "peer chunks/s", "ratio (wall)", "ratio (CPU time)"):
        it.add_column(col, justify="right")
    it.add_row(
        str(ing["chunks"]),
        f"{ing['deepwell_chunks_per_s']:.1f}",
        f"{ing['peer_encode_chunks_per_s']:.1f}",
        f"{ing['throughput_ratio']:.2f}x",
        f"{ing['cpu_throughput_ratio']:.2f}x",
    )
    con.print(it)
    con.print(f"Rerank: {cfg['rerank']}.")
    if partial:
        con.print(
            f"*: that peer ran on every {RERANK_PEER_STRIDE}th query only ({'; '.join(partial)}); "
            "the latency ratios pair the same queries."
        )
    con.print(
        "Peer: raw SentenceTransformer + faiss.IndexFlatIP + bm25s on the same chunks. Ratios are "
        f"Deepwell/peer. {cfg['cpus']} CPUs, load average {cfg['load_average_1m']:.1f} at the end; "
        f"{result['seconds']:.0f} s in all."
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        result = run(args)
    except DeepwellError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        render(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
