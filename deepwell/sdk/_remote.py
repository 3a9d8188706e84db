"""A ``deepwell serve`` endpoint as a backend: MCP over streamable HTTP, tool results mapped back to the
SDK's typed results, transport failures turned into errors that say what to do."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepwell.agents import AskResult, Citation, Method
from deepwell.core.errors import AuthError, DeepwellError, InputError, RemoteError
from deepwell.retrieval import IngestReport, SearchHit
from deepwell.retrieval.ingest import Progress
from deepwell.sdk._types import RunInfo, StepProgress
from deepwell.storage import RunRecord, StepRecord

if TYPE_CHECKING:
    from mcp import Client

    from deepwell.rlm import RLMResult

__all__ = ["RemoteBackend"]


def _endpoint(url: str) -> str:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InputError(
            f"{url!r} is not an http(s) URL; pass the server's address, e.g. http://127.0.0.1:8765"
        )
    return url if url.endswith("/mcp") else url + "/mcp"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, the members of exception groups and their causes, flattened."""
    out, todo = [], [exc]
    while todo:
        e = todo.pop()
        if e in out:
            continue
        out.append(e)
        todo += list(getattr(e, "exceptions", ()))
        todo += [c for c in (e.__cause__, e.__context__) if c is not None]
    return out


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


def _maybe_time(value: Any) -> datetime | None:
    return None if value is None else _time(value)


