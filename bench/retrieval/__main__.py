"""Retrieval benchmark: Deepwell's search against raw-library peers on every question set, in one run.

    python -m bench.retrieval [--sets python,unix,lsof,sed,cvs,debian] [--queries N] [--json]

Sets (``bench/retrieval/registry.py``): the Python FAQ over 1000 documentation sections
(``python3.11-doc``), and FAQs that Debian packages ship (``faqs.py``). ``python`` and ``unix`` are the
development sets; ``lsof`` and ``sed`` were held out while the earlier defaults were chosen, and ``cvs``
and ``debian`` were added with issue 15 before anything was measured on them; all four held-out sets are
reported in their own columns. Each query is a real question; its one relevant document is the answer
written without it. Quality: nDCG@10 over documents (a document scores its best chunk), every query.
Speed: mean wall and CPU milliseconds per query over a seeded sample of ``--timed`` queries per method,
each encoded live, warm (models and indexes loaded, one untimed query first), on whatever this machine's
two cores are also running; the load average is printed. (The quality pass reads query vectors from the
cache: encoding 600 queries x 5 dense methods live would take most of an hour on a busy machine and
change no ranking.)

Peers (``peers.py``), all over 180-word windows every 150 words: raw bm25s, raw MiniLM + faiss, and
LlamaIndex's ``QueryFusionRetriever`` over its vector and BM25 retrievers. Deepwell runs its real pipeline:
``ingest_texts`` into a throwaway SQLite store (chunking, embedding, indexes) and ``search``; ``--rerank``
adds hybrid + the optional rerank (every query's candidates split into sentences and embedded: slow).
Chunk and piece vectors for both sides come through an on-disk cache (``bench/.cache``) because MiniLM
manages only ~23 chunks/s here; the cache is switched off before queries are timed, so every query (and
every reranked text) is encoded live.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench.retrieval.cache import CachedEmbedder, EmbeddingCache
from bench.retrieval.dataset import Dataset
from bench.retrieval.metrics import doc_ranking, mean, ndcg_at_k
from bench.retrieval.registry import SETS
from deepwell.core.errors import DeepwellError

PEERS = ("raw bm25s", "raw MiniLM dense", "LlamaIndex fusion")
DEPTH = 100

Search = Callable[[str], list[tuple[str, float]]]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.retrieval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated, from: " + ", ".join(SETS))
    ap.add_argument("--queries", type=int, default=None, help="a seeded sample of N queries per set")
    ap.add_argument(
        "--timed", type=int, default=30, help="queries per set and method timed with live encoding (30)"
    )
    ap.add_argument(
        "--distractors",
        type=int,
        default=None,
        help="documentation sections beside the Python FAQ's answers (1000); fewer embed faster",
    )
    ap.add_argument("--rerank", action="store_true", help="also score hybrid + the optional rerank (slow)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = ap.parse_args(argv)
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in SETS]
    if unknown:
        ap.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    if args.queries is not None and args.queries < 1:
        ap.error("--queries must be 1 or more")
    if args.timed < 1:
        ap.error("--timed must be 1 or more")
    if args.distractors is not None and args.distractors < 0:
        ap.error("--distractors must be 0 or more")
    return args


def _score(data: Dataset, search: Search, caching: Callable[[bool], None], timed: int) -> dict[str, float]:
    """nDCG@10 over every query (query vectors from the cache), then latency over a seeded sample of
    ``timed`` queries with the cache off, each encoded live, after one untimed warm-up query."""
    caching(True)
    ndcg = [ndcg_at_k(doc_ranking(search(q)), data.qrels[qid], 10) for qid, q in data.queries.items()]
    caching(False)
    search("warm up")
    secs, cpu = [], []
    for query in data.sample(timed, seed=7).queries.values():
        t, c = time.perf_counter(), time.process_time()
        search(query)
        secs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"ndcg@10": mean(ndcg), "ms": 1e3 * mean(secs), "cpu_ms": 1e3 * mean(cpu), "timed": len(secs)}


def _deepwell_methods(dw: Any, rerank: bool) -> dict[str, Search]:
    def run(**kw: Any) -> Search:
        return lambda q: [(h.uri, h.score) for h in dw.search(q, "bench", k=DEPTH, **kw)]

    methods = {
        "Deepwell keyword": run(mode="keyword"),
        "Deepwell dense": run(mode="dense"),
        "Deepwell hybrid (default)": run(mode="hybrid"),
    }
    if rerank:  # every query's candidates are split into sentences and embedded: slow on a busy machine
        methods["Deepwell hybrid + rerank"] = run(mode="hybrid", rerank=True)
    return methods


def run_set(
    key: str, queries: int | None, timed: int, cache: EmbeddingCache, rerank: bool = False
) -> dict[str, Any]:
    from bench.retrieval.peers import WindowPeers
    from deepwell.core.settings import Settings
    from deepwell.retrieval.embedding import resolve_model_dir
    from deepwell.sdk import Deepwell

    data = SETS[key].load()
    if queries:
        data = data.sample(queries)
    out: dict[str, Any] = {
        "name": data.name,
        "held_out": SETS[key].held_out,
        "queries": len(data.queries),
        "documents": len(data.corpus),
        "methods": {},
    }
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=None)
        with Deepwell(settings) as dw:
            real = dw.embedder
            cached = CachedEmbedder(real, cache)
            dw.__dict__["embedder"] = cached  # the cached_property's slot: ingest reads through the cache
            log(f"[{key}] Deepwell ingest of {len(data.corpus)} documents …")
            dw.ingest_texts(data.corpus, "bench")
            model_dir = resolve_model_dir(settings.embedding_model)
            log(f"[{key}] peers over 180-word windows …")
            peers = WindowPeers(
                model_dir, data.corpus, lambda t: cache.encode(real.name, t, lambda p: real.encode(p))
            )
            methods: dict[str, Search] = {
                "raw bm25s": peers.keyword,
                "raw MiniLM dense": peers.dense,
                "LlamaIndex fusion": peers.llamaindex,
                **_deepwell_methods(dw, rerank),
            }
            texts = list(data.queries.values())
            qvec = dict(zip(texts, cached.encode(texts), strict=True))

            def caching(on: bool) -> None:
                cached.enabled = on
                peers.query_vectors = qvec.__getitem__ if on else None

            for name, search in methods.items():
                log(f"[{key}] {name}: {len(data.queries)} queries …")
                out["methods"][name] = _score(data, search, caching, timed)
            out["config"] = {
                "chunk_tokens": settings.chunk_tokens,
                "chunk_overlap": settings.chunk_overlap,
                "fusion": settings.fusion,
                "dense_weight": settings.dense_weight,
                "dense_doc_weight": settings.dense_doc_weight,
                "pieces": f"{dw.retriever.piece_tokens}/{dw.retriever.piece_overlap} "
                f"at {dw.retriever.piece_weight}",
                "rerank": f"{dw.reranker.name} over the top {dw.retriever.rerank_depth}",
            }
    best_peer = max(out["methods"][p]["ndcg@10"] for p in PEERS)
    m = out["methods"]
    out["margin_over_best_peer"] = m["Deepwell hybrid (default)"]["ndcg@10"] - best_peer
    if rerank:
        out["rerank_gain"] = (
            m["Deepwell hybrid + rerank"]["ndcg@10"] - m["Deepwell hybrid (default)"]["ndcg@10"]
        )
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.retrieval import registry

    if args.distractors is not None:
        registry.PYTHON_DISTRACTORS = args.distractors
    cache = EmbeddingCache()
    started = time.perf_counter()
    sets = {key: run_set(key, args.queries, args.timed, cache, args.rerank) for key in args.sets}
    return {
        "sets": sets,
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "python_distractors": registry.PYTHON_DISTRACTORS,
        "seconds": time.perf_counter() - started,
    }


def render(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=None if sys.stdout.isatty() else 200)
    sets = result["sets"]
    order = [k for k in sets if not sets[k]["held_out"]] + [k for k in sets if sets[k]["held_out"]]
    t = Table(
        title="nDCG@10, then wall / CPU ms per query, per set (peers over 180-word windows)",
    )
    t.add_column("method")
    for k in order:
        s = sets[k]
        label = f"{k}{' (HELD-OUT)' if s['held_out'] else ''}\n{s['queries']} q / {s['documents']} docs"
        t.add_column(label, justify="right")
    methods = list(next(iter(sets.values()))["methods"]) if sets else []
    for m in methods:
        cells = []
        for k in order:
            r = sets[k]["methods"][m]
            best = max(v["ndcg@10"] for v in sets[k]["methods"].values())
            nd = f"{r['ndcg@10']:.3f}"
            nd = f"[bold]{nd}[/]" if r["ndcg@10"] == best else nd
            cells.append(f"{nd}  {r['ms']:.0f} / {r['cpu_ms']:.0f} ms")
        t.add_row(m, *cells)
    t.add_row("hybrid − best peer", *(f"{sets[k]['margin_over_best_peer']:+.3f}" for k in order))
    if sets and all("rerank_gain" in s for s in sets.values()):
        t.add_row("rerank − hybrid", *(f"{sets[k]['rerank_gain']:+.3f}" for k in order))
    con.print(t)
    if sets:
        cfg = next(iter(sets.values()))["config"]
        con.print(f"Deepwell defaults: {cfg}.")
    con.print(
        f"{result['cpus']} CPUs, load average {result['load_average_1m']:.1f} at the end (shared machine: "
        f"ms/query include that contention); {result['seconds']:.0f} s in all; the Python FAQ set had "
        f"{result.get('python_distractors', 1000)} documentation sections as distractors."
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
