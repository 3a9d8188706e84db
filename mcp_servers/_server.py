"""Deepwell's MCP server: retrieval, document and agent tools, resources and prompts.

Every tool failure the user can fix comes back as an ``is_error`` result whose message says what to do
(``ToolError``); the server keeps serving. Models and indexes load on first use and are shared by all
sessions of one server process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, ParamSpec, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from deepwell.core.errors import DeepwellError, InputError
from deepwell.core.settings import Settings
from deepwell.mcp_servers._schemas import (
    AnswerOut,
    ChunkOut,
    ChunksOut,
    CollectionOut,
    CollectionsOut,
    DeleteOut,
    DocumentInfoOut,
    DocumentOut,
    DocumentsOut,
    DocumentSummary,
    GrepOut,
    Hit,
    IngestOut,
    OutlineItem,
    OutlineOut,
    RangeOut,
    RunOut,
    RunsOut,
    RunSummaryOut,
    SearchOut,
)
from deepwell.retrieval import documents as doctools
from deepwell.retrieval import file_problem, within_roots
from deepwell.sdk import Deepwell

__all__ = ["build_server"]

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
WRITES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
DESTRUCTIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
SLOW_READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)

Collection = Annotated[str, Field(description="Collection name; list_collections shows them.")]
DocumentRef = Annotated[
    int | str,
    Field(description="Document id (number) or exact URI, as given by search hits (document_id or uri)."),
]
Question = Annotated[str, Field(description="The question, in natural language.")]

_INSTRUCTIONS = (
    "Deepwell searches the user's local document collections. Start with list_collections (list_documents "
    "shows what one holds), then search (hybrid by default). Cite results by their citation field. For a "
    "long document, use document_info and outline first, then read_range or grep to read only what you "
    "need. ask answers a question from a collection with citations using the local model; rlm_answer "
    "handles questions over very long contexts."
)


def _tool_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn Deepwell's user-facing errors into MCP tool errors the model can read and act on."""
    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def awrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await fn(*args, **kwargs)  # type: ignore[misc]
            except DeepwellError as exc:
                raise ToolError(str(exc)) from exc

        return awrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DeepwellError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


class _Stopped(Exception):
    """Raised inside a worker thread at its next safe point after the client cancelled the call."""


