"""Reasoning-core benchmark: Deepwell's LLM layer against raw ``llama_cpp.Llama`` in the same run.

    python -m bench.llm [--quick] [--json]

1. Overhead: prompt processing and generation tokens/s of ``LlamaCppLLM.complete`` (default settings,
   prefix cache on but emptied before each call) vs raw ``Llama.create_chat_completion`` with the same
   thread counts on the same prompts, interleaved (goal: ≤ 1.05× time).
2. Generation threads: 1 vs all cores on raw llama.cpp, the measurement behind the thread default.
3. Prefix caching: a long shared system prompt with changing questions, with and without the RAM state
   cache, alternating with an unrelated prompt (what an RLM's root and sub-calls do).
4. Prompt-lookup decoding on an extractive task (copying a passage's sentence), on vs off.
5. HTTP overhead: ``OpenAICompatLLM`` against ``python -m llama_cpp.server`` serving the same GGUF.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any

import httpx

PROMPTS = [
    "Explain in three sentences why the sky is blue.",
    "Write a short poem about the sea.",
    "List five fruits and one fact about each.",
    "What is a hash table? Answer briefly.",
]
PASSAGE = (
    "The Harbor Labs handbook says: every API key must be rotated at least every 90 days from the admin "
    "console, and leaked keys are revoked immediately by the on-call engineer. Laptops use full-disk "
    "encryption and a lost laptop is reported to security within one hour. Meals are reimbursed up to 60 "
    "euros per day when travelling, and receipts are uploaded within 30 days."
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


Row = tuple[float, int, int]  # seconds, prompt tokens, completion tokens


@dataclass(frozen=True)
class Setup:
    path: Path
    reps: int
    gen: int
    gen_threads: int
    batch_threads: int


def _timed_raw(llama: Any, messages: list[dict[str, str]], max_tokens: int) -> Row:
    llama.reset()
    t = time.perf_counter()
    out = llama.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0, seed=1)
    return time.perf_counter() - t, out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"]


async def _timed_ours(llm: Any, messages: list[dict[str, str]], max_tokens: int) -> Row:
    llm._llama.reset()
    if llm._llama.cache is not None:  # pay for saving states, never profit from an earlier run's
        llm._llama.cache.cache_state.clear()
    t = time.perf_counter()
    c = await llm.complete(messages, max_tokens=max_tokens, temperature=0.0, seed=1)
    return time.perf_counter() - t, c.usage.prompt_tokens, c.usage.completion_tokens


def _rates(data: list[Row]) -> tuple[float, float]:
    """(prompt tokens/s on the long prompt, generation tokens/s on the short prompts)."""
    short = [d for d in data if d[1] < 200]
    long = [d for d in data if d[1] >= 200]
    gen = sum(d[2] for d in short) / sum(d[0] for d in short)
    pp = sum(d[1] for d in long) / sum(d[0] - d[2] / gen for d in long)
    return pp, gen


async def overhead(s: Setup) -> dict[str, Any]:
    """Deepwell's default core vs raw llama_cpp with the same threads, prompts interleaved."""
    from llama_cpp import Llama

    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    raw = Llama(
        str(s.path),
        n_ctx=4096,
        n_threads=s.gen_threads,
        n_threads_batch=s.batch_threads,
        n_batch=512,
        flash_attn=True,
        verbose=False,
    )
    ours = LlamaCppLLM(s.path, n_ctx=4096)  # the default: prefix RAM cache on
    long_prompt = [{"role": "user", "content": (PASSAGE + "\n") * 8 + "Summarise the handbook."}]
    rows: dict[str, list[Row]] = {"raw": [], "deepwell": []}
    for _ in range(s.reps):
        for p in [*PROMPTS, None]:
            msgs = long_prompt if p is None else [{"role": "user", "content": p}]
            rows["raw"].append(_timed_raw(raw, msgs, s.gen))
            rows["deepwell"].append(await _timed_ours(ours, msgs, s.gen))
    res: dict[str, Any] = {}
    for who, data in rows.items():
        res[f"{who}_seconds"] = sum(d[0] for d in data)
        res[f"prompt_tokens_per_s_{who}"], res[f"gen_tokens_per_s_{who}"] = _rates(data)
    res["overhead_time_ratio"] = res["deepwell_seconds"] / res["raw_seconds"]
    return res


