"""Running the server: stdio for desktop clients, streamable HTTP (optional bearer token) for the rest."""

from __future__ import annotations

import hmac
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepwell.core.settings import Settings
from deepwell.mcp_servers._server import build_server

if TYPE_CHECKING:
    from deepwell.sdk import Deepwell

__all__ = ["http_app", "run_stdio", "serve_http"]

log = logging.getLogger(__name__)


def run_stdio(settings: Settings | None = None) -> None:
    """Serve over stdin/stdout; every log line goes to stderr so the protocol stream stays clean."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build_server(settings or Settings()).run("stdio")


class _BearerAuth:
    """Refuse requests without ``Authorization: Bearer <token>``, except the health check."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") != "/health":
            got = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(got, self.expected):
                body = b'{"error": "missing or wrong bearer token; send Authorization: Bearer <token>"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(settings: Settings, token: str | None = None, dw: Deepwell | None = None) -> Any:
    """The ASGI app: ``/mcp`` (streamable HTTP) and ``/health``.

    ``/health`` asks the database too: a replica whose store is unreachable answers 503, so a load
    balancer or compose stops sending it work instead of letting every tool call fail.
    """
    import anyio
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    from deepwell.sdk import Deepwell

    dw = dw or Deepwell(settings)
    server = build_server(settings, dw)

    @server.custom_route("/health", methods=["GET"])
    async def health(_: Request) -> JSONResponse:
        try:
            await anyio.to_thread.run_sync(dw.store.ping)
        except Exception as exc:
            return JSONResponse(
                {"status": "error", "server": "deepwell", "database": f"{type(exc).__name__}: {exc}"[:300]},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "server": "deepwell", "database": dw.store.dialect})

    app = server.streamable_http_app(
        host=settings.http_host,
        max_sessions=settings.http_max_sessions,
        session_idle_timeout=settings.http_session_idle_seconds,
    )
    return _BearerAuth(app, token) if token else app


def serve_http(
    settings: Settings,
    host: str,
    port: int,
    token: str | None,
    ingest: Sequence[Path] = (),
    ingest_collection: str = "corpus",
) -> None:
    """Serve until stopped; ``ingest`` paths are brought up to date first (unchanged files are skipped),
    so a container that mounts a corpus answers from it as soon as its health check passes."""
    import uvicorn

    from deepwell.sdk import Deepwell

    dw = Deepwell(settings)
    if ingest:
        report = dw.ingest(list(ingest), ingest_collection)
        log.warning("ingested %s into %r: %s", ", ".join(map(str, ingest)), ingest_collection, report.summary)
    app = http_app(settings, token, dw)
    if not token and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning(
            "Serving on %s without a token: anyone who can reach this port can read and change your "
            "collections. Pass --token or set DEEPWELL_AUTH_TOKEN.",
            host,
        )
    log.warning("Deepwell MCP on http://%s:%d/mcp%s", host, port, " (bearer token required)" if token else "")
    uvicorn.run(app, host=host, port=port, log_level="warning")