class RemoteBackend:
    """One MCP session per call (or one for an ``async with`` block): sessions are tied to the task
    that opened them, and a sync caller's calls each run as their own task."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 600.0) -> None:
        self.url = _endpoint(url)
        self.token = token if token is not None else os.environ.get("DEEPWELL_AUTH_TOKEN") or None
        self.timeout = timeout
        self._held: Client | None = None

    # the session ------------------------------------------------------------------------------------
    @asynccontextmanager
    async def _open(self) -> AsyncIterator[Client]:
        import httpx2  # the HTTP client mcp 2.x is written for
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        statuses: list[int] = []  # the MCP client reports a refused request without its HTTP status

        async def seen(response: httpx2.Response) -> None:
            if response.status_code >= 400:
                statuses.append(response.status_code)

        try:
            async with (
                httpx2.AsyncClient(
                    headers=headers, timeout=self.timeout, event_hooks={"response": [seen]}
                ) as http,
                Client(streamable_http_client(self.url, http_client=http)) as client,
            ):
                yield client
        except DeepwellError:
            raise
        except Exception as exc:
            raise self._explain(exc, statuses) from exc

    def _explain(self, exc: BaseException, statuses: Sequence[int] = ()) -> DeepwellError:
        import httpx2  # the HTTP client mcp 2.x is written for

        if 401 in statuses:
            return AuthError(
                f"The Deepwell server at {self.url} refused the bearer token (401): "
                + (
                    "pass the token it was started with, Deepwell.connect(url, token=...)."
                    if self.token
                    else "it requires one; pass token=... or set DEEPWELL_AUTH_TOKEN."
                )
            )
        if statuses:
            return RemoteError(
                f"The server at {self.url} answered HTTP {statuses[-1]}; is it a `deepwell serve` endpoint "
                "(MCP at /mcp)?"
            )
        for e in _causes(exc):
            if isinstance(e, (httpx2.ConnectError, httpx2.ConnectTimeout)):
                return RemoteError(
                    f"Cannot reach a Deepwell server at {self.url} ({e}); start one with `deepwell serve` "
                    "or check the address."
                )
            if isinstance(e, httpx2.TimeoutException):
                return RemoteError(f"The server at {self.url} did not answer within {self.timeout:.0f}s.")
        leaf = next((e for e in _causes(exc) if not isinstance(e, BaseExceptionGroup)), exc)
        return RemoteError(f"The MCP call to {self.url} failed: {type(leaf).__name__}: {leaf}")

    async def __aenter__(self) -> RemoteBackend:
        self._cm = self._open()
        self._held = await self._cm.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        held, self._held = self._held, None
        if held is not None:
            await self._cm.__aexit__(*exc)

    async def aclose(self) -> None:
        await self.__aexit__(None, None, None)

    async def _call(self, tool: str, args: dict[str, Any], progress: Any = None) -> dict[str, Any]:
        try:
            if self._held is not None:
                r = await self._held.call_tool(tool, args, progress_callback=progress)
            else:
                async with self._open() as client:
                    r = await client.call_tool(tool, args, progress_callback=progress)
        except DeepwellError:
            raise
        except Exception as exc:
            raise self._explain(exc) from exc
        if r.is_error:
            text = " ".join(getattr(c, "text", "") for c in r.content) or "no message"
            raise RemoteError(f"{tool} failed on the server: {text}")
        return dict(r.structured_content or {})

    # the tools ----------------------------------------------------------------------------------------
    async def ingest(
        self,
        paths: Sequence[str | Path],
        collection: str,
        *,
        include: list[str] | None,
        exclude: list[str] | None,
        progress: Progress | None,
        on_chunks: Callable[[int], None] | None,
    ) -> IngestReport:
        if exclude:
            raise InputError("exclude= is not supported over MCP; pass include= globs instead.")

        async def note(done: float, total: float | None, message: str | None) -> None:
            if progress is not None:
                progress(message or "", int(done), int(total or 0))

        out = await self._call(
            "ingest",
            {"paths": [str(p) for p in paths], "collection": collection, "include": include},
            note,
        )
        return IngestReport(
            added=out["added"],
            updated=out["updated"],
            unchanged=out["unchanged"],
            chunks=out["chunks"],
            skipped=[(p, why) for p, why in out.get("skipped", [])],
        )

    async def search(
        self,
        query: str,
        collection: str,
        *,
        mode: str,
        k: int,
        rerank: bool,
        filters: dict[str, Any] | None,
    ) -> list[SearchHit]:
        out = await self._call(
            "search",
            {
                "query": query,
                "collection": collection,
                "mode": mode,
                "k": k,
                "rerank": rerank,
                "filters": filters,
            },
        )
        return [SearchHit(**{k: v for k, v in h.items() if k != "citation"}) for h in out["hits"]]

    async def rag(
        self,
        question: str,
        collection: str,
        *,
        method: Method,
        k: int,
        samples: int,
        on_text: Callable[[str], None] | None,
    ) -> AskResult:
        out = await self._call(
            "ask", {"question": question, "collection": collection, "k": k, "method": method}
        )
        cites = [
            Citation(
                n=c["n"],
                uri=c["uri"],
                title=c.get("title", ""),
                document_id=c.get("document_id", 0),
                chunk_id=c.get("chunk_id", 0),
                chunk=c["chunk"],
                char_start=c["char_start"],
                char_end=c["char_end"],
                text=c.get("text", ""),
                score=c.get("score", 0.0),
            )
            for c in out["citations"]
        ]
        return AskResult(
            question,
            out["answer"],
            out["status"],
            citations=cites,
            method=out.get("mode") or method,
            run_id=out.get("run_id"),
            seconds=out["seconds"],
        )

    async def rlm(
        self,
        question: str,
        collection: str,
        *,
        mode: str,
        max_seconds: float | None,
        progress: StepProgress | None,
    ) -> RLMResult:
        from deepwell.rlm import RLMResult

        async def note(done: float, total: float | None, message: str | None) -> None:
            if progress is not None:
                progress({"seq": int(done), "kind": message or "step"})

        args: dict[str, Any] = {"question": question, "collection": collection}
        if mode != "auto":
            args["mode"] = mode
        out = await self._call("rlm_answer", args, note)
        return RLMResult(
            out["answer"],
            out["status"],
            out.get("run_id") or "",
            out.get("mode") or mode,
            out["seconds"],
            out.get("steps") or 0,
            citations=out["citations"],
            how=out.get("how") or "",
        )

    async def runs(self, limit: int, kind: str | None) -> list[RunInfo]:
        out = await self._call("list_runs", {"limit": limit, "kind": kind})
        return [
            RunInfo(
                r["id"], r["kind"], r.get("status"), r.get("question", ""), _maybe_time(r.get("created_at"))
            )
            for r in out["runs"]
        ]

    async def run(self, run_id: str) -> RunRecord:
        r = await self._call("get_run", {"run_id": run_id})
        return RunRecord(
            id=r["id"],
            kind=r["kind"],
            question=r["question"],
            status=r["status"],
            answer=r.get("answer"),
            info=r.get("info") or {},
            created_at=_time(r["created_at"]),
            finished_at=_maybe_time(r.get("finished_at")),
            steps=[
                StepRecord(
                    s["seq"],
                    s.get("parent_seq"),
                    s["kind"],
                    s.get("data") or {},
                    s["seconds"],
                    _time(s["created_at"]),
                )  # type: ignore[arg-type]
                for s in r["steps"]
            ],
        )