async def threads(s: Setup) -> dict[str, Any]:
    """Generation tokens/s with 1 thread vs all cores on raw llama_cpp: the data behind the default."""
    from llama_cpp import Llama

    counts = sorted({1, max(2, s.batch_threads)})
    models = {n: Llama(str(s.path), n_ctx=1024, n_threads=n, flash_attn=True, verbose=False) for n in counts}
    tput: dict[int, list[float]] = {n: [] for n in counts}
    for _ in range(s.reps + 1):
        for n, llama in models.items():
            d = _timed_raw(llama, [{"role": "user", "content": PROMPTS[0]}], s.gen)
            tput[n].append(d[2] / d[0])
    return {"gen_tokens_per_s_by_threads": {str(n): median(v) for n, v in tput.items()}}


async def prefix_cache(s: Setup) -> dict[str, Any]:
    """A long shared system prompt, evicted by an unrelated prompt between questions."""
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    system = {"role": "system", "content": ("You answer questions about this handbook.\n" + PASSAGE) * 6}
    other = [{"role": "user", "content": "Say hi." + " filler" * 300}]
    questions = ["How often are keys rotated?", "What is the meal limit?", "Who revokes leaked keys?"]
    timings = {}
    for label, cache_mb in (("no_cache", 0), ("ram_cache", 256)):
        llm = LlamaCppLLM(s.path, n_ctx=4096, cache_mb=cache_mb)
        llm._llama.reset()
        await llm.complete([system, {"role": "user", "content": "warm up"}], max_tokens=1)
        t = time.perf_counter()
        for q in questions * s.reps:
            await llm.complete(other, max_tokens=1)  # evicts the shared prefix from the live KV cache
            await llm.complete([system, {"role": "user", "content": q}], max_tokens=16)
        timings[label] = time.perf_counter() - t
    return {
        "prefix_cache_speedup": timings["no_cache"] / timings["ram_cache"],
        "prefix_cache_seconds": timings,
    }


async def prompt_lookup(s: Setup) -> dict[str, Any]:
    """Prompt-lookup speculative decoding on an answer copied from the prompt, on vs off."""
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    extract = [
        {
            "role": "system",
            "content": "Copy the sentence from the passage that answers the question, word for word.",
        },
        {"role": "user", "content": f"Passage: {PASSAGE}\nQuestion: What happens to a lost laptop?"},
    ]
    out: dict[str, tuple[float, str]] = {}
    for label, n in (("off", 0), ("on", 10)):
        llm = LlamaCppLLM(s.path, n_ctx=4096, cache_mb=0, prompt_lookup=n)
        times, text = [], ""
        for _ in range(s.reps + 1):
            llm._llama.reset()
            t = time.perf_counter()
            text = (await llm.complete(extract, max_tokens=60)).text
            times.append(time.perf_counter() - t)
        out[label] = (median(times), text)
    return {
        "prompt_lookup_speedup": out["off"][0] / out["on"][0],
        "prompt_lookup_same_output": out["off"][1] == out["on"][1],
    }


async def http(s: Setup) -> dict[str, Any]:
    """OpenAICompatLLM against llama_cpp.server (same GGUF, threads, flash attention) vs in-process.

    Compared per generated token: the server samples with its own defaults (repeat penalty 1.1), so
    replies can differ in length from the in-process ones.
    """
    from deepwell.reasoning._llama_cpp import LlamaCppLLM
    from deepwell.reasoning._openai import OpenAICompatLLM

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--model", str(s.path), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    args += ["--n_threads", str(s.gen_threads), "--n_threads_batch", str(s.batch_threads)]
    args += ["--model_alias", "m", "--flash_attn", "true"]
    with tempfile.TemporaryFile() as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", *args], stdout=logf, stderr=subprocess.STDOUT
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            remote = OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", model="m")
            local = LlamaCppLLM(s.path, n_ctx=4096, cache_mb=0)
            rows: dict[str, list[Row]] = {"http": [], "inprocess": []}
            for p in PROMPTS * s.reps:
                msgs = [{"role": "user", "content": p + f" (variant {len(rows['http'])})"}]
                t = time.perf_counter()
                c = await remote.complete(msgs, max_tokens=32, seed=1)
                rows["http"].append(
                    (time.perf_counter() - t, c.usage.prompt_tokens, c.usage.completion_tokens)
                )
                rows["inprocess"].append(await _timed_ours(local, msgs, 32))
            await remote.aclose()
        finally:
            proc.terminate()
            proc.wait(10)
    res: dict[str, Any] = {}
    for who, data in rows.items():
        res[f"{who}_seconds"] = sum(d[0] for d in data)
        res[f"{who}_seconds_per_token"] = res[f"{who}_seconds"] / sum(d[2] for d in data)
    res["http_overhead_ratio"] = res["http_seconds_per_token"] / res["inprocess_seconds_per_token"]
    return res


