"""MCP protocol overhead: ``search`` through MCP against calling the retrieval API directly.

    python -m bench.mcp [--queries N] [--quick] [--json]

Same store, same queries, same results, measured in one run: the SDK call ``Deepwell.search``, the
``search`` tool through the MCP SDK's in-process client, over stdio to ``deepwell mcp stdio``, and over
streamable HTTP to ``deepwell serve``. ``list_collections`` (one tiny query) shows what the protocol alone
costs per call on each path, since search time is mostly the query embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from mcp import Client

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

    from deepwell.core.settings import Settings
    from deepwell.mcp_servers import build_server
    from deepwell.sdk import Deepwell

    root = Path(__file__).resolve().parents[2]
    tmp = Path(tempfile.mkdtemp(prefix="deepwell-bench-mcp-"))
    settings = Settings(data_dir=tmp)
    dw = Deepwell(settings)
    dw.ingest([root / "deepwell" / "samples"], "samples")
    queries = (QUERIES * (n // len(QUERIES) + 1))[:n]

    env = {**os.environ, "DEEPWELL_DATA_DIR": str(tmp), "HF_HUB_OFFLINE": "1", "OMP_WAIT_POLICY": "PASSIVE"}
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
        else:
            raise SystemExit("deepwell serve did not come up within 60 s")
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

            async def direct(q: str) -> None:
                await asyncio.to_thread(dw.search, q, "samples", k=5)

            def via(c: Client) -> Callable[[str], Awaitable[None]]:
                async def call(q: str) -> None:
                    r = await c.call_tool("search", {"query": q, "collection": "samples", "k": 5})
                    assert not r.is_error, r.content

                return call

            paths = {"direct SDK call": direct, **{name: via(c) for name, c in clients.items()}}
            res: dict[str, list[float]] = {k: [] for k in paths}
            trivial: dict[str, list[float]] = {k: [] for k in paths}
            order = random.Random(0)
            for q in queries:
                # interleaved in a fresh random order each round, so no path always follows the same one
                for name in order.sample(list(paths), len(paths)):
                    s = time.perf_counter()
                    await paths[name](q)
                    res[name].append(time.perf_counter() - s)
                    # a near-empty tool (one small DB query): the protocol's own round-trip cost
                    s = time.perf_counter()
                    if name in clients:
                        assert not (await clients[name].call_tool("list_collections", {})).is_error
                    else:
                        await asyncio.to_thread(dw.collections)
                    trivial[name].append(time.perf_counter() - s)
    finally:
        proc.terminate()
        proc.wait(10)
    dw.close()
    out: dict[str, Any] = {}
    for k, v in res.items():
        out[k] = {
            "p50_ms": median(v) * 1e3,
            "mean_ms": sum(v) / len(v) * 1e3,
            "queries": len(v),
            "list_collections_p50_ms": median(trivial[k]) * 1e3,
        }
    base = out["direct SDK call"]["p50_ms"]
    for v in out.values():
        v["p50_ratio_vs_direct"] = v["p50_ms"] / base
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=36, help="queries per path (default 36)")
    ap.add_argument("--quick", action="store_true", help="12 queries per path")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    # three processes share the cores: idle OpenMP threads must sleep, not spin, or each path slows the next
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    r = asyncio.run(run(12 if args.quick else args.queries))
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{'search path':<22} {'p50 ms':>8} {'mean ms':>8} {'p50 vs direct':>14} {'list_collections':>21}")
    for k, v in r.items():
        print(
            f"{k:<22} {v['p50_ms']:>8.2f} {v['mean_ms']:>8.2f} {v['p50_ratio_vs_direct']:>13.2f}x "
            f"{v['list_collections_p50_ms']:>18.2f} ms"
        )


if __name__ == "__main__":
    main()
