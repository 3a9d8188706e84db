"""Measure SmolLM2's sampling defaults: loops and correct facts per repeat penalty, guard off.

``python -m bench.answers.sampling`` — the numbers behind ``reasoning/_sampling.py``.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from deepwell.reasoning import find_loop, resolve_model_path
from deepwell.reasoning._llama_cpp import LlamaCppLLM

HANDBOOK = (Path(__file__).resolve().parents[2] / "deepwell" / "samples" / "handbook.md").read_text()

# (prompt, a word the answer must contain); the RAG prompts put the handbook in front
PROMPTS: list[tuple[str, str, bool]] = [
    ("What is the capital of France?", "paris", False),
    ("What is the capital of Italy?", "rome", False),
    ("How many legs does a spider have?", "eight", False),
    ("How often must API keys be rotated?", "90", True),
    ("How many days of paid leave do employees accrue per month?", "2.5", True),
    ("Up to how many euros per day are meals reimbursed when travelling?", "60", True),
    ("Within how many days must receipts be uploaded?", "30", True),
    ("Where is a lost laptop reported?", "security", True),
]


async def main() -> None:
    llm = LlamaCppLLM(resolve_model_path("smollm2-135m"), n_ctx=2048)
    base = llm.sampling
    print("temperature repeat_penalty  loops  correct  (of", len(PROMPTS), ")")
    for temp, rp in [(0.0, 1.0), (0.0, 1.1), (0.0, 1.2), (0.0, 1.3), (0.2, 1.1)]:
        llm.sampling = replace(base, temperature=temp, repeat_penalty=rp, loop_guard=False)
        loops = correct = 0
        for q, want, rag in PROMPTS:
            content = f"Sources:\n{HANDBOOK}\n\nQuestion: {q}\nAnswer briefly." if rag else q
            c = await llm.complete([{"role": "user", "content": content}], max_tokens=96, seed=1)
            loops += find_loop(c.text) is not None
            correct += want in c.text.lower()
            print(f"  {rp} {q[:40]!r}: {c.text[:90]!r}", file=sys.stderr)
        print(f"{temp:11} {rp:14} {loops:6} {correct:8}")


if __name__ == "__main__":
    asyncio.run(main())
