"""Every tool through the SDK's own client, in-process (a real MCP session without a subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest
from mcp import Client

from deepwell.core.settings import Settings
from deepwell.mcp_servers import build_server
from deepwell.sdk import Deepwell


async def _call(client: Client, name: str, **args):  # type: ignore[no-untyped-def]
    return await client.call_tool(name, args)


async def test_tools_are_listed_with_schemas_and_annotations(loaded: Settings) -> None:
    async with Client(build_server(loaded)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    expected = {
        "search",
        "list_collections",
        "list_documents",
        "get_document",
        "get_chunk",
        "ingest",
        "delete_document",
        "document_info",
        "read_range",
        "grep",
        "outline",
        "ask",
        "moa_answer",
    }
    assert expected <= tools.keys()
    search = tools["search"]
    assert search.input_schema["properties"]["query"]["description"]
    assert search.output_schema and "hits" in search.output_schema["properties"]
    assert search.annotations.read_only_hint is True
    assert tools["delete_document"].annotations.destructive_hint is True


async def test_retrieval_and_document_tools(loaded: Settings) -> None:
    async with Client(build_server(loaded)) as client:
        cols = await _call(client, "list_collections")
        assert cols.structured_content["collections"][0]["documents"] == 2
        page = await _call(client, "list_documents", collection="kb", limit=1)
        assert len(page.structured_content["documents"]) == 1 and page.structured_content["next_offset"] == 1
        last = await _call(client, "list_documents", collection="kb", limit=1, offset=1)
        assert last.structured_content["next_offset"] is None
        uris = {d["uri"] for p in (page, last) for d in p.structured_content["documents"]}
        assert {Path(u).name for u in uris} == {"handbook.md", "tea.md"}

        r = await _call(client, "search", query="how often are API keys rotated", collection="kb", k=2)
        assert not r.is_error
        hit = r.structured_content["hits"][0]
        assert hit["uri"].endswith("handbook.md") and "#chunk=" in hit["citation"]

        chunk = await _call(client, "get_chunk", chunk_id=hit["chunk_id"], neighbours=1)
        assert any(c["id"] == hit["chunk_id"] for c in chunk.structured_content["chunks"])

        doc = await _call(client, "get_document", collection="kb", document=hit["uri"])
        assert "Rotate API keys" in doc.structured_content["text"]

        info = await _call(client, "document_info", collection="kb", document=hit["uri"])
        assert info.structured_content["tokens"] > 5
        assert [o["title"] for o in info.structured_content["outline"]] == ["Handbook", "Security", "Leave"]

        rng = await _call(
            client, "read_range", collection="kb", document=hit["uri"], start=5, end=5, unit="lines"
        )
        assert rng.structured_content["text"] == "Rotate API keys every 90 days."

        g = await _call(client, "grep", collection="kb", document=hit["uri"], pattern=r"\d+ days")
        assert g.structured_content["total"] == 2

        by_id = await _call(client, "document_info", collection="kb", document=hit["document_id"])
        assert by_id.structured_content["uri"] == hit["uri"]

        o = await _call(client, "outline", collection="kb", document=hit["uri"])
        assert o.structured_content["chunks"]


async def test_resources_and_prompts(loaded: Settings) -> None:
    async with Client(build_server(loaded)) as client:
        cols = await client.read_resource("deepwell://collections")
        assert '"kb"' in cols.contents[0].text
        listing = json.loads((await client.read_resource("deepwell://kb/documents")).contents[0].text)
        assert len(listing) == 2
        doc = await client.read_resource("deepwell://kb/documents/1")
        assert "Handbook" in doc.contents[0].text or "Tea" in doc.contents[0].text
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"cited_answer", "explore_document"} <= prompts


async def test_ingest_with_progress_and_allowed_roots(
    settings: Settings, corpus: Path, tmp_path: Path
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    async with Client(build_server(settings)) as client:
        r = await client.call_tool(
            "ingest", {"paths": [str(corpus)], "collection": "new"}, progress_callback=on_progress
        )
        assert not r.is_error and r.structured_content["added"] == 2
        assert progress and progress[-1][0] == 2

        outside = tmp_path / "secret.md"
        outside.write_text("secret")
        bad = await _call(client, "ingest", paths=[str(outside)], collection="new")
        assert bad.is_error and "outside the allowed roots" in bad.content[0].text

        d = await _call(client, "delete_document", collection="new", document=str(corpus / "tea.md"))
        assert d.structured_content["deleted"]
        again = await _call(client, "search", query="green tea", collection="new")
        assert all(not h["uri"].endswith("tea.md") for h in again.structured_content["hits"])


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("search", {"query": "x", "collection": "nope"}, "No collection named 'nope'"),
        ("search", {"query": "   ", "collection": "kb"}, "empty"),
        ("search", {"query": "x", "collection": "kb", "k": 500}, "less than or equal to 50"),
        ("get_document", {"collection": "kb", "document": "missing.md"}, "No document"),
        ("get_chunk", {"chunk_id": 999999}, "No chunk"),
        ("list_documents", {"collection": "nope"}, "No collection named 'nope'"),
        ("grep", {"collection": "kb", "document": "1", "pattern": "x" * 600}, "keep it under 500"),
        ("grep", {"collection": "kb", "document": "1", "pattern": "("}, "Invalid regular expression"),
        ("read_range", {"collection": "kb", "document": "1", "start": 10**9}, "past the end"),
        ("read_range", {"collection": "kb", "document": "1", "start": 99, "unit": "lines"}, "out of range"),
        ("read_range", {"collection": "kb", "document": "1", "start": 5, "end": 2}, "Invalid range"),
        ("document_info", {"collection": "nope", "document": "1"}, "No collection named 'nope'"),
        ("get_document", {"collection": "kb", "document": "1", "max_chars": 10**6}, "less than or equal"),
        ("rlm_answer", {"question": "q", "collection": "kb", "path": "/etc/passwd"}, "exactly one of"),
    ],
)
async def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(
    loaded: Settings, tool: str, args: dict, message: str
) -> None:
    async with Client(build_server(loaded)) as client:
        r = await client.call_tool(tool, args)
        assert r.is_error and message in r.content[0].text
        ok = await _call(client, "list_collections")
        assert not ok.is_error


async def test_a_regex_that_would_blow_up_is_stopped_and_the_server_keeps_serving(settings: Settings) -> None:
    with Deepwell(settings) as dw:
        dw.ingest_texts([("mem://aaa", "a" * 20_000 + "!", None)], "pathological")
    async with Client(build_server(settings)) as client:
        r = await _call(client, "grep", collection="pathological", document="mem://aaa", pattern="(a|aa)+$")
        assert r.is_error and "catastrophic backtracking" in r.content[0].text
        fine = await _call(client, "grep", collection="pathological", document="mem://aaa", pattern="a!")
        assert fine.structured_content["total"] == 1


async def test_cancelled_ingest_leaves_only_whole_documents(settings: Settings, corpus: Path) -> None:
    many = corpus / "many"
    many.mkdir()
    for i in range(30):
        (many / f"note{i:02d}.md").write_text(f"# Note {i}\n\n" + f"Paragraph {i} about topic {i}. " * 60)
    first = anyio.Event()

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        first.set()

    with Deepwell(settings) as dw:
        # commit each document as soon as it is embedded, so the run is mid-way for seconds, not milliseconds
        dw._ingestor.batch_chunks = 1
        async with Client(build_server(settings, dw)) as client:
            async with anyio.create_task_group() as tg:

                async def call() -> None:
                    await client.call_tool(
                        "ingest", {"paths": [str(many)], "collection": "c"}, progress_callback=on_progress
                    )
                    pytest.fail("the call should have been cancelled")

                tg.start_soon(call)
                await first.wait()
                tg.cancel_scope.cancel()
            # the server keeps serving; a full run of the same work gives the cancelled one time to finish
            full = await _call(client, "ingest", paths=[str(many)], collection="d")
            assert full.structured_content["added"] == 30
            partial = {c.name: c.documents for c in dw.collections()}.get("c", 0)
            assert partial < 30, "the cancelled ingest did not stop"
            done = await _call(client, "ingest", paths=[str(many)], collection="c")
        out = done.structured_content
        assert (out["added"], out["unchanged"]) == (30 - partial, partial)
        for i in range(30):
            rec = dw.get_document("c", str(many / f"note{i:02d}.md"))
            assert len(dw.chunks("c", rec.id)) == rec.chunk_count > 0
            assert rec.text.startswith(f"# Note {i}")


@pytest.mark.model
async def test_ask_answers_with_citations_from_the_real_model(loaded: Settings) -> None:
    # a model instance without the prompt-state cache, as in tests/agents/test_ask.py: the 135M model's greedy
    # output can change with which prefix an earlier test left cached
    isolated = loaded.model_copy(update={"llm_cache_mb": 0})
    async with Client(build_server(isolated)) as client:
        r = await _call(client, "ask", question="How often must API keys be rotated?", collection="kb", k=2)
    assert not r.is_error
    out = r.structured_content
    assert out["status"] == "answered" and "90" in out["answer"], out
    c = out["citations"][0]
    assert c["uri"].endswith("handbook.md") and f"[{c['n']}]" in out["answer"]
    assert c["char_end"] > c["char_start"] >= 0 and out["run_id"]


@pytest.mark.model
async def test_ask_says_not_found_over_mcp(loaded: Settings) -> None:
    async with Client(build_server(loaded)) as client:
        r = await _call(client, "ask", question="What is the boiling point of mercury?", collection="kb")
    assert not r.is_error
    assert (r.structured_content["status"], r.structured_content["citations"]) == ("not_found", [])


async def test_a_down_llm_service_fails_ask_clearly_while_search_stays_healthy(loaded: Settings) -> None:
    """compose's `llm` stopped: `ask` is one clear tool error naming the server, and `search` (no model
    needed) keeps answering on the same server."""
    down = loaded.model_copy(
        update={"llm_backend": "openai", "llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "smollm2"}
    )
    async with Client(build_server(down)) as client:
        r = await _call(client, "ask", question="How often must API keys be rotated?", collection="kb")
        assert r.is_error
        msg = r.content[0].text
        assert "127.0.0.1:9" in msg and "Traceback" not in msg, msg
        hits = await _call(client, "search", query="rotate API keys", collection="kb", k=1)
        assert not hits.is_error and "handbook.md" in hits.structured_content["hits"][0]["uri"]
