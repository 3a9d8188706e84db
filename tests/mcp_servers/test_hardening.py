"""Red-team issue 13 against the MCP tools: every tool that takes a path stays inside the allowed roots."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
from mcp import Client

from deepwell.core.settings import Settings
from deepwell.mcp_servers import build_server


async def test_ingest_does_not_follow_links_out_of_the_roots(
    settings: Settings, corpus: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the launch code is 0000")
    (corpus / "link_out.txt").symlink_to(secret)
    (corpus / "status.txt").symlink_to(f"/proc/{os.getpid()}/status")
    os.mkfifo(corpus / "pipe.md")
    async with Client(build_server(settings)) as client:
        r = await client.call_tool("ingest", {"paths": [str(corpus)], "collection": "c"})
        assert not r.is_error, r.content
        skipped = dict(r.structured_content["skipped"])
        assert r.structured_content["added"] == 2, r.structured_content
        assert {Path(p).name for p in skipped} == {"link_out.txt", "status.txt", "pipe.md"}
        one = await client.call_tool("ingest", {"paths": [str(corpus / "link_out.txt")], "collection": "c"})
        assert one.is_error and "outside the allowed roots" in one.content[0].text
        hits = await client.call_tool(
            "search", {"query": "launch code", "collection": "c", "mode": "keyword"}
        )
        assert all("launch" not in h["text"] for h in hits.structured_content["hits"])
        docs = await client.call_tool("list_documents", {"collection": "c"})
        uris = [d["uri"] for d in docs.structured_content["documents"]]
        assert not any("secret" in u or "status" in u for u in uris), uris


async def test_rlm_answer_refuses_a_fifo_and_links_out(
    settings: Settings, corpus: Path, tmp_path: Path
) -> None:
    os.mkfifo(corpus / "pipe.txt")
    (tmp_path / "secret.txt").write_text("x")
    (corpus / "out.txt").symlink_to(tmp_path / "secret.txt")
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(60):  # before the fix this call blocked the event loop for good
            r = await client.call_tool("rlm_answer", {"question": "q", "path": str(corpus / "pipe.txt")})
        assert r.is_error and "not a regular file" in r.content[0].text
        r = await client.call_tool("rlm_answer", {"question": "q", "path": str(corpus / "out.txt")})
        assert r.is_error and "outside the allowed roots" in r.content[0].text
        r = await client.call_tool("rlm_answer", {"question": "q", "path": "/dev/zero"})
        assert r.is_error and "outside the allowed roots" in r.content[0].text
