"""Where should Deepwell switch from exact FAISS search to HNSW? Measured, not guessed.

    python -m bench.ann [--sizes 10000,50000,100000,200000] [--json]

For clustered, L2-normalised 384-d vectors (MiniLM's shape), prints per size the latency of one exact
``IndexFlatIP`` query and one ``IndexHNSWFlat`` query (M=32, efConstruction=80, efSearch=128, as Deepwell
builds it), HNSW recall@100 against exact, and HNSW build time. Deepwell's default ``ann_threshold`` is the
size where exact search starts to cost more than encoding the query (~10 ms on 2 cores) while HNSW
recall is still high.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def measure(n: int, d: int = 384, queries: int = 50, seed: int = 0) -> dict[str, float]:
    import faiss

    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, d)).astype(np.float32)
    base += rng.standard_normal((64, d)).astype(np.float32)[rng.integers(0, 64, n)] * 2
    faiss.normalize_L2(base)
    q = base[rng.integers(0, n, queries)] + 0.05 * rng.standard_normal((queries, d)).astype(np.float32)
    faiss.normalize_L2(q)
    flat = faiss.IndexFlatIP(d)
    flat.add(base)
    t = time.perf_counter()
    for i in range(queries):
        flat.search(q[i : i + 1], 100)
    t_flat = (time.perf_counter() - t) / queries
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 80
    hnsw.add(base)
    t_build = time.perf_counter() - t
    hnsw.hnsw.efSearch = 128
    t = time.perf_counter()
    found = [hnsw.search(q[i : i + 1], 100)[1][0] for i in range(queries)]
    t_hnsw = (time.perf_counter() - t) / queries
    _, exact = flat.search(q, 100)
    recall = float(np.mean([len(set(f) & set(e)) / 100 for f, e in zip(found, exact, strict=True)]))
    return {
        "n": n,
        "flat_ms": t_flat * 1e3,
        "hnsw_ms": t_hnsw * 1e3,
        "recall@100": recall,
        "build_s": t_build,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,50000,100000,200000")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        rows.append(measure(n))
        print(f"measured n={n}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'vectors':>9} {'exact ms':>9} {'hnsw ms':>8} {'speed-up':>9} {'recall@100':>11} {'build s':>8}")
    for r in rows:
        print(
            f"{r['n']:>9} {r['flat_ms']:>9.2f} {r['hnsw_ms']:>8.2f} {r['flat_ms'] / r['hnsw_ms']:>8.1f}x"
            f" {r['recall@100']:>11.3f} {r['build_s']:>8.1f}"
        )


if __name__ == "__main__":
    main()
