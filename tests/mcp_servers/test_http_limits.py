"""Red-team issue 13 over real streamable HTTP: one request never freezes the server, sessions are capped
and idle ones expire."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from deepwell.core.settings import Settings
from tests.mcp_servers.conftest import serve_http

pytestmark = pytest.mark.slow
TOKEN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def busy_server(loaded: Settings) -> Iterator[str]:
    yield from serve_http(loaded)


@pytest.fixture
def capped_server(loaded: Settings) -> Iterator[str]:
    yield from serve_http(loaded, DEEPWELL_HTTP_MAX_SESSIONS="2", DEEPWELL_HTTP_SESSION_IDLE_SECONDS="3")


async def test_health_and_search_answer_while_a_long_rlm_answer_and_ingest_run(
    busy_server: str, loaded: Settings
) -> None:
    corpus = loaded.allowed_roots[0]
    rng = random.Random(0)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "river",
        "stone",
        "cloud",
        "signal",
        "engine",
        "harbor",
        "lantern",
        "meadow",
        "orbit",
    ]
    block = "\n\n".join(" ".join(rng.choice(words) for _ in range(80)) for _ in range(2000))
    (corpus / "huge.log").write_text("\n\n".join([block] * 12))  # ~12 MB: many seconds to read and index
    bulk = corpus / "bulk"
    bulk.mkdir()
    for i in range(30):
        (bulk / f"n{i}.md").write_text(f"# Note {i}\n\n" + " ".join(rng.choice(words) for _ in range(300)))

    auth = httpx.AsyncClient(headers=TOKEN, timeout=600)
    # a loop blocked by reading or indexing (tens of seconds here) fails a probe; 8 s leaves room for a
    # machine whose two cores are busy with the other work of the suite
    probe = httpx.AsyncClient(timeout=8)
    url = f"{busy_server}/mcp"
    first_step = anyio.Event()  # the RLM reports its first step once the context is loaded and indexed

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        first_step.set()

    async with (
        Client(streamable_http_client(url, http_client=auth)) as a,
        Client(streamable_http_client(url, http_client=auth)) as b,
        Client(streamable_http_client(url, http_client=auth)) as c,
    ):
        search = {"query": "API keys", "collection": "kb", "k": 1, "mode": "keyword"}
        await c.call_tool("search", search)  # warm: the store and index are open before the long calls
        rlm = asyncio.create_task(
            a.call_tool(
                "rlm_answer",
                {"question": "Which word is rarest?", "path": str(corpus / "huge.log"), "mode": "actions"},
                progress_callback=on_progress,
            )
        )
        ingest = asyncio.create_task(b.call_tool("ingest", {"paths": [str(bulk)], "collection": "bulk"}))
        probes = searches = 0
        with anyio.fail_after(300):
            while not first_step.is_set() and not rlm.done():
                health = await probe.get(f"{busy_server}/health")
                assert health.status_code == 200
                probes += 1
                if probes % 4 == 2:
                    hits = await c.call_tool("search", search)
                    assert hits.structured_content["hits"][0]["uri"].endswith("handbook.md")
                    searches += 1
                await anyio.sleep(0.25)
        assert not rlm.done() or not rlm.result().is_error, rlm.result()
        assert probes >= 5 and searches >= 1, (probes, searches)
        rlm.cancel()
        ingest.cancel()
        await asyncio.gather(rlm, ingest, return_exceptions=True)
    await auth.aclose()
    await probe.aclose()


async def _open_session(base: str) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {**TOKEN, "Accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=30) as h:
        return await h.post(f"{base}/mcp", json=body, headers=headers)


async def test_sessions_are_capped_and_idle_ones_expire(capped_server: str) -> None:
    first, second = await _open_session(capped_server), await _open_session(capped_server)
    assert first.status_code == second.status_code == 200
    third = await _open_session(capped_server)
    assert third.status_code == 503, third.text
    sid = first.headers["mcp-session-id"]
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    headers = {**TOKEN, "Accept": "application/json, text/event-stream", "mcp-session-id": sid}
    async with httpx.AsyncClient(timeout=30) as h:
        with anyio.fail_after(60):
            while (await h.post(f"{capped_server}/mcp", json=ping, headers=headers)).status_code != 404:
                await anyio.sleep(5)  # longer than the idle limit: each poll finds the session idle
    assert (await _open_session(capped_server)).status_code == 200
