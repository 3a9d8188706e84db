"""Per-kind, per-split figures for the real-document suite: accuracy, coverage (share with status
``answered``), answered-precision (share of ``answered`` that are right) and p50 seconds per task."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

__all__ = ["ROW_KINDS", "markdown_table", "summarise"]

ROW_KINDS = ("lookup", "count", "argmax", "extract", "synthetic")


def _cell(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if r["answered"]]
    right = [r for r in rows if r["score"] >= 1.0]
    return {
        "n": len(rows),
        "accuracy": statistics.fmean(r["score"] for r in rows),
        "coverage": len(answered) / len(rows),
        "answered_precision": (
            sum(r["score"] >= 1.0 for r in answered) / len(answered) if answered else None
        ),
        "right": len(right),
        "p50_seconds": statistics.median(r["seconds"] for r in rows),
        "errors": sum(1 for r in rows if r.get("error")),
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{"contender|kind|split": cell}`` with kind ``all`` (the real kinds, not synthetic) and split
    ``all`` as totals; synthetic rows are their own kind in the dev split."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        c, k, s = r["contender"], r["kind"], r["split"]
        for kind in (k, "all") if k != "synthetic" else (k,):
            for split in (s, "all"):
                groups[f"{c}|{kind}|{split}"].append(r)
    return {key: _cell(rs) for key, rs in groups.items()}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}"


def markdown_table(summary: dict[str, dict[str, Any]], contenders: list[str]) -> str:
    """One row per contender and kind: dev and held-out accuracy / coverage / answered-precision (%),
    the number of tasks, and p50 seconds per task over both splits."""
    head = (
        "| contender | kind | dev acc | dev cov | dev prec | held-out acc | held-out cov | held-out prec "
        "| n dev/held-out | p50 s |"
    )
    lines = [head, "|" + "---|" * 10]
    for c in contenders:
        for kind in (*ROW_KINDS, "all"):
            both = summary.get(f"{c}|{kind}|all")
            if not both:
                continue
            dev, held = summary.get(f"{c}|{kind}|dev"), summary.get(f"{c}|{kind}|heldout")
            cells = []
            for s in (dev, held):
                cells += (
                    [_pct(s["accuracy"]), _pct(s["coverage"]), _pct(s["answered_precision"])]
                    if s
                    else ["-"] * 3
                )
            n = f"{dev['n'] if dev else 0}/{held['n'] if held else 0}"
            label = "**all real**" if kind == "all" else kind
            lines.append(f"| {c} | {label} | " + " | ".join(cells) + f" | {n} | {both['p50_seconds']:.1f} |")
    return "\n".join(lines)
