"""Which way of answering gives right answers: one run, the same retrieval in front of every method.

    python -m bench.answers --per-split 10   # 10 dev + 10 held-out questions of each type
    python -m bench.answers --quick          # 3 + 3 of each type
    python -m bench.answers --set debian     # one question type only
    python -m bench.answers --json           # machine-readable

Two question types, each with its answer computed by code from an offline public source:
"In which Python version was M.X added?" from the Python docs' ``versionadded`` directives
(``bench/answers/dataset.py``), and "Which version of the Debian P package fixed CVE-X?" from the
``changelog.Debian.gz`` files of the installed packages (``bench/answers/debian.py``). Each type has its
own collection; every method gets the same top-k hits from Deepwell's hybrid search. Scored by exact
match (the answer names the right version and no other) and token F1; a "not found" scores 0. The peer
is raw llama-cpp-python with its own defaults on the same prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.answers import dataset, debian
from bench.answers.dataset import Question
from deepwell import Deepwell
from deepwell.agents import MoAConfig, Proposer, answer_messages, ask, number_sources
from deepwell.core import Settings
from deepwell.reasoning import resolve_model_path

err = Console(stderr=True)
_PY_VERSION = re.compile(r"\b\d+\.\d+\b")
_CVE_ID = re.compile(r"CVE-\d{4}-\d+", re.I)
# a Debian version: [epoch:]upstream[-revision], e.g. 1:9.2p1-2+deb12u6 or 2.9.14+dfsg-1.3~deb12u5
_DEB_VERSION = re.compile(r"(?<![\w.+~:-])(?:\d+:)?\d[\w.+~]*(?:-[\w.+~]+)*")
_TOKEN = re.compile(r"\d+\.\d+|\w+")
SETS = {"pydocs": dataset.load, "debian": debian.load}


def versions(answer: str, kind: str = "pydocs") -> set[str]:
    """The version numbers an answer names (CVE ids and [n] markers are not versions)."""
    if kind == "pydocs":
        return set(_PY_VERSION.findall(answer))
    text = _CVE_ID.sub(" ", re.sub(r"\[\d+\]", " ", answer))
    found = {v.rstrip(".,;:") for v in _DEB_VERSION.findall(text)}
    return {v for v in found if any(c in v for c in ".-:+~")}


def exact(answer: str, reference: str, kind: str = "pydocs") -> float:
    """1 when the answer names the reference version and no other."""
    return float(versions(answer, kind) == {reference})


def token_f1(answer: str, reference: str) -> float:
    a, r = _TOKEN.findall(answer.lower()), _TOKEN.findall(reference.lower())
    common = sum((Counter(a) & Counter(r)).values())
    if not common:
        return 0.0
    p, rc = common / len(a), common / len(r)
    return 2 * p * rc / (p + rc)


@dataclass
class Score:
    em: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    oracle: list[float] = field(default_factory=list)  # did any proposal name the right version?
    not_found: int = 0
    tokens: int = 0
    seconds: float = 0.0


def _summary(s: Score) -> dict[str, Any]:
    n = max(1, len(s.em))
    return {
        "n": len(s.em),
        "em": round(sum(s.em) / n, 3),
        "f1": round(sum(s.f1) / n, 3),
        "best_proposal_em": round(sum(s.oracle) / n, 3) if s.oracle else None,
        "not_found": s.not_found,
        "tokens_per_q": round(s.tokens / n),
        "seconds_per_q": round(s.seconds / n, 2),
    }


async def run(
    per_split: int | None, k: int, samples: int, sets: list[str], splits: tuple[str, ...] = ("dev", "heldout")
) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="deepwell-bench-answers-")
    dw = Deepwell(Settings(data_dir=data_dir))
    questions: list[tuple[str, Question]] = []
    hits: dict[str, Any] = {}
    recall: dict[str, float] = {}
    for kind in sets:
        passages, qs = SETS[kind](per_split=per_split)
        qs = [q for q in qs if q.split in splits]
        err.print(f"{kind}: ingesting {len(passages)} passages, {len(qs)} questions")
        dw.ingest_texts([(p.uri, p.text, None) for p in passages], collection=kind)
        for q in qs:
            hits[q.id] = dw.search(q.question, kind, k=k)
            questions.append((kind, q))
        recall[kind] = round(sum(any(h.uri == q.uri for h in hits[q.id]) for q in qs) / max(1, len(qs)), 3)
    llm = dw.llm
    gemma = dw._extra_llm("gemma3-270m")

    from llama_cpp import Llama

    raw = Llama(model_path=str(resolve_model_path("smollm2-135m")), verbose=False, n_threads=1)

    async def raw_answer(q: Question) -> tuple[str, int]:
        msgs = answer_messages(q.question, number_sources(hits[q.id]))
        out = await asyncio.to_thread(raw.create_chat_completion, messages=msgs, max_tokens=48)
        return out["choices"][0]["message"]["content"], out["usage"]["total_tokens"]

    cfg = MoAConfig(max_tokens=48)  # the answers are a version; longer drafts only ramble
    methods: dict[str, dict[str, Any]] = {
        "single": {"method": "single"},
        f"best-of-{samples} (vote)": {"method": "vote", "samples": samples},
        f"self-moa ({samples}, llm aggregator)": {"method": "self-moa", "samples": samples},
        f"self-moa ({samples}, consensus)": {
            "method": "self-moa",
            "samples": samples,
            "config": MoAConfig(max_tokens=48, aggregate="consensus"),
        },
        f"self-moa-seq ({samples + 2}, window 3)": {"method": "self-moa-seq", "samples": samples + 2},
        "moa (smollm2 + gemma3)": {
            "method": "moa",
            "proposers": [
                Proposer(llm, "smollm2-135m", None, seed=1),
                Proposer(gemma, "gemma3-270m", None, seed=2, completion=True),
            ],
        },
    }
    scores: dict[str, dict[tuple[str, str], Score]] = {}
    rows: list[dict[str, Any]] = []
    with Progress(console=err) as bar:
        task = bar.add_task("answering", total=len(questions) * (len(methods) + 1))
        for kind, q in questions:
            for name in ["raw llama-cpp-python", *methods]:
                s = scores.setdefault(name, {}).setdefault((kind, q.split), Score())
                t0 = time.perf_counter()
                if name == "raw llama-cpp-python":
                    answer, tokens = await raw_answer(q)
                    status = "answered"
                else:
                    r = await ask(
                        q.question,
                        lambda _q, _k, q=q: hits[q.id],
                        llm,
                        k=k,
                        runs=dw.store.runs,
                        max_tokens=48,
                        **{"config": cfg, **methods[name]},
                    )
                    answer, tokens, status = r.answer, r.prompt_tokens + r.completion_tokens, r.status
                    steps = dw.store.runs.get(r.run_id or "").steps
                    drafts = [str(st.data.get("answer", "")) for st in steps if st.kind == "proposal"]
                    s.oracle.append(max((exact(d, q.answer, kind) for d in drafts), default=0.0))
                s.seconds += time.perf_counter() - t0
                s.em.append(exact(answer, q.answer, kind) if status == "answered" else 0.0)
                s.f1.append(token_f1(answer, q.answer) if status == "answered" else 0.0)
                s.not_found += status != "answered"
                s.tokens += tokens
                rows.append(
                    {
                        "set": kind,
                        "q": q.id,
                        "split": q.split,
                        "method": name,
                        "ref": q.answer,
                        "answer": answer,
                    }
                )
                bar.advance(task)
                if not err.is_terminal:
                    err.print(f"{q.split} {q.id} {name}: ref {q.answer} <- {answer[:60]!r}", highlight=False)
    dw.close()
    table = []
    for name, parts in scores.items():
        row: dict[str, Any] = {"method": name}
        for split in ("dev", "heldout"):
            merged = Score()
            for kind in sets:
                part = parts.get((kind, split), Score())
                row[f"{kind}/{split}"] = _summary(part)
                merged.em += part.em
                merged.f1 += part.f1
                merged.oracle += part.oracle
                merged.not_found += part.not_found
                merged.tokens += part.tokens
                merged.seconds += part.seconds
            row[split] = _summary(merged)
        table.append(row)
    return {
        "sets": sets,
        "questions": len(questions),
        "k": k,
        "retrieval_recall_at_k": recall,
        "methods": table,
        "answers": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 dev + 3 held-out questions of each type")
    ap.add_argument("--per-split", type=int, help="questions per half and type (default: all; --quick: 3)")
    ap.add_argument("--set", choices=[*SETS, "both"], default="both", help="question type (default: both)")
    ap.add_argument("--split", choices=["dev", "heldout", "both"], default="both", help="develop on dev only")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--answers", action="store_true", help="print every answer to stderr")
    ap.add_argument("--from-json", help="print the table of a saved --json run instead of running")
    args = ap.parse_args()
    if args.per_split is not None and args.per_split < 1:
        ap.error("--per-split must be at least 1")
    if not 1 <= args.k <= 20 or args.samples < 2:
        ap.error("--k must be 1..20 and --samples at least 2")
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            out = json.load(f)
    else:
        sets = list(SETS) if args.set == "both" else [args.set]
        splits = ("dev", "heldout") if args.split == "both" else (args.split,)
        out = asyncio.run(run(3 if args.quick else args.per_split, args.k, args.samples, sets, splits))
    if args.answers:
        for r in out["answers"]:
            err.print(
                f"{r['split']:7} {r['method'][:24]:24} ref={r['ref']:12} {r['answer'][:110]!r}",
                highlight=False,
            )
    if args.json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    Console().print(_table(out))


def _table(out: dict[str, Any]) -> Table:
    sets = out["sets"]
    recall = ", ".join(f"{k} {v}" for k, v in out["retrieval_recall_at_k"].items())
    table = Table(
        "method",
        *[f"{kind} {split} EM" for kind in sets for split in ("dev", "held-out")],
        "all dev EM / F1",
        "all held-out EM / F1",
        "best proposal EM",
        "not found",
        "tokens/q",
        "s/q",
        title=f"{out['questions']} questions, k={out['k']}, recall@k: {recall}",
    )
    for r in out["methods"]:
        d, h = r["dev"], r["heldout"]
        best = (
            "-"
            if d["best_proposal_em"] is None
            else f"{(d['best_proposal_em'] + h['best_proposal_em']) / 2:.2f}"
        )
        table.add_row(
            r["method"],
            *[f"{r[f'{kind}/{split}']['em']:.2f}" for kind in sets for split in ("dev", "heldout")],
            f"{d['em']:.2f} / {d['f1']:.2f}",
            f"{h['em']:.2f} / {h['f1']:.2f}",
            best,
            str(d["not_found"] + h["not_found"]),
            str(round((d["tokens_per_q"] + h["tokens_per_q"]) / 2)),
            f"{(d['seconds_per_q'] + h['seconds_per_q']) / 2:.1f}",
        )
    return table


if __name__ == "__main__":
    main()
