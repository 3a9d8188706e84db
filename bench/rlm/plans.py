"""How well questions become plans, and plans answers, on the real suite's DEVELOPMENT domains.

``python -m bench.rlm.plans`` generates the dev tasks (Debian changelogs, CPython stdlib), fills a plan for
each with every planner (the interrogative frame with worked examples as fallback, the worked examples
alone, the root model under the plan's JSON schema) and reports how often the plan's operation fits the
task's kind; then it answers each task once with the default planner and the real default model,
in-process, and reports accuracy, coverage and answered-precision per kind. Held-out domains are refused:
they are measured once, by ``python -m bench.rlm --suite real``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.rlm.real import SPLIT, generate, materialize

FITS = {
    "lookup": {"locate", "enclosing"},
    "count": {"count"},
    "argmax": {"argmax", "argmin"},
    "extract": {"extract"},
}


def _plan_ops(question: str, tree: Any, model_name: str) -> dict[str, str]:
    from deepwell.rlm._plan import choose_op, fill_plan

    framed, _ = fill_plan(question, tree, model_name)
    alone, _ = choose_op(question, model_name)
    return {"frame+exemplars": framed.op, "exemplars": alone}


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from deepwell.core.settings import Settings
    from deepwell.reasoning import load_llm
    from deepwell.rlm import RLM, RLMConfig
    from deepwell.rlm._store import RunStore

    settings = Settings(data_dir=Path(args.data_dir))
    store = RunStore(settings)
    llm = load_llm(settings)
    root = Path(tempfile.mkdtemp(prefix="plans-"))
    rows: list[dict[str, Any]] = []
    for domain in args.domains.split(","):
        if SPLIT.get(domain) != "dev":
            sys.exit(f"{domain} is not a development domain; held-out domains are measured by bench.rlm only")
        for size in [int(s.rstrip("kK")) * 1024 for s in args.sizes.split(",")]:
            for task in generate(domain, size, args.per_kind, args.seed):
                ctx_arg: Any = materialize(task, root) or task.context
                t = time.perf_counter()
                session = RLM(ctx_arg, llm=llm, dw=store, config=RLMConfig(max_seconds=args.timeout))
                ops = _plan_ops(task.question, session.ctx.tree, settings.embedding_model)
                if args.model_planner:
                    ops["model"] = await _model_op(session, llm, task.question)
                r = await session.ask(task.question, mode="actions")
                row = {
                    "id": task.id,
                    "kind": task.kind,
                    "question": task.question,
                    "gold": task.answer,
                    "answer": r.answer[:120],
                    "status": r.status,
                    "right": task.score(r.answer) if r.status == "answered" else 0.0,
                    "seconds": round(time.perf_counter() - t, 2),
                    "ops": ops,
                }
                rows.append(row)
                if not args.json:
                    mark = "ok " if row["right"] else ("-- " if r.status != "answered" else "XX ")
                    print(
                        mark,
                        row["id"],
                        ops,
                        "|",
                        task.question,
                        "|",
                        task.answer,
                        "|",
                        r.status,
                        r.answer[:80],
                        file=sys.stderr,
                    )
    return _summary(rows)


async def _model_op(session: Any, llm: Any, question: str) -> str:
    """The op the root model fills in under the plan's JSON schema (its own run, not recorded)."""
    from deepwell.rlm._plan import _MODEL_EXAMPLES, _MODEL_SCHEMA, OPS, _asking

    shots = "\n".join(f"Question: {q}\nPlan: {json.dumps(p)}" for q, p in _MODEL_EXAMPLES)
    try:
        c = await llm.complete(
            [
                {"role": "system", "content": "Turn the question into a plan. ops: " + ", ".join(OPS) + "."},
                {"role": "user", "content": f"{shots}\nQuestion: {_asking(question)}\nPlan:"},
            ],
            json_schema=_MODEL_SCHEMA,
            max_tokens=80,
            temperature=0.0,
        )
        return str(json.loads(c.text).get("op"))
    except Exception as exc:  # a garbled plan counts as a miss
        return f"error: {type(exc).__name__}"


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)
    out: dict[str, Any] = {"tasks": len(rows), "kinds": {}}
    planners = sorted({p for r in rows for p in r["ops"]})
    for kind, rs in sorted(by_kind.items()):
        answered = [r for r in rs if r["status"] == "answered"]
        out["kinds"][kind] = {
            "n": len(rs),
            "plan_fit": {p: sum(r["ops"].get(p) in FITS[kind] for r in rs) / len(rs) for p in planners},
            "accuracy": sum(r["right"] for r in rs) / len(rs),
            "coverage": len(answered) / len(rs),
            "answered_precision": (sum(r["right"] for r in answered) / len(answered)) if answered else None,
            "p50_seconds": sorted(r["seconds"] for r in rs)[len(rs) // 2],
        }
    answered = [r for r in rows if r["status"] == "answered"]
    out["answered_precision"] = (sum(r["right"] for r in answered) / len(answered)) if answered else None
    out["rows"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--domains", default="debian,stdlib")
    ap.add_argument("--sizes", default="32k")
    ap.add_argument("--per-kind", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--model-planner", action="store_true", help="also fill plans with the root model")
    ap.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "deepwell-plans"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    summary = asyncio.run(_run(args))
    if args.json:
        print(json.dumps(summary, indent=1, default=str))
        return
    print(f"{'kind':8} {'n':>3} {'plan fit':>28} {'acc':>5} {'cov':>5} {'prec':>5} {'p50 s':>6}")
    for kind, k in summary["kinds"].items():
        fit = " ".join(f"{p[:5]}={v:.2f}" for p, v in k["plan_fit"].items())
        prec = "-" if k["answered_precision"] is None else f"{k['answered_precision']:.2f}"
        acc, cov = k["accuracy"], k["coverage"]
        print(f"{kind:8} {k['n']:>3} {fit:>28} {acc:.2f} {cov:.2f} {prec:>5} {k['p50_seconds']:6.1f}")
    print("answered-precision overall:", summary["answered_precision"])


if __name__ == "__main__":
    main()
