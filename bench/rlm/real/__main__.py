"""Print the real-document tasks as JSON lines (question, gold answers, kind, domain, split, context size),
for looking at them or developing against them without running a contender. The tasks are the ones
``python -m bench.rlm --suite real`` asks with the same sizes, per-kind and seed.

    python -m bench.rlm.real [--sizes 32k,128k] [--per-kind 2] [--seed 0] [--split dev|heldout|all]

Only the development split is printed unless asked: held-out questions are for reporting, not tuning.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.rlm.real._tasks import DOMAINS, SPLIT, build_real_suite
from bench.rlm.tasks import parse_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="32k", help="context sizes in SmolLM2 tokens, e.g. 32k,128k")
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="dev", choices=["dev", "heldout", "all"])
    args = ap.parse_args()
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",")]
    except ValueError as exc:
        ap.error(str(exc))
    domains = [d for d in DOMAINS if args.split in ("all", SPLIT[d])]
    from bench.rlm.corpus import SmolLM2Tokenizer  # the same sizing as python -m bench.rlm

    counter = SmolLM2Tokenizer()
    tasks, missing = build_real_suite(sizes, args.per_kind, seed=args.seed, domains=domains, counter=counter)
    for domain, reason in missing.items():
        print(f"domain {domain} skipped: {reason}", file=sys.stderr)
    for t in tasks:
        row = {
            "id": t.id, "domain": t.domain, "split": t.split, "kind": t.kind, "qtype": t.qtype,
            "question": t.question, "answers": list(t.answers), "answer_type": t.answer_type,
            "tokens": t.tokens, "files": len(t.documents) or None, "meta": t.meta,
        }  # fmt: skip
        print(json.dumps(row, default=str))


if __name__ == "__main__":
    main()
