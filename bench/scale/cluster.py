"""Start and stop a loopback Deepwell cluster: llama.cpp servers (``python -m llama_cpp.server`` with the
packaged GGUF) and ``deepwell serve`` replicas over one database, plus the MCP client that talks to them.

Shared by the scale-out test (tests/scale) and the scale-out benchmark (``python -m bench.scale``) so both
run exactly the same processes with the same settings.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from mcp import Client

ROOT = Path(__file__).resolve().parents[2]
LLM_ALIAS = "smollm2"

__all__ = ["LLM_ALIAS", "Servers", "call", "free_port", "mcp_client"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Servers:
    """The server processes of one run; leaving the ``with`` block stops them all (terminate, then kill).

    Servers start without waiting, so several load at once; :meth:`wait_ready` then waits for all of them.
    """

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self._ready: list[str] = []
        self._logs: dict[str, Path] = {}

    def __enter__(self) -> Servers:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the running servers have used so far (Linux /proc; NaN elsewhere)."""
        total = 0.0
        for p in self.procs:
            try:
                fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return math.nan
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def llm(self, model: str | None = None, *, threads: int = 1, n_ctx: int = 4096) -> str:
        """Start one llama.cpp server (the packaged SmolLM2 by default); returns its OpenAI base URL."""
        if model is None:
            from deepwell.reasoning import resolve_model_path

            model = str(resolve_model_path("smollm2-135m"))
        port = free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", model, "--port", str(port)]
        cmd += ["--n_threads", str(threads), "--n_ctx", str(n_ctx), "--model_alias", LLM_ALIAS]
        self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}/v1"
        self._ready.append(f"{base}/models")
        return base

    def deepwell(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        llm_urls: list[str] | None = None,
        allowed_roots: Path | None = None,
        token: str | None = None,
        log: Path | None = None,
    ) -> str:
        """Start one ``deepwell serve`` replica; returns its base URL (MCP at ``/mcp``).

        ``database_url`` None means the replica's own SQLite store under ``data_dir``; ``llm_urls`` makes
        its LLM the OpenAI-compatible pool over those servers. One torch thread per replica, so replicas
        and model servers share the cores instead of each trying to use them all.
        """
        env = {
            **os.environ,
            "DEEPWELL_DATA_DIR": str(data_dir),
            "DEEPWELL_TORCH_THREADS": "1",
            "HF_HUB_OFFLINE": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
        }
        env.pop("DEEPWELL_DATABASE_URL", None)
        if database_url:
            env["DEEPWELL_DATABASE_URL"] = database_url
        if llm_urls:
            env |= {
                "DEEPWELL_LLM_BACKEND": "openai",
                "DEEPWELL_LLM_BASE_URL": ",".join(llm_urls),
                "DEEPWELL_LLM_API_MODEL": LLM_ALIAS,
            }
        if allowed_roots is not None:
            env["DEEPWELL_ALLOWED_ROOTS"] = str(allowed_roots)
        if token:
            env["DEEPWELL_AUTH_TOKEN"] = token
        port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "deepwell", "serve", "--port", str(port)],
                env=env,
                cwd=str(data_dir),  # not the checkout: its deepwell/ would shadow PYTHONPATH's
                stdout=subprocess.DEVNULL,
                stderr=log.open("wb") if log else subprocess.DEVNULL,
            )
        )
        url = f"http://127.0.0.1:{port}"
        self._ready.append(f"{url}/health")
        if log:
            self._logs[f"{url}/health"] = log
        return url

    def wait_ready(self, seconds: float = 300) -> None:
        """Wait until every server started so far answers; a server that exits fails at once."""
        end = time.monotonic() + seconds
        for url in self._ready:
            while True:
                if any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"a server exited early while waiting for {url}{self._tail(url)}")
                try:
                    if httpx.get(url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > end:
                    raise TimeoutError(f"{url} did not come up in {seconds:.0f}s{self._tail(url)}")
                time.sleep(0.5)
        self._ready.clear()

    def _tail(self, url: str) -> str:
        log = self._logs.get(url)
        if log is None or not log.exists():
            return ""
        return "; its log ends:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])


def mcp_client(url: str, token: str | None = None) -> Client:
    """An MCP streamable-HTTP client for a replica at ``url`` (bearer token when given)."""
    import httpx2  # the HTTP client the MCP SDK is typed against (it installs it)
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=600)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


async def call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    """Call a tool; a tool error raises with the server's message."""
    r = await client.call_tool(tool, args)
    if r.is_error:
        text = getattr(r.content[0], "text", r.content[0]) if r.content else r
        raise RuntimeError(f"{tool}: {text}")
    return r.structured_content or {}