SECTIONS: dict[str, Callable[[Setup], Awaitable[dict[str, Any]]]] = {
    "overhead": overhead,
    "threads": threads,
    "prefix_cache": prefix_cache,
    "prompt_lookup": prompt_lookup,
    "http": http,
}


async def run(quick: bool, only: list[str]) -> dict[str, Any]:
    from deepwell.reasoning import resolve_model_path
    from deepwell.reasoning._llama_cpp import _threads

    path = resolve_model_path("smollm2-135m")
    gen_threads, batch_threads = _threads(path, None)
    setup = Setup(path, 1 if quick else 3, 48 if quick else 96, gen_threads, batch_threads)
    res: dict[str, Any] = {"model": path.name, "threads": [gen_threads, batch_threads]}
    for i, name in enumerate(only, 1):
        log(f"{i}/{len(only)} {name}: {(SECTIONS[name].__doc__ or '').splitlines()[0]}")
        res.update(await SECTIONS[name](setup))
    return res


def report(r: dict[str, Any]) -> None:
    g, b = r["threads"]
    print(f"model: {r['model']} ({g} generation thread(s), {b} prompt-processing threads)\n")
    if "overhead_time_ratio" in r:
        print(f"{'measure':<46} {'raw llama_cpp':>14} {'deepwell':>10} {'ratio':>7}")
        for label, key in (
            ("prompt processing, tokens/s", "prompt_tokens_per_s"),
            ("generation, tokens/s", "gen_tokens_per_s"),
        ):
            raw, ours = r[f"{key}_raw"], r[f"{key}_deepwell"]
            print(f"{label:<46} {raw:>14.0f} {ours:>10.0f} {raw / ours:>6.2f}x")
        print(
            f"{'whole run, seconds (time ratio, goal <= 1.05)':<46} {r['raw_seconds']:>14.2f}"
            f" {r['deepwell_seconds']:>10.2f} {r['overhead_time_ratio']:>6.2f}x\n"
        )
    if "gen_tokens_per_s_by_threads" in r:
        t = r["gen_tokens_per_s_by_threads"]
        most = max(t, key=int)
        print(
            f"generation threads (raw llama_cpp): 1 thread {t['1']:.0f} tok/s vs {most} threads "
            f"{t[most]:.0f} tok/s ({t['1'] / t[most]:.2f}x)"
        )
    if "prefix_cache_speedup" in r:
        sec = r["prefix_cache_seconds"]
        print(
            f"prefix RAM cache on alternating prompts: {r['prefix_cache_speedup']:.2f}x faster "
            f"({sec['no_cache']:.2f}s -> {sec['ram_cache']:.2f}s)"
        )
    if "prompt_lookup_speedup" in r:
        print(
            f"prompt-lookup decoding, extractive answer: {r['prompt_lookup_speedup']:.2f}x "
            f"(same output: {r['prompt_lookup_same_output']})"
        )
    if "http_overhead_ratio" in r:
        print(
            f"HTTP backend (llama_cpp.server) vs in-process, time per generated token: "
            f"{r['http_overhead_ratio']:.2f}x ({r['http_seconds']:.2f}s vs {r['inprocess_seconds']:.2f}s)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one repetition, shorter generations")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    args = ap.parse_args()
    r = asyncio.run(run(args.quick, args.only))
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        report(r)


if __name__ == "__main__":
    main()
