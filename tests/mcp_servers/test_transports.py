"""The server as clients really reach it: a stdio subprocess, streamable HTTP, and the MCP Inspector CLI."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from deepwell.core.settings import Settings
from tests.mcp_servers.conftest import serve_http, server_env

ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "mcp-inspector"

pytestmark = pytest.mark.slow


async def test_stdio_subprocess(loaded: Settings) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "deepwell", "mcp", "stdio"], env=server_env(loaded), cwd=str(ROOT)
    )
    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"search", "grep", "read_range", "ingest"} <= names
        r = await client.call_tool("search", {"query": "API key rotation", "collection": "kb", "k": 1})
        assert r.structured_content["hits"][0]["uri"].endswith("handbook.md")
        corpus = str(loaded.allowed_roots[0])
        ing = await client.call_tool(
            "ingest", {"paths": [corpus], "collection": "s"}, progress_callback=on_progress
        )
        assert ing.structured_content["added"] == 2 and progress
        res = await client.read_resource("deepwell://collections")
        assert '"s"' in res.contents[0].text
        bad = await client.call_tool("search", {"query": "x", "collection": "missing"})
        assert bad.is_error


@pytest.fixture
def http_server(loaded: Settings) -> Iterator[str]:
    yield from serve_http(loaded)


async def test_streamable_http_with_bearer_token(http_server: str, loaded: Settings) -> None:
    assert httpx.get(f"{http_server}/health").json()["status"] == "ok"
    assert httpx.post(f"{http_server}/mcp", json={}).status_code == 401
    wrong = httpx.post(f"{http_server}/mcp", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "bearer token" in wrong.json()["error"]

    auth = httpx.AsyncClient(headers={"Authorization": "Bearer s3cret"}, timeout=120)

    async def one_client(q: str) -> str:
        async with Client(streamable_http_client(f"{http_server}/mcp", http_client=auth)) as client:
            r = await client.call_tool("search", {"query": q, "collection": "kb", "k": 1})
            return r.structured_content["hits"][0]["uri"]

    uris = await asyncio.gather(one_client("API keys"), one_client("green tea"), one_client("leave days"))
    assert uris[0].endswith("handbook.md") and uris[1].endswith("tea.md")

    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async with Client(streamable_http_client(f"{http_server}/mcp", http_client=auth)) as client:
        assert {"search", "ingest", "read_range"} <= {t.name for t in (await client.list_tools()).tools}
        corpus = str(loaded.allowed_roots[0])
        ing = await client.call_tool(
            "ingest", {"paths": [corpus], "collection": "h"}, progress_callback=on_progress
        )
        assert ing.structured_content["added"] == 2 and progress == [1, 2]
        doc = await client.read_resource("deepwell://kb/documents/1")
        assert doc.contents[0].text
        bad = await client.call_tool("grep", {"collection": "kb", "document": "1", "pattern": "("})
        assert bad.is_error and "Invalid regular expression" in bad.content[0].text
    await auth.aclose()


def _inspector(loaded: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The Inspector starts servers with a scrubbed environment, so settings go in as -e flags."""
    env = server_env(loaded)
    flags = [f"-e{k}={env[k]}" for k in ("DEEPWELL_DATA_DIR", "DEEPWELL_ALLOWED_ROOTS", "HF_HUB_OFFLINE")]
    flags = [x for f in flags for x in ("-e", f[2:])]
    return subprocess.run(
        [str(INSPECTOR), "--cli", *flags, sys.executable, "-m", "deepwell", "mcp", "stdio", *args],
        env=server_env(loaded),
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_mcp_inspector_cli_lists_and_calls_tools(loaded: Settings) -> None:
    assert INSPECTOR.exists(), "run `make test` (it installs the Inspector into .cache/node)"
    listed = _inspector(loaded, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert {"search", "ask", "grep"} <= names
    called = _inspector(
        loaded,
        "--method",
        "tools/call",
        "--tool-name",
        "search",
        "--tool-arg",
        "query=rotate API keys",
        "--tool-arg",
        "collection=kb",
        "--tool-arg",
        "k=1",
    )
    assert called.returncode == 0, called.stderr
    out = json.loads(called.stdout)
    assert out["structuredContent"]["hits"][0]["uri"].endswith("handbook.md")
