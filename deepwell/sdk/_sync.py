"""``Deepwell``: the blocking SDK. Local, it *is* the engine (store, models, indexes) and answers through
the same coroutines as ``AsyncDeepwell``, run on a private event loop; ``Deepwell.connect`` gives the same
API over a ``deepwell serve`` endpoint."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

from deepwell.core.errors import InputError
from deepwell.core.settings import Settings
from deepwell.sdk._async import AsyncDeepwell, LocalBackend
from deepwell.sdk._local import Engine

__all__ = ["Deepwell"]

P = ParamSpec("P")
R = TypeVar("R")


class _Portal:
    """An event loop in a daemon thread, started on first use. One loop for the object's life (not one
    ``asyncio.run`` per call) keeps loop-bound clients — an HTTP model backend, an MCP session — valid,
    and works where the caller already runs a loop (a notebook)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, R]) -> R:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="deepwell-sdk", daemon=True
                )
                self._thread.start()
            loop = self._loop
        if threading.current_thread() is self._thread:
            coro.close()
            raise InputError(
                "A blocking Deepwell call was made from one of its own callbacks; use AsyncDeepwell."
            )
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C: stop the run instead of leaving it going in the background
            raise

    def close(self) -> None:
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def _blocking(
    method: Callable[Concatenate[AsyncDeepwell, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Deepwell, P], R]:
    """The blocking twin of an ``AsyncDeepwell`` method: same signature, same docstring, same code."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Deepwell, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._portal.run(getattr(self._async, name)(*args, **kwargs))

    return call


def _awaitable(
    method: Callable[Concatenate[AsyncDeepwell, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[Deepwell, P], Coroutine[Any, Any, R]]:
    """The same method awaited on the caller's own loop (an MCP server, a notebook)."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Deepwell, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]:
        return getattr(self._async, name)(*args, **kwargs)  # type: ignore[no-any-return]

    return call


class Deepwell(Engine):
    """Deepwell in this process (``Deepwell(settings)``) or a client of a running server
    (``Deepwell.connect(url, token=...)``); ``AsyncDeepwell`` is the same API for event loops.

        with Deepwell(Settings(data_dir="./.deepwell")) as dw:
            dw.ingest(["docs/"], collection="docs")
            print(dw.ask("How often are keys rotated?", "docs").answer)
    """

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings)
        self._portal = _Portal()
        self._async = AsyncDeepwell(backend=LocalBackend(self))

    @classmethod
    def from_env(cls) -> Deepwell:
        return cls(Settings())

    @classmethod
    def connect(cls, url: str, token: str | None = None, *, timeout: float = 600.0) -> Deepwell:
        """A blocking client of the ``deepwell serve`` at ``url`` with the same methods and results
        (``token`` defaults to DEEPWELL_AUTH_TOKEN). A wrong token raises ``AuthError``, a server that
        cannot be reached ``RemoteError``."""
        return _RemoteDeepwell(AsyncDeepwell.connect(url, token, timeout=timeout))

    def close(self) -> None:
        self._portal.close()
        super().close()

    ask_async = _awaitable(AsyncDeepwell.ask)
    ask = _blocking(AsyncDeepwell.ask)
    moa = _blocking(AsyncDeepwell.moa)
    rlm = _blocking(AsyncDeepwell.rlm)
    runs = _blocking(AsyncDeepwell.runs)
    run = _blocking(AsyncDeepwell.run)


class _RemoteDeepwell(Deepwell):
    """``Deepwell.connect``: every call goes to the server; the local engine's internals do not exist."""

    def __init__(self, client: AsyncDeepwell) -> None:  # no engine: nothing local is opened
        self._portal = _Portal()
        self._async = client

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(
            f"{name!r} belongs to a local Deepwell; this one is a client of a server "
            "(use ingest, search, ask, moa, rlm, runs and run)."
        )

    def close(self) -> None:
        try:
            self._portal.run(self._async.aclose())
        finally:
            self._portal.close()

    # the server's tools take no local-only arguments (roots, fusion weights)
    ingest = _blocking(AsyncDeepwell.ingest)  # type: ignore[arg-type, assignment]
    search = _blocking(AsyncDeepwell.search)  # type: ignore[arg-type, assignment]
