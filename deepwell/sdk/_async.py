"""``AsyncDeepwell``: the SDK's one implementation of ingest, search, ask, rlm, moa and runs.

It is written against a :class:`~deepwell.sdk._types.Backend` — the in-process engine or a
``deepwell serve`` endpoint — so the answering logic (which strategy, the fall-back) exists once, and
``Deepwell`` (sync) runs these same coroutines.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, cast

from deepwell.agents import METHODS, AskResult, Method
from deepwell.core.errors import InputError
from deepwell.core.settings import Settings
from deepwell.retrieval import IngestReport, SearchHit
from deepwell.retrieval.ingest import Progress
from deepwell.sdk._local import Engine
from deepwell.sdk._remote import RemoteBackend
from deepwell.sdk._strategy import STRATEGIES, Route, Strategy, route
from deepwell.sdk._types import Backend, RunInfo, StepProgress
from deepwell.storage import RunRecord

if TYPE_CHECKING:
    from deepwell.rlm import RLMResult

__all__ = ["AsyncDeepwell", "LocalBackend"]

_MIXTURES = ("self-moa", "self-moa-seq", "moa")


class LocalBackend:
    """The engine in this process: blocking work (database, embeddings) runs in worker threads, so the
    caller's event loop keeps serving while a search or an ingest runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        return await asyncio.to_thread(
            self.engine.ingest,
            paths,
            collection,
            include=include,
            exclude=exclude,
            progress=progress,
            on_chunks=on_chunks,
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
        return await asyncio.to_thread(
            self.engine.search, query, collection, mode=mode, k=k, rerank=rerank, filters=filters
        )

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
        return await self.engine.rag_async(
            question, collection, method=method, k=k, samples=samples, on_text=on_text
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
        from deepwell import rlm

        if collection not in {c.name for c in await asyncio.to_thread(self.engine.collections)}:
            raise InputError(f"No collection {collection!r}; ingest into it first.")
        llm = await asyncio.to_thread(lambda: self.engine.llm)
        return await rlm.answer_async(
            question,
            rlm.CollectionRef(collection),
            settings=self.engine.settings,
            llm=llm,
            mode=mode,  # type: ignore[arg-type]
            progress=progress,
            dw=self.engine,
            max_seconds=max_seconds,
        )

    async def runs(self, limit: int, kind: str | None) -> list[RunInfo]:
        rows = await asyncio.to_thread(self.engine.store.runs.list, kind, limit)
        return [RunInfo(r["id"], r["kind"], r["status"], r["question"], r["created_at"]) for r in rows]

    async def run(self, run_id: str) -> RunRecord:
        return await asyncio.to_thread(self.engine.store.runs.get, run_id)

    async def aclose(self) -> None:
        self.engine.close()


def _from_rlm(question: str, r: RLMResult) -> AskResult:
    """An RLM run as an ask result: its status as the run ended (answered, not_found, uncertain,
    budget_exhausted:<which>, error), its evidence (heading paths and the text read) kept."""
    return AskResult(
        question,
        r.answer,
        r.status,
        method=f"rlm:{r.mode}",
        run_id=r.run_id,
        seconds=r.seconds,
        evidence=list(r.citations),
    )


class AsyncDeepwell:
    """Deepwell from an event loop: local (``AsyncDeepwell(settings)``) or a running ``deepwell serve``
    (``AsyncDeepwell.connect(url, token=...)``), with the same methods and typed results either way.

        async with AsyncDeepwell(Settings(data_dir="./.deepwell")) as dw:
            await dw.ingest(["docs/"], collection="docs")
            r = await dw.ask("How often are keys rotated?", "docs")
    """

    def __init__(self, settings: Settings | None = None, *, backend: Backend | None = None) -> None:
        self._backend: Backend = backend or LocalBackend(Engine(settings))

    @classmethod
    def connect(cls, url: str, token: str | None = None, *, timeout: float = 600.0) -> Self:
        """A client of the ``deepwell serve`` at ``url`` (``token`` defaults to DEEPWELL_AUTH_TOKEN).
        Nothing is sent until the first call; a wrong token raises ``AuthError``, no server
        ``RemoteError``."""
        return cls(backend=RemoteBackend(url, token, timeout=timeout))

    @property
    def engine(self) -> Engine:
        """The local engine (store, models, indexes); a remote client has none."""
        if not isinstance(self._backend, LocalBackend):
            raise InputError("This Deepwell is a client of a remote server: it has no local engine.")
        return self._backend.engine

    async def __aenter__(self) -> Self:
        if isinstance(self._backend, RemoteBackend):
            await self._backend.__aenter__()  # one MCP session for the whole block
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._backend.aclose()

    # the API --------------------------------------------------------------------------------------------
    async def ingest(
        self,
        paths: Sequence[str | Path],
        collection: str = "default",
        *,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        progress: Progress | None = None,
        on_chunks: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and directories (on the server's disk, under its allowed roots, when remote)."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        return await self._backend.ingest(
            paths, collection, include=include, exclude=exclude, progress=progress, on_chunks=on_chunks
        )

    async def search(
        self,
        query: str,
        collection: str = "default",
        *,
        mode: str = "hybrid",
        k: int = 10,
        rerank: bool = False,
        filters: dict[str, Any] | None = None,
    ) -> list[SearchHit]:
        return await self._backend.search(query, collection, mode=mode, k=k, rerank=rerank, filters=filters)

    async def ask(
        self,
        question: str,
        collection: str = "default",
        *,
        strategy: Strategy = "auto",
        method: Method = "self-moa",
        k: int = 4,
        samples: int = 3,
        max_seconds: float | None = None,
        on_text: Callable[[str], None] | None = None,
        progress: StepProgress | None = None,
        on_route: Callable[[Route], None] | None = None,
    ) -> AskResult:
        """Answer ``question`` from ``collection``; ``strategy`` picks the way (see ``deepwell ask --help``).

        ``auto`` answers from the top-``k`` passages (``rag``, with ``method``) unless the question needs
        the whole collection — counting, ranking, listing all, which part holds something — and then
        runs an RLM over it (``rlm``); when the first way finds no supported answer it tries the other.
        ``result.strategy`` and ``result.why`` say which way answered and why. ``on_text`` streams a
        single-sample draft, ``progress`` receives RLM steps, ``on_route`` each way as it is taken.
        """
        if strategy not in STRATEGIES:
            raise InputError(f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.")
        if method not in METHODS:
            raise InputError(f"Unknown method {method!r}; use one of {', '.join(METHODS)}.")
        if not question or not question.strip():
            raise InputError("The question is empty; ask something, e.g. 'how often are keys rotated?'")
        if strategy != "auto":
            first = Route(strategy, f"forced with strategy={strategy}")
        else:
            first = route(question, await self.search(question, collection, k=k))

        async def take(way: Route) -> AskResult:
            if on_route is not None:
                on_route(way)
            if way.strategy == "rlm":
                r = _from_rlm(
                    question, await self.rlm(question, collection, max_seconds=max_seconds, progress=progress)
                )
            else:
                m = (method if method in _MIXTURES else "moa") if way.strategy == "moa" else method
                r = await self._backend.rag(
                    question, collection, method=cast(Method, m), k=k, samples=samples, on_text=on_text
                )
            return dataclasses.replace(r, strategy=way.strategy, why=way.why)

        result = await take(first)
        if strategy != "auto" or result.status in ("answered", "error"):
            return result
        if first.strategy == "rag":
            other = Route("rlm", f"{first.why}, but none of the top {k} held a supported answer")
        else:
            other = Route("rag", f"{first.why}, but the RLM run ended {result.status}")
        second = await take(other)
        if second.status == "answered":
            return second
        return dataclasses.replace(result, why=f"{result.why}; then {other.strategy}: {second.status} too")

    async def moa(
        self,
        question: str,
        collection: str = "default",
        *,
        method: Method = "moa",
        k: int = 4,
        samples: int = 3,
    ) -> AskResult:
        """Mixture-of-Agents over the top-``k`` passages: ``moa`` (the models in DEEPWELL_MOA_MODELS),
        ``self-moa`` or ``self-moa-seq`` (samples of the default model), checked and cited like ask."""
        if method not in _MIXTURES:
            raise InputError(f"moa takes method self-moa, self-moa-seq or moa, not {method!r}.")
        return await self.ask(question, collection, strategy="moa", method=method, k=k, samples=samples)

    async def rlm(
        self,
        question: str,
        collection: str = "default",
        *,
        mode: str = "auto",
        max_seconds: float | None = None,
        progress: StepProgress | None = None,
    ) -> RLMResult:
        """A Recursive Language Model run over the whole of ``collection``; every step is stored."""
        if mode not in ("auto", "actions", "code", "plain"):
            raise InputError(f"Unknown mode {mode!r}; use auto, actions, code or plain.")
        return await self._backend.rlm(
            question, collection, mode=mode, max_seconds=max_seconds, progress=progress
        )

    async def runs(self, limit: int = 20, *, kind: str | None = None) -> list[RunInfo]:
        """The latest stored runs of every kind (ask, moa, rlm), newest first."""
        return await self._backend.runs(limit, kind)

    async def run(self, run_id: str) -> RunRecord:
        """One stored run with all its steps (a unique prefix of the id is enough)."""
        return await self._backend.run(run_id)
