"""The peer: the official Recursive Language Models library (PyPI ``rlms``) driving the same GGUF.

``rlms`` imports as ``rlm``, the name of Deepwell's own package, so it lives in its own virtual
environment (``bench/.cache/rlms-venv``, created on first use with ``python -m venv`` + ``pip install``)
and runs one task per subprocess through ``_rlms_runner.py``. The model is served by
``python -m llama_cpp.server`` on loopback from this venv — the same SmolLM2 GGUF, window and threads as
the in-process contenders — and the library reaches it with ``backend="openai"``.

Its REPL ``exec``s model-written code in the runner process; the runner starts in an empty temporary
directory and is killed (whole process group) when the per-task wall-clock cap passes, which the
library's own ``max_timeout`` (checked only between iterations) does not guarantee.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.rlm.contenders import Outcome, Unavailable, run_capped
from bench.rlm.tasks import Task

__all__ = ["RLMS_VERSION", "LlamaServer", "OfficialRLM", "ensure_rlms_venv"]

RLMS_VERSION = "0.1.3"
_RUNNER = Path(__file__).with_name("_rlms_runner.py")
_CACHE = Path(__file__).resolve().parent.parent / ".cache"


def ensure_rlms_venv(root: Path = _CACHE / "rlms-venv") -> Path:
    """The venv's python with ``rlms`` importable; builds the venv on first use (~1 min, needs PyPI)."""
    python = root / "bin" / "python"
    probe = [str(python), "-c", "import rlm, sys; sys.exit(0 if hasattr(rlm, 'RLM') else 1)"]
    if (
        python.exists()
        and subprocess.run(probe, capture_output=True, cwd=tempfile.gettempdir()).returncode == 0
    ):
        return python
    steps = [
        [sys.executable, "-m", "venv", str(root)],
        [str(python), "-m", "pip", "install", "-q", f"rlms=={RLMS_VERSION}"],
    ]
    for cmd in steps:
        print(f"rlms peer: {' '.join(cmd)}", file=sys.stderr)
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise Unavailable(f"could not build the rlms venv ({' '.join(cmd[:3])}): {' '.join(tail)}")
    if subprocess.run(probe, capture_output=True, cwd=tempfile.gettempdir()).returncode != 0:
        raise Unavailable(f"rlms=={RLMS_VERSION} installed in {root} but `import rlm` has no RLM")
    return python


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1 for the lifetime of the ``with`` block."""

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int, alias: str = "smollm2") -> None:
        self.model_path, self.n_ctx, self.n_threads, self.alias = model_path, n_ctx, n_threads, alias
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"deepwell-bench-llama-server-{self.port}.log"

    def __enter__(self) -> LlamaServer:
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.model_path), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads), "--flash_attn", "true",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise Unavailable(f"llama_cpp.server exited ({self._proc.returncode}); see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise Unavailable(f"llama_cpp.server did not answer within 90 s; see {self.log_path}")

    def __exit__(self, *_: Any) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._proc = None


class OfficialRLM:
    """One ``rlms`` ``RLM.completion(context, root_prompt=question)`` per task, in its own venv."""

    name = "rlms"

    def __init__(
        self, model_path: Path, n_ctx: int, n_threads: int, timeout: float, max_iterations: int = 30
    ):
        self.model_path, self.n_ctx, self.n_threads = model_path, n_ctx, n_threads
        self.timeout, self.max_iterations = timeout, max_iterations
        self._python: Path | None = None
        self._server: LlamaServer | None = None

    def prepare(self) -> None:
        try:
            import llama_cpp.server  # noqa: F401
        except ImportError as exc:
            raise Unavailable(
                f"llama_cpp.server is not importable ({exc}): pip install 'llama-cpp-python[server]==0.3.36'"
            ) from exc
        self._python = ensure_rlms_venv()
        self._server = LlamaServer(self.model_path, self.n_ctx, self.n_threads).__enter__()

    def answer(self, task: Task) -> Outcome:
        assert self._python is not None and self._server is not None
        request = {
            "context": task.context,
            "question": task.question,
            "base_url": self._server.base_url,
            "model": self._server.alias,
            "max_iterations": self.max_iterations,
            "max_timeout": self.timeout,
        }
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        with tempfile.TemporaryDirectory(prefix="rlms-run-") as scratch:
            reply, seconds, error = run_capped(
                [str(self._python), str(_RUNNER)], request, self.timeout + 20, Path(scratch), env
            )
        if reply is None:
            return Outcome(None, seconds, error)
        return Outcome(reply.get("answer"), seconds, reply.get("error"), {"usage": reply.get("usage")})

    def close(self) -> None:
        if self._server is not None:
            self._server.__exit__()
            self._server = None
