"""Which way of answering gives right answers: one run, the same retrieval in front of every method.

    python -m bench.answers            # all questions (dev + held-out halves)
    python -m bench.answers --quick    # 3 + 3 questions, ~5 minutes on 2 idle cores
    python -m bench.answers --json     # machine-readable

Questions are "In which Python version was M.X added?" with the answer read by code from the Python
docs' ``versionadded`` directives (``bench/answers/dataset.py``). Every method gets the same top-k hits
from Deepwell's hybrid search over the docs' passages. Scored by exact match (the answer names the right
version and no other) and token F1; a "not found" scores 0. The peer is raw llama-cpp-python with its
own defaults on the same prompt.
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

from bench.answers.dataset import Question, load
from deepwell import Deepwell
from deepwell.agents import MoAConfig, Proposer, answer_messages, ask, number_sources
from deepwell.core import Settings
from deepwell.reasoning import resolve_model_path

err = Console(stderr=True)
_VERSION = re.compile(r"\b\d+\.\d+\b")
_TOKEN = re.compile(r"\d+\.\d+|\w+")


def exact(answer: str, reference: str) -> float:
    return float(set(_VERSION.findall(answer)) == {reference})


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


async def run(per_split: int | None, k: int, samples: int) -> dict[str, Any]:
    passages, questions = load(per_split=per_split)
    data_dir = tempfile.mkdtemp(prefix="deepwell-bench-answers-")
    dw = Deepwell(Settings(data_dir=data_dir))
    err.print(f"ingesting {len(passages)} passages")
    dw.ingest_texts([(p.uri, p.text, None) for p in passages], collection="pydocs")
    hits = {q.id: dw.search(q.question, "pydocs", k=k) for q in questions}
    recall = sum(any(h.uri == q.uri for h in hits[q.id]) for q in questions) / len(questions)
    llm = dw.llm
    gemma = dw._extra_llm("gemma3-270m")

    from llama_cpp import Llama

    raw = Llama(model_path=str(resolve_model_path("smollm2-135m")), verbose=False, n_threads=1)

    async def raw_answer(q: Question) -> tuple[str, int]:
        msgs = answer_messages(q.question, number_sources(hits[q.id]))
        out = await asyncio.to_thread(raw.create_chat_completion, messages=msgs, max_tokens=32)
        return out["choices"][0]["message"]["content"], out["usage"]["total_tokens"]

    cfg = MoAConfig(max_tokens=32)  # the answers are a version number; longer drafts only ramble
    methods: dict[str, dict[str, Any]] = {
        "single": {"method": "single"},
        f"best-of-{samples} (vote)": {"method": "vote", "samples": samples},
        f"self-moa ({samples})": {"method": "self-moa", "samples": samples},
        f"self-moa ({samples}, consensus)": {
            "method": "self-moa",
            "samples": samples,
            "config": MoAConfig(max_tokens=32, aggregate="consensus"),
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
    scores: dict[str, dict[str, Score]] = {}
    rows: list[dict[str, Any]] = []
    with Progress(console=err) as bar:
        task = bar.add_task("answering", total=len(questions) * (len(methods) + 1))
        for q in questions:
            for name in ["raw llama-cpp-python", *methods]:
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
                        max_tokens=32,
                        **{"config": cfg, **methods[name]},
                    )
                    answer, tokens, status = r.answer, r.prompt_tokens + r.completion_tokens, r.status
                    steps = dw.store.runs.get(r.run_id or "").steps
                    drafts = [str(st.data.get("answer", "")) for st in steps if st.kind == "proposal"]
                    scores.setdefault(name, {}).setdefault(q.split, Score()).oracle.append(
                        max((exact(d, q.answer) for d in drafts), default=0.0)
                    )
                s = scores.setdefault(name, {}).setdefault(q.split, Score())
                s.em.append(exact(answer, q.answer) if status == "answered" else 0.0)
                s.f1.append(token_f1(answer, q.answer) if status == "answered" else 0.0)
                s.not_found += status != "answered"
                s.tokens += tokens
                s.seconds += time.perf_counter() - t0
                rows.append({"q": q.id, "split": q.split, "method": name, "ref": q.answer, "answer": answer})
                bar.advance(task)
                if not err.is_terminal:
                    err.print(f"{q.split} {q.id} {name}: ref {q.answer} <- {answer[:60]!r}", highlight=False)
    dw.close()
    table = []
    for name, by_split in scores.items():
        row: dict[str, Any] = {"method": name}
        for split in ("dev", "heldout"):
            s = by_split.get(split, Score())
            n = max(1, len(s.em))
            row[split] = {
                "em": round(sum(s.em) / n, 3),
                "f1": round(sum(s.f1) / n, 3),
                "best_proposal_em": round(sum(s.oracle) / n, 3) if s.oracle else None,
                "not_found": s.not_found,
                "tokens_per_q": round(s.tokens / n),
                "seconds_per_q": round(s.seconds / n, 2),
            }
        table.append(row)
    return {
        "questions": len(questions),
        "k": k,
        "retrieval_recall_at_k": round(recall, 3),
        "methods": table,
        "answers": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 dev + 3 held-out questions")
    ap.add_argument("--per-split", type=int, help="questions per half (default: all; --quick: 3)")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--answers", action="store_true", help="print every answer to stderr")
    ap.add_argument("--from-json", help="print the table of a saved --json run instead of running")
    args = ap.parse_args()
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            out = json.load(f)
    else:
        out = asyncio.run(run(3 if args.quick else args.per_split, args.k, args.samples))
    if args.answers:
        for r in out["answers"]:
            err.print(f"{r['split']:7} {r['method'][:24]:24} ref={r['ref']:5} {r['answer'][:110]!r}")
    if args.json:
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    table = Table(
        "method",
        "dev EM",
        "dev F1",
        "held-out EM",
        "held-out F1",
        "best proposal EM",
        "not found",
        "tokens/q",
        "s/q",
        "EM vs raw",
        title=f"{out['questions']} questions, k={out['k']}, recall@k {out['retrieval_recall_at_k']}",
    )
    peer = next(r for r in out["methods"] if r["method"].startswith("raw"))
    for r in out["methods"]:
        d, h = r["dev"], r["heldout"]
        peer_em = peer["dev"]["em"] + peer["heldout"]["em"]
        ratio = f"{(d['em'] + h['em']) / peer_em:.1f}x" if peer_em else "- (raw 0)"
        table.add_row(
            r["method"],
            f"{d['em']:.2f}",
            f"{d['f1']:.2f}",
            f"{h['em']:.2f}",
            f"{h['f1']:.2f}",
            "-"
            if d["best_proposal_em"] is None
            else f"{(d['best_proposal_em'] + h['best_proposal_em']) / 2:.2f}",
            str(d["not_found"] + h["not_found"]),
            str(round((d["tokens_per_q"] + h["tokens_per_q"]) / 2)),
            f"{(d['seconds_per_q'] + h['seconds_per_q']) / 2:.1f}",
            ratio,
        )
    Console().print(table)


if __name__ == "__main__":
    main()
