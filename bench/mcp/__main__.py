"""MCP protocol overhead: ``search`` through MCP against calling the retrieval API directly.

    python -m bench.mcp [--queries N] [--json]

Same store, same queries, same results, measured in one run: the SDK call ``Deepwell.search``, the
``search`` tool through the MCP SDK's in-process client, over stdio to ``deepwell mcp stdio``, and over
streamable HTTP to ``deepwell serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx

QUERIES = [
    "how often must API keys be rotated",
    "oolong brewing temperature",
    "chain lubrication",
    "lost laptop",
    "meal reimbursement limit",
    "Jupiter moons binoculars",
    "offline mode release",
    "tyre pressure gravel",
    "dark adaptation red light",
    "Bortle scale",
    "leave carry over",
    "disc brake pads",
]


async def run(n: int) -> dict[str, Any]:
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    from deepwell.sdk import Deepwell
    from deepwell.settings import Settings
    from mcp_servers import build_server

    root = Path(__file__).resolve().parents[2]
    tmp = Path(tempfile.mkdtemp(prefix="deepwell-bench-mcp-"))
    settings = Settings(data_dir=tmp)
    dw = Deepwell(settings)
    dw.ingest([root / "deepwell" / "samples"], "samples")
    queries = (QUERIES * (n // len(QUERIES) + 1))[:n]

    env = {**os.environ, "DEEPWELL_DATA_DIR": str(tmp), "HF_HUB_OFFLINE": "1"}
    with socket.socket() as sck:
        sck.bind(("127.0.0.1", 0))
        port = sck.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "deepwell", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    params = StdioServerParameters(command=sys.executable, args=["-m", "deepwell", "mcp", "stdio"], env=env)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        async with (
            Client(build_server(settings, dw)) as inproc,
            Client(params) as stdio,
            httpx.AsyncClient(timeout=120) as h,
            Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=h)) as http,
        ):
            clients = {"MCP in-process": inproc, "MCP stdio": stdio, "MCP streamable HTTP": http}
            dw.search("warm up", "samples", k=5)
            for c in clients.values():
                await c.call_tool("search", {"query": "warm up", "collection": "samples", "k": 5})
            res = {"direct SDK call": [], **{k: [] for k in clients}}
            for q in queries:  # interleaved, so every path sees the same machine load
                s = time.perf_counter()
                await asyncio.to_thread(dw.search, q, "samples", k=5)
                res["direct SDK call"].append(time.perf_counter() - s)
                for name, c in clients.items():
                    s = time.perf_counter()
                    r = await c.call_tool("search", {"query": q, "collection": "samples", "k": 5})
                    res[name].append(time.perf_counter() - s)
                    assert not r.is_error
    finally:
        proc.terminate()
        proc.wait(10)
    dw.close()
    return {k: {"p50_ms": median(v) * 1e3, "mean_ms": sum(v) / len(v) * 1e3} for k, v in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=36)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = asyncio.run(run(args.queries))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    base = r["direct SDK call"]["p50_ms"]
    print(f"{'search path':<24} {'p50 ms':>8} {'mean ms':>8} {'p50 ratio vs direct':>20}")
    for k, v in r.items():
        print(f"{k:<24} {v['p50_ms']:>8.2f} {v['mean_ms']:>8.2f} {v['p50_ms'] / base:>19.2f}x")


if __name__ == "__main__":
    main()
