"""Long-context QA: base model vs plain RAG vs Deepwell's RLM (code, actions) vs the official ``rlms``.

    python -m bench.rlm [--suite all|real|synthetic] [--quick] [--sizes 32k,128k,400k,1m] [--per-kind N]
                        [--only base,rag,...] [--domains debian,stdlib,policy,pynews] [--json]
    python -m bench.rlm --table-from report.json

``--suite real`` (see ``bench/rlm/real``): questions over real documents on this machine — Debian
changelogs, CPython's standard library, the Debian Policy Manual and Python's NEWS/HISTORY (the
development split) and Node.js's markdown changelogs (held out: report them, never tune on them) — of
four kinds (lookup, count, argmax, extract), ground truth from independent parsers. A reply whose
status is not ``answered`` (Deepwell's ``not_found``, ``uncertain``, ``budget_exhausted:*``) scores 0 in
every suite; ``--json`` keeps its ``raw_score``. Prints a markdown table per contender and kind with dev
and held-out accuracy, coverage (share answered) and answered-precision, and p50 seconds per task.
``--suite all`` adds the synthetic suite below as one more row.

Tasks (see ``bench/rlm/tasks.py``) follow the RLM paper: S-NIAH needles, OOLONG-style aggregation over
labelled records, and multi-document structure questions, cut from the Python 3.11 docs (Debian
``python3.11-doc``) and sized in SmolLM2 tokens. Every contender uses the same SmolLM2-135M GGUF on the
same cores, one after another. Prints accuracy (mean score, %) and mean wall time per task for every
context size and contender, then the same per task kind, and each contender against the peer
(``rlms``) measured in this run. ``--quick``: 8K and 32K, 2 tasks per kind, 30 s cap per RLM task.
A contender that cannot run is listed as ``unavailable: <reason>``; a task that fails or passes its
cap scores 0 and its reason is kept in ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.rlm.contenders import BaseModel, DeepwellRLM, PlainRAG, Unavailable, _Model
from bench.rlm.corpus import CORPORA, SmolLM2Tokenizer, load_corpus
from bench.rlm.peer_rlms import OfficialRLM
from bench.rlm.real import DOMAINS, build_real_suite, markdown_table, materialize, summarise
from bench.rlm.tasks import KINDS, Task, build_suite, parse_size, score
from deepwell.core.errors import DeepwellError

PEER = "rlms"
ALL = ("base", "rag", "dw-code", "dw-actions", PEER)


def _label(size: int) -> str:
    return f"{size >> 20}M" if size >= 1 << 20 and size % (1 << 20) == 0 else f"{size >> 10}K"


def _contenders(names: list[str], settings: Any, counter: Any, args: argparse.Namespace) -> list[Any]:
    from deepwell.reasoning import resolve_model_path

    model = _Model(settings)
    factories = {
        "base": lambda: BaseModel(model, counter),
        "rag": lambda: PlainRAG(model, k=args.rag_k),
        "dw-code": lambda: DeepwellRLM("code", args.rlm_timeout, args.data_dir),
        "dw-actions": lambda: DeepwellRLM("actions", args.rlm_timeout, args.data_dir),
        PEER: lambda: OfficialRLM(
            resolve_model_path(settings.llm_model),
            settings.llm_n_ctx,
            settings.llm_threads or os.cpu_count() or 2,
            args.rlm_timeout,
        ),
    }
    return [factories[n]() for n in names]


def _answered(out: Any) -> bool:
    """Status ``answered`` for contenders that report one (Deepwell's RLM), else a non-empty reply."""
    if out.error or not out.answer or not str(out.answer).strip():
        return False
    status = out.info.get("status")
    return status is None or status == "answered"


def _build(args: argparse.Namespace, counter: Any) -> tuple[list[Any], dict[str, Any]]:
    tasks: list[Any] = []
    info: dict[str, Any] = {}
    if args.suite in ("synthetic", "all"):
        t = time.perf_counter()
        corpus = load_corpus(args.corpus)
        sizes = [parse_size(s) for s in args.synthetic_sizes.split(",")]
        synthetic = build_suite(corpus, sizes, args.per_kind, counter, seed=args.seed, formats=args.formats)
        info.update(corpus=corpus.name, synthetic_sizes=sizes)
        print(f"built {len(synthetic)} synthetic tasks from {corpus.name} in {time.perf_counter() - t:.1f}s",
              file=sys.stderr)  # fmt: skip
        tasks += synthetic
    if args.suite in ("real", "all"):
        t = time.perf_counter()
        sizes = [parse_size(s) for s in args.sizes.split(",")]
        real, missing = build_real_suite(
            sizes, args.real_per_kind, seed=args.seed, domains=args.domains.split(","), counter=counter
        )
        for domain, reason in missing.items():
            print(f"real suite: domain {domain} skipped: {reason}", file=sys.stderr)
        for task in real:
            materialize(task, args.data_dir.parent / "rlm-real-contexts")
        info.update(real_sizes=sizes, missing_domains=missing)
        print(f"built {len(real)} real-document tasks in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        tasks += real
    return tasks, info


def run(args: argparse.Namespace) -> dict[str, Any]:
    from deepwell.core.settings import Settings

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings()
    counter = SmolLM2Tokenizer()
    tasks, info = _build(args, counter)
    rows: list[dict[str, Any]] = []
    status: dict[str, str] = {}
    for contender in _contenders(args.only.split(","), settings, counter, args):
        t0 = time.perf_counter()
        try:
            contender.prepare()
        except (Unavailable, DeepwellError) as exc:
            status[contender.name] = f"unavailable: {exc}"
            print(f"{contender.name}: unavailable: {exc}", file=sys.stderr)
            contender.close()
            continue
        try:
            for i, task in enumerate(tasks, 1):
                out = contender.answer(task)
                raw = 0.0
                if not out.error:
                    raw = score(task, out.answer) if isinstance(task, Task) else task.score(out.answer)
                got = raw if _answered(out) else 0.0  # a right guess under `uncertain` is not an answer
                rows.append({**_row(contender.name, task, out, got), "raw_score": raw})
                print(
                    f"[{i}/{len(tasks)}] {contender.name:>10} {task.id:<22} {got:4.2f} {out.seconds:6.1f}s "
                    f"{out.info.get('status', '')} {(out.error or repr(out.answer))[:60]}",
                    file=sys.stderr,
                )
        finally:
            contender.close()
        status[contender.name] = f"ran in {time.perf_counter() - t0:.0f}s"
    return {
        **info,
        "suite": args.suite,
        "model": settings.llm_model,
        "sizes": info.get("synthetic_sizes", []),
        "per_kind": args.per_kind,
        "real_per_kind": args.real_per_kind,
        "seed": args.seed,
        "formats": args.formats,
        "rlm_timeout_s": args.rlm_timeout,
        "status": status,
        "summary": _summary([r for r in rows if r["split"] == "synthetic-dev"]),
        "real_summary": _real_summary(rows),
        "tasks": [_task_info(t) for t in tasks],
        "results": rows,
    }


def _real_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind and split; synthetic tasks are one more kind in the dev split. Recomputed from the rows
    (also for ``--table-from``), with a reply that is not ``answered`` scoring 0."""
    return summarise(
        [
            {
                **r,
                "score": r["score"] if r["answered"] else 0.0,
                **({"split": "dev", "kind": "synthetic"} if r["split"] == "synthetic-dev" else {}),
            }
            for r in rows
        ]
    )


def _row(name: str, task: Any, out: Any, got: float) -> dict[str, Any]:
    synthetic = isinstance(task, Task)
    return {
        "contender": name,
        "task": task.id,
        "kind": task.kind,
        "split": "synthetic-dev" if synthetic else task.split,
        "domain": "synthetic" if synthetic else task.domain,
        "size": task.size,
        "score": got,
        "answered": _answered(out),
        "seconds": round(out.seconds, 3),
        "answer": out.answer,
        "gold": task.answer if synthetic else list(task.answers),
        "error": out.error,
        **out.info,
    }


def _task_info(task: Any) -> dict[str, Any]:
    if not isinstance(task, Task):
        return {
            "id": task.id, "domain": task.domain, "split": task.split, "kind": task.kind, "qtype": task.qtype,
            "tokens": task.tokens, "question": task.question, "answers": list(task.answers),
            "answer_type": task.answer_type, "context_path": task.context_path, "meta": task.meta,
        }  # fmt: skip
    return {
        "id": task.id,
        "tokens": task.tokens,
        "question": task.question,
        "answer": task.answer,
        "meta": {k: v for k, v in task.meta.items() if k != "counts"},
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["contender"], str(r["size"]))].append(r)
        groups[(r["contender"], r["kind"])].append(r)
        groups[(r["contender"], "all")].append(r)
    return {
        f"{c}|{key}": {
            "accuracy": 100 * statistics.fmean(r["score"] for r in rs),
            "seconds": statistics.fmean(r["seconds"] for r in rs),
            "n": len(rs),
            "errors": sum(1 for r in rs if r["error"]),
        }
        for (c, key), rs in groups.items()
    }


def _print(report: dict[str, Any]) -> None:
    if report.get("suite", "synthetic") != "synthetic":
        names = [n for n in ALL if n in report["status"]]
        per_kind = report.get("real_per_kind", report["per_kind"])
        sizes = ",".join(_label(s) for s in report.get("real_sizes") or [])
        print(
            f"RLM benchmark on real documents · suite {report['suite']} · model {report['model']} · "
            f"{per_kind} tasks per kind per domain and size · sizes {sizes} (SmolLM2 tokens) · "
            f"cap {report['rlm_timeout_s']:.0f}s per RLM task\n"
            "dev = Debian changelogs + CPython stdlib + Debian Policy + Python NEWS; "
            "held-out = Node.js changelogs (never tuned on)\n"
            "acc = accuracy, cov = share answered, prec = share of answered that are right (%)\n"
        )
        print(markdown_table(_real_summary(report["results"]), names))
        for n in names:
            if report["status"][n].startswith("unavailable"):
                print(f"\n{n}: {report['status'][n]}")
        for domain, reason in (report.get("missing_domains") or {}).items():
            print(f"\ndomain {domain} skipped: {reason}")
        if report["suite"] == "real":
            return
        print()
    summary = report["summary"]
    names = [n for n in ALL if n in report["status"]]
    keys = [(str(s), _label(s)) for s in report["sizes"]] + [(k, k) for k in KINDS] + [("all", "all")]
    print(
        f"RLM benchmark · corpus {report['corpus']} · model {report['model']} · "
        f"{report['per_kind']} tasks per kind per size · cap {report['rlm_timeout_s']:.0f}s per RLM task"
    )
    print("accuracy % / mean seconds per task (errors, incl. timeouts, score 0)")
    print(f"{'contender':<11}" + "".join(f"{label:>19}" for _, label in keys))
    for n in names:
        if n not in {k.split("|")[0] for k in summary}:
            print(f"{n:<11} {report['status'][n]}")
            continue
        cells = []
        for key, _ in keys:
            s = summary.get(f"{n}|{key}")
            err = f" e{s['errors']}" if s and s["errors"] else ""
            cells.append(f"{s['accuracy']:5.1f} / {s['seconds']:5.1f}s{err}" if s else "-")
        print(f"{n:<11}" + "".join(f"{c:>19}" for c in cells))
    peer = summary.get(f"{PEER}|all")
    others = [n for n in names if n != PEER and f"{n}|all" in summary]
    if peer and others:
        print(f"against the peer ({PEER}, all tasks): accuracy difference in points, time ratio")
        for n in others:
            s = summary[f"{n}|all"]
            if s:
                ratio = s["seconds"] / peer["seconds"] if peer["seconds"] else float("nan")
                print(f"  {n:<11} {s['accuracy'] - peer['accuracy']:+6.1f} pts   {ratio:5.2f}x time")
    elif not peer:
        print(f"peer {PEER}: {report['status'].get(PEER, 'not run')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="all", choices=["all", "real", "synthetic"])
    ap.add_argument(
        "--quick", action="store_true", help="real: 32K, 1 task per kind; synthetic: 8K and 32K; 30 s RLM cap"
    )
    ap.add_argument(
        "--sizes", help="context sizes in tokens (default real 32k,128k,400k,1m; synthetic 8k,32k,128k,1m)"
    )
    ap.add_argument(
        "--per-kind", type=int, help="tasks per kind per size (and per domain for real; default 2)"
    )
    ap.add_argument("--domains", default=",".join(DOMAINS), help="real-suite domains")
    ap.add_argument("--only", default=",".join(ALL), help=f"contenders to run, from {','.join(ALL)}")
    ap.add_argument("--corpus", default="python-docs", choices=sorted(CORPORA))
    ap.add_argument("--rlm-timeout", type=float, help="wall-clock cap per RLM task, seconds (default 60)")
    ap.add_argument(
        "--formats",
        default="varied",
        choices=["varied", "fixed"],
        help="record and document-header layouts: a seeded one per context (varied) or always the same",
    )
    ap.add_argument("--rag-k", type=int, default=3)
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=Path(__file__).resolve().parent.parent / ".cache" / "rlm-data",
        help="where Deepwell's RLM stores its runs (show one: DEEPWELL_DATA_DIR=DIR deepwell rlm show ID)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--table-from", metavar="JSON", help="print the table of a saved --json report and exit")
    args = ap.parse_args()
    if args.table_from:
        with open(args.table_from, encoding="utf-8") as f:
            _print(json.load(f))
        return
    args.synthetic_sizes = args.sizes or ("8k,32k" if args.quick else "8k,32k,128k,1m")
    args.sizes = args.sizes or ("32k" if args.quick else "32k,128k,400k,1m")
    args.real_per_kind = args.per_kind or (1 if args.quick else 2)
    args.per_kind = args.per_kind or 2
    args.rlm_timeout = args.rlm_timeout or (30.0 if args.quick else 60.0)
    unknown = set(args.only.split(",")) - set(ALL)
    if unknown:
        ap.error(f"unknown contender(s) {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
    bad = set(args.domains.split(",")) - set(DOMAINS)
    if bad:
        ap.error(f"unknown domain(s) {', '.join(sorted(bad))}; choose from {', '.join(DOMAINS)}")
    try:
        report = run(args)
    except (DeepwellError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print(report)


if __name__ == "__main__":
    main()
