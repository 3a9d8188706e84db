"""Reasoning-core benchmark: Deepwell's LLM layer against raw ``llama_cpp.Llama`` in the same run.

    python -m bench.llm [--quick] [--json]

1. Overhead: prompt processing and generation tokens/s of ``LlamaCppLLM.complete`` vs raw
   ``Llama.create_chat_completion`` on the same prompts (goal: ≤ 1.05× time).
2. Prefix caching: a long shared system prompt with changing questions, with and without the RAM state
   cache, alternating with an unrelated prompt (what an RLM's root and sub-calls do).
3. Prompt-lookup decoding on an extractive task (copying a passage's sentence), on vs off.
4. HTTP overhead: ``OpenAICompatLLM`` against ``python -m llama_cpp.server`` serving the same GGUF.
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


def _timed_raw(llama: Any, messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int, int]:
    llama.reset()
    t = time.perf_counter()
    out = llama.create_chat_completion(messages, max_tokens=max_tokens, temperature=0.0, seed=1)
    return time.perf_counter() - t, out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"]


async def _timed_ours(llm: Any, messages: list[dict[str, str]], max_tokens: int) -> tuple[float, int, int]:
    llm._llama.reset()
    t = time.perf_counter()
    c = await llm.complete(messages, max_tokens=max_tokens, temperature=0.0, seed=1)
    return time.perf_counter() - t, c.usage.prompt_tokens, c.usage.completion_tokens


async def run(quick: bool) -> dict[str, Any]:
    from llama_cpp import Llama

    from reasoning import resolve_model_path
    from reasoning._llama_cpp import LlamaCppLLM

    path = resolve_model_path("smollm2-135m")
    reps = 1 if quick else 3
    gen = 64 if quick else 128
    res: dict[str, Any] = {"model": path.name}

    log("1/4 overhead vs raw llama_cpp.Llama")
    raw = Llama(str(path), n_ctx=4096, n_threads=2, n_batch=512, flash_attn=True, verbose=False)
    ours = LlamaCppLLM(path, n_ctx=4096, n_threads=2, cache_mb=0)
    long_prompt = [{"role": "user", "content": (PASSAGE + "\n") * 8 + "Summarise the handbook."}]
    rows = {"raw": [], "deepwell": []}
    for _ in range(reps):
        for p in [*PROMPTS, None]:
            msgs = long_prompt if p is None else [{"role": "user", "content": p}]
            rows["raw"].append(_timed_raw(raw, msgs, gen))
            rows["deepwell"].append(await _timed_ours(ours, msgs, gen))
    for who, data in rows.items():
        secs = sum(d[0] for d in data)
        res[f"{who}_seconds"] = secs
        res[f"{who}_tokens"] = sum(d[1] + d[2] for d in data)
    pp_raw = raw.create_completion  # prompt-processing only: max_tokens=1 on the long prompt
    t_raw, t_ours = [], []
    for _ in range(reps + 1):
        raw.reset()
        t = time.perf_counter()
        out = raw.create_chat_completion(long_prompt, max_tokens=1, temperature=0.0)
        t_raw.append(time.perf_counter() - t)
        n_prompt = out["usage"]["prompt_tokens"]
        ours._llama.reset()
        t = time.perf_counter()
        await ours.complete(long_prompt, max_tokens=1)
        t_ours.append(time.perf_counter() - t)
    del pp_raw
    res["prompt_tokens_per_s_raw"] = n_prompt / median(t_raw)
    res["prompt_tokens_per_s_deepwell"] = n_prompt / median(t_ours)
    g_raw = [d for d in rows["raw"]]
    g_ours = [d for d in rows["deepwell"]]
    res["gen_tokens_per_s_raw"] = sum(d[2] for d in g_raw[:-1]) / sum(d[0] for d in g_raw[:-1])
    res["gen_tokens_per_s_deepwell"] = sum(d[2] for d in g_ours[:-1]) / sum(d[0] for d in g_ours[:-1])
    res["overhead_time_ratio"] = res["deepwell_seconds"] / res["raw_seconds"]
    del raw

    log("2/4 prefix cache (RAM state cache) on alternating prompts")
    system = {"role": "system", "content": ("You answer questions about this handbook.\n" + PASSAGE) * 6}
    other = [{"role": "user", "content": "Say hi." + " filler" * 300}]
    questions = ["How often are keys rotated?", "What is the meal limit?", "Who revokes leaked keys?"]
    timings = {}
    for label, cache_mb in (("no_cache", 0), ("ram_cache", 256)):
        llm = LlamaCppLLM(path, n_ctx=4096, n_threads=2, cache_mb=cache_mb)
        llm._llama.reset()
        await llm.complete([system, {"role": "user", "content": "warm up"}], max_tokens=1)
        t = time.perf_counter()
        for q in questions * reps:
            await llm.complete(other, max_tokens=1)  # evicts the shared prefix from the live KV cache
            await llm.complete([system, {"role": "user", "content": q}], max_tokens=16)
        timings[label] = time.perf_counter() - t
    res["prefix_cache_speedup"] = timings["no_cache"] / timings["ram_cache"]
    res["prefix_cache_seconds"] = timings

    log("3/4 prompt-lookup decoding on an extractive task")
    extract = [
        {
            "role": "system",
            "content": "Copy the sentence from the passage that answers the question, word for word.",
        },
        {"role": "user", "content": f"Passage: {PASSAGE}\nQuestion: What happens to a lost laptop?"},
    ]
    pl = {}
    for label, n in (("off", 0), ("on", 10)):
        llm = LlamaCppLLM(path, n_ctx=4096, n_threads=2, cache_mb=0, prompt_lookup=n)
        times = []
        for _ in range(reps + 1):
            llm._llama.reset()
            t = time.perf_counter()
            c = await llm.complete(extract, max_tokens=60)
            times.append(time.perf_counter() - t)
        pl[label] = (median(times), c.text)
    res["prompt_lookup_speedup"] = pl["off"][0] / pl["on"][0]
    res["prompt_lookup_same_output"] = pl["off"][1] == pl["on"][1]

    log("4/4 HTTP backend vs in-process")
    from reasoning._openai import OpenAICompatLLM

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryFile() as logf:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(path),
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
                "--model_alias",
                "m",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            http = OpenAICompatLLM(f"http://127.0.0.1:{port}/v1", model="m")
            inproc = LlamaCppLLM(path, n_ctx=4096, n_threads=2, cache_mb=0)
            th, ti = [], []
            for p in PROMPTS * reps:
                msgs = [{"role": "user", "content": p}]
                t = time.perf_counter()
                await http.complete(msgs, max_tokens=32, seed=1)
                th.append(time.perf_counter() - t)
                inproc._llama.reset()
                t = time.perf_counter()
                await inproc.complete(msgs, max_tokens=32, seed=1)
                ti.append(time.perf_counter() - t)
            await http.aclose()
            res["http_seconds"] = sum(th)
            res["inprocess_seconds"] = sum(ti)
            res["http_overhead_ratio"] = sum(th) / sum(ti)
        finally:
            proc.terminate()
            proc.wait(10)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = asyncio.run(run(args.quick))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"model: {r['model']} (2 threads)\n")
    print(f"{'measure':<44} {'raw llama_cpp':>14} {'deepwell':>10} {'ratio':>7}")
    print(
        f"{'prompt processing, tokens/s':<44} {r['prompt_tokens_per_s_raw']:>14.0f}"
        f" {r['prompt_tokens_per_s_deepwell']:>10.0f}"
        f" {r['prompt_tokens_per_s_raw'] / r['prompt_tokens_per_s_deepwell']:>6.2f}x"
    )
    print(
        f"{'generation, tokens/s':<44} {r['gen_tokens_per_s_raw']:>14.0f}"
        f" {r['gen_tokens_per_s_deepwell']:>10.0f}"
        f" {r['gen_tokens_per_s_raw'] / r['gen_tokens_per_s_deepwell']:>6.2f}x"
    )
    print(
        f"{'whole run, seconds (time ratio, goal <= 1.05)':<44} {r['raw_seconds']:>14.2f}"
        f" {r['deepwell_seconds']:>10.2f} {r['overhead_time_ratio']:>6.2f}x"
    )
    print(
        f"\nprefix RAM cache on alternating prompts: {r['prefix_cache_speedup']:.2f}x faster "
        f"({r['prefix_cache_seconds']['no_cache']:.2f}s -> {r['prefix_cache_seconds']['ram_cache']:.2f}s)"
    )
    print(
        f"prompt-lookup decoding, extractive answer: {r['prompt_lookup_speedup']:.2f}x "
        f"(same output: {r['prompt_lookup_same_output']})"
    )
    print(
        f"HTTP backend (llama_cpp.server) vs in-process: {r['http_overhead_ratio']:.2f}x time "
        f"({r['http_seconds']:.2f}s vs {r['inprocess_seconds']:.2f}s)"
    )


if __name__ == "__main__":
    main()