async def _stoppable(fn: Callable[[threading.Event], R]) -> R:
    """Run blocking work in a thread; if the call is cancelled, return at once and tell the work to stop.

    A thread cannot be killed, so the work checks ``stop`` where stopping is safe (ingest: between
    documents, each committed in its own transaction), and nothing half-written is left behind.
    """
    stop = threading.Event()
    try:
        return await anyio.to_thread.run_sync(fn, stop, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        stop.set()
        raise


def _hit(h: Any) -> Hit:
    return Hit(**{k: v for k, v in h.to_dict().items() if k != "metadata"}, citation=h.citation)


def build_server(settings: Settings, dw: Deepwell | None = None) -> MCPServer:
    """The ``deepwell`` MCP server over one store; pass ``dw`` to share an open SDK object."""
    dw = dw or Deepwell(settings)
    # MCPServer configures root logging at this level when nothing else has: keep a host process quiet
    server: MCPServer = MCPServer(
        "deepwell", instructions=_INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )
    llm_holder: dict[str, Any] = {}
    llm_lock = asyncio.Lock()

    async def get_llm() -> Any:
        async with llm_lock:
            if "llm" not in llm_holder:
                llm_holder["llm"] = await anyio.to_thread.run_sync(lambda: dw.llm)
            return llm_holder["llm"]

    def allowed(path: str) -> Path:
        return within_roots(path, settings.allowed_roots)

    # retrieval -------------------------------------------------------------------------------------
    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def search(
        query: Annotated[str, Field(description="What to look for, in natural language or keywords.")],
        collection: Annotated[
            str, Field(description="Collection to search; see list_collections.")
        ] = "default",
        mode: Annotated[
            Literal["hybrid", "dense", "keyword"],
            Field(description="hybrid (best default), dense (meaning), keyword (exact words, names, codes)."),
        ] = "hybrid",
        k: Annotated[int, Field(ge=1, le=50, description="How many results.")] = 5,
        rerank: Annotated[
            bool, Field(description="Re-score the top results more precisely (slower).")
        ] = False,
        filters: Annotated[
            dict[str, Any] | None,
            Field(description='Metadata equality filters, e.g. {"type": "md"}; uri/title accept globs.'),
        ] = None,
    ) -> SearchOut:
        """Search a collection; each passage comes with its citation (document, chunk, char span, scores)."""
        hits = dw.search(query, collection, mode=mode, k=k, rerank=rerank, filters=filters)
        return SearchOut(query=query, collection=collection, mode=mode, hits=[_hit(h) for h in hits])

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def list_collections() -> CollectionsOut:
        """List the collections with their number of documents and chunks."""
        return CollectionsOut(
            collections=[
                CollectionOut(
                    name=c.name, documents=c.documents, chunks=c.chunks, embedding_model=c.embedding_model
                )
                for c in dw.collections()
            ]
        )

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def list_documents(
        collection: Collection,
        limit: Annotated[int, Field(ge=1, le=200, description="Documents per page.")] = 50,
        offset: Annotated[int, Field(ge=0, description="Skip this many (from next_offset).")] = 0,
    ) -> DocumentsOut:
        """List a collection's documents (id, uri, title, size), a page at a time."""
        rows = dw.documents(collection, limit=limit + 1, offset=offset)
        more = len(rows) > limit
        return DocumentsOut(
            collection=collection,
            documents=[DocumentSummary(**r) for r in rows[:limit]],
            offset=offset,
            next_offset=offset + limit if more else None,
        )

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def get_document(
        collection: Collection,
        document: DocumentRef,
        max_chars: Annotated[int, Field(ge=100, le=doctools.MAX_RANGE_CHARS)] = 8000,
    ) -> DocumentOut:
        """Get a document's metadata and the start of its text (use read_range for the rest)."""
        d = dw.get_document(collection, document)
        return DocumentOut(
            id=d.id,
            uri=d.uri,
            title=d.title,
            chars=len(d.text),
            chunk_count=d.chunk_count,
            metadata=d.metadata,
            text=d.text[:max_chars],
            truncated=len(d.text) > max_chars,
        )

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def get_chunk(
        chunk_id: Annotated[int, Field(description="chunk_id from a search hit.")],
        neighbours: Annotated[int, Field(ge=0, le=5, description="Chunks before and after to include.")] = 1,
    ) -> ChunksOut:
        """Get a chunk with its neighbouring chunks, to read around a search hit."""
        return ChunksOut(chunks=[ChunkOut(**c.to_dict()) for c in dw.get_chunk(chunk_id, neighbours)])

    @server.tool(annotations=WRITES)
    @_tool_errors
    async def ingest(
        paths: Annotated[list[str], Field(description="Files or directories under the allowed roots.")],
        ctx: Context,
        collection: Collection = "default",
        include: Annotated[list[str] | None, Field(description="Globs to include, e.g. ['*.md'].")] = None,
    ) -> IngestOut:
        """Ingest files into a collection (txt, md, html, pdf). Unchanged files are skipped."""
        resolved = [allowed(p) for p in paths]
        loop = asyncio.get_running_loop()

        sent: list[concurrent.futures.Future[None]] = []

        def work(stop: threading.Event) -> Any:
            def progress(item: str, done: int, total: int) -> None:
                if stop.is_set():
                    raise _Stopped
                note = ctx.report_progress(done, total or None, Path(item).name)
                sent.append(asyncio.run_coroutine_threadsafe(note, loop))

            return dw.ingest(
                resolved, collection, include=include, progress=progress, roots=settings.allowed_roots
            )

        report = await _stoppable(work)
        await asyncio.gather(*map(asyncio.wrap_future, sent))  # every notification precedes the result
        return IngestOut(
            collection=collection,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
            chunks=report.chunks,
            skipped=[[p, why] for p, why in report.skipped],
        )

    @server.tool(annotations=DESTRUCTIVE)
    @_tool_errors
    def delete_document(
        collection: Collection,
        document: DocumentRef,
    ) -> DeleteOut:
        """Delete a document and its chunks from the collection and every index."""
        d = dw.get_document(collection, document)
        dw.delete_document(collection, d.id)
        return DeleteOut(deleted=True, uri=d.uri)

    # documents ------------------------------------------------------------------------------------
    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def document_info(collection: Collection, document: DocumentRef) -> DocumentInfoOut:
        """Size (chars, lines, tokens), outline of headings and a preview of a document."""
        d = dw.get_document(collection, document)
        info = doctools.document_info(d.text, lambda t: len(dw.embedder.token_offsets(t)))
        return DocumentInfoOut(id=d.id, uri=d.uri, title=d.title, chunks=d.chunk_count, **info)

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def read_range(
        collection: Collection,
        document: DocumentRef,
        start: Annotated[int, Field(ge=0, description="First char/token (0-based) or line (1-based).")],
        end: Annotated[
            int | None, Field(description="End (exclusive for chars/tokens, inclusive for lines).")
        ] = None,
        unit: Literal["chars", "lines", "tokens"] = "chars",
    ) -> RangeOut:
        """Read part of a document by characters, lines or tokens (at most 20,000 characters per call)."""
        d = dw.get_document(collection, document)
        return RangeOut(
            **doctools.read_range(d.text, start, end, unit, token_offsets=dw.embedder.token_offsets)
        )

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def grep(
        collection: Collection,
        document: DocumentRef,
        pattern: Annotated[
            str, Field(description="Python regular expression (case-insensitive by default).")
        ],
        context_lines: Annotated[int, Field(ge=0, le=10)] = 1,
        max_matches: Annotated[int, Field(ge=1, le=200)] = 30,
        ignore_case: bool = True,
    ) -> GrepOut:
        """Find regex matches in a document, with line numbers and surrounding lines."""
        d = dw.get_document(collection, document)
        return GrepOut(
            **doctools.grep(
                d.text, pattern, context_lines=context_lines, max_matches=max_matches, ignore_case=ignore_case
            )
        )

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def outline(collection: Collection, document: DocumentRef) -> OutlineOut:
        """A document's headings (with line numbers) and its chunk map, to decide what to read."""
        d = dw.get_document(collection, document)
        return OutlineOut(
            outline=[OutlineItem(**h) for h in doctools.outline(d.text)],
            chunks=doctools.chunk_map(dw.chunks(collection, d.id))[:500],
        )

    # answers ----------------------------------------------------------------------------------------
    async def _answer(question: str, collection: str, method: str, k: int, ctx: Context) -> AnswerOut:
        await ctx.report_progress(0, 2, "loading the model")
        await anyio.to_thread.run_sync(lambda: dw.llm)
        await ctx.report_progress(1, 2, f"searching and answering ({method})")
        result = await dw.ask_async(question, collection, strategy="rag", method=method, k=k)  # type: ignore[arg-type]
        await ctx.report_progress(2, 2, result.status)
        return AnswerOut(
            answer=result.answer,
            citations=[c.to_dict() for c in result.citations],
            seconds=result.seconds,
            status=result.status,
            run_id=result.run_id,
            mode=result.method,
        )

    @server.tool(annotations=SLOW_READ)
    @_tool_errors
    async def ask(
        question: Question,
        ctx: Context,
        collection: Collection = "default",
        k: Annotated[int, Field(ge=1, le=10, description="Passages to read.")] = 4,
        method: Annotated[
            Literal["single", "vote", "self-moa", "self-moa-seq", "moa"],
            Field(description="self-moa is measured best (bench/answers); single is fastest."),
        ] = "self-moa",
    ) -> AnswerOut:
        """Answer from a collection with the local model: each sentence cites a source as [n] (document,
        chunk, character span) and is checked against it; status not_found when the sources do not say."""
        return await _answer(question, collection, method, k, ctx)

    @server.tool(annotations=SLOW_READ)
    @_tool_errors
    async def moa_answer(
        question: Question,
        ctx: Context,
        collection: Collection = "default",
        method: Annotated[
            Literal["self-moa", "self-moa-seq", "moa"],
            Field(description="self-moa: samples of the default model; moa: DEEPWELL_MOA_MODELS."),
        ] = "self-moa",
    ) -> AnswerOut:
        """Mixture-of-Agents: proposals from the local model(s), aggregated against the sources and checked
        like ask; every proposal is stored in the run (run_id)."""
        return await _answer(question, collection, method, 4, ctx)

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def list_runs(
        limit: Annotated[int, Field(ge=1, le=200, description="How many of the latest runs.")] = 20,
        kind: Annotated[str | None, Field(description="Only runs of this kind: ask or rlm.")] = None,
    ) -> RunsOut:
        """The latest stored runs of ask, moa_answer and rlm_answer, newest first (get_run shows one)."""
        return RunsOut(runs=[RunSummaryOut(**r) for r in dw.store.runs.list(kind, limit)])

    @server.tool(annotations=READ_ONLY)
    @_tool_errors
    def get_run(
        run_id: Annotated[
            str, Field(description="A run id (or a unique prefix) from list_runs or an answer.")
        ],
    ) -> RunOut:
        """One stored run with every step: retrieval, proposals, the support check, or the RLM's plan."""
        return RunOut(**dw.store.runs.get(run_id).to_dict())

    _register_rlm(server, settings, dw, get_llm)

    # resources and prompts --------------------------------------------------------------------------
    @server.resource("deepwell://collections", mime_type="application/json")
    def collections_resource() -> str:
        """All collections with their counts."""
        return json.dumps([c.to_dict() for c in dw.collections()], default=str)

    @server.resource("deepwell://{collection}/documents", mime_type="application/json")
    def documents_resource(collection: str) -> str:
        """The documents of a collection (first 1000): id, uri, title, size."""
        try:
            return json.dumps(dw.documents(collection, limit=1000), default=str)
        except DeepwellError as exc:
            raise ResourceError(str(exc)) from exc

    @server.resource("deepwell://{collection}/documents/{document_id}", mime_type="text/plain")
    def document_resource(collection: str, document_id: str) -> str:
        """The full extracted text of a document."""
        try:
            return dw.get_document(collection, document_id).text
        except DeepwellError as exc:
            raise ResourceError(str(exc)) from exc

    @server.prompt()
    def cited_answer(question: str, collection: str = "default") -> str:
        """Answer a question from a Deepwell collection, with citations."""
        return (
            f"Use the deepwell search tool on collection {collection!r} to find passages about: {question}\n"
            "Read around promising hits with get_chunk. Answer only from what you read, and cite each claim "
            "with the hit's citation field. If the collection does not contain the answer, say so."
        )

    @server.prompt()
    def explore_document(collection: str, document: str) -> str:
        """Work through a long document without reading it all."""
        return (
            f"Call document_info and outline for document {document!r} in collection {collection!r}. "
            "Decide which sections matter, read them with read_range (by lines), and use grep for exact "
            "terms. Summarise what you found with line numbers."
        )

    return server


def _register_rlm(server: MCPServer, settings: Settings, dw: Deepwell, get_llm: Callable[[], Any]) -> None:
    """``rlm_answer``: a Recursive Language Model over a collection or a file, as a long-running tool."""
    try:
        from deepwell import rlm
    except ImportError as exc:
        if exc.name != "rlm":  # installed but broken: say so instead of silently dropping the tool
            log.warning("rlm_answer is unavailable: importing rlm failed: %s", exc)
        return
    if not hasattr(rlm, "answer_async"):
        return

    @server.tool(annotations=SLOW_READ)
    @_tool_errors
    async def rlm_answer(
        question: Question,
        ctx: Context,
        collection: Annotated[str | None, Field(description="Answer over this whole collection.")] = None,
        path: Annotated[
            str | None,
            Field(description="Or over one file, or a directory of them, under the allowed roots."),
        ] = None,
        mode: Annotated[
            Literal["auto", "actions", "code"] | None,
            Field(description="How the model explores the context; omit for the server's default."),
        ] = None,
    ) -> AnswerOut:
        """Answer over a context far larger than the model's window (Recursive Language Model)."""
        if (collection is None) == (path is None):
            raise InputError("Pass exactly one of collection or path.")
        if settings.rlm_mode != "auto" and mode not in (None, "auto", settings.rlm_mode):
            raise InputError(
                f"This server runs RLM in {settings.rlm_mode} mode only "
                f"(DEEPWELL_RLM_MODE={settings.rlm_mode}): model-written code has no isolated sandbox "
                "here. Omit mode or pass it."
            )
        mode = settings.rlm_mode if mode in (None, "auto") else mode
        context: Any
        if collection is not None:
            context = rlm.CollectionRef(collection)
        else:
            context = within_roots(path or "", settings.allowed_roots)
            if not context.is_dir() and (why := file_problem(context)) is not None:
                raise InputError(f"{path}: {why}; pass a regular file or a directory.")
        loop = asyncio.get_running_loop()
        steps = {"n": 0}

        def progress(step: dict[str, Any]) -> None:
            steps["n"] += 1
            msg = str(step.get("kind", "step"))
            asyncio.run_coroutine_threadsafe(ctx.report_progress(steps["n"], None, msg), loop)

        result = await rlm.answer_async(
            question, context, settings=settings, llm=await get_llm(), mode=mode, progress=progress, dw=dw
        )
        return AnswerOut(
            answer=result.answer,
            citations=list(getattr(result, "citations", []) or []),
            seconds=result.seconds,
            status=result.status,
            run_id=result.run_id,
            mode=result.mode,
            steps=result.steps,
            how=result.how,
        )
