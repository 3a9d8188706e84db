"""``ProcessSandbox``: model-written Python in a separate, locked-down, persistent REPL process.

A crash, hang, memory blow-up or limit hit never propagates: ``execute`` returns an ``ExecResult`` that
says what happened, and the next ``execute`` starts a fresh REPL (state lost, and the result says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rlm.sandbox._isolation import Isolation, make_preexec

__all__ = ["ExecResult", "ProcessSandbox", "Sandbox", "SandboxLimits"]

log = logging.getLogger(__name__)
_CHILD = Path(__file__).with_name("_child.py")


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    memory_mb: int = 768
    file_size_mb: int = 16
    max_output_chars: int = 8000
    max_processes: int = 16
    host_call_timeout: float = 300.0


@dataclass
class ExecResult:
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    timed_out: bool = False
    killed: bool = False
    seconds: float = 0.0
    variables: dict[str, Any] = field(default_factory=dict)
    notice: str = ""
    notice: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and not self.killed


class Sandbox(Protocol):
    async def execute(self, code: str) -> ExecResult: ...

    async def close(self) -> None: ...


class ProcessSandbox:
    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        scratch_dir: str | Path | None = None,
        host_functions: dict[str, Callable[..., Any]] | None = None,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self._own_scratch = scratch_dir is None
        # mount points live in a fresh directory an unprivileged user can traverse; the scratch
        # directory itself may sit anywhere (it is bind-mounted onto ``<root>/scratch`` in the child)
        self.root = Path(tempfile.mkdtemp(prefix="deepwell-sandbox-"))
        os.chmod(self.root, 0o755)
        self.scratch = Path(scratch_dir) if scratch_dir else self.root / "data"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._scratch_mount = self.root / "scratch"
        self._scratch_mount.mkdir()
        self._py_mount = self.root / "python"
        self._py_mount.mkdir()
        self.host_functions = dict(host_functions or {})
        self._inputs = inputs or {}
        self._input_files: dict[str, str] = {}
        self._proc: asyncio.subprocess.Process | None = None
        self.layers: list[str] = []
        self._restarts = 0

    async def __aenter__(self) -> ProcessSandbox:
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # process management ----------------------------------------------------------------------------
    def _write_inputs(self) -> None:
        for name, value in self._inputs.items():
            if isinstance(value, str):
                path = self.scratch / f".input-{name}.txt"
                path.write_text(value, encoding="utf-8")
            else:
                path = self.scratch / f".input-{name}.json"
                path.write_text(json.dumps(value), encoding="utf-8")
            self._input_files[name] = str(path)
        input_bytes = sum(Path(p).stat().st_size for p in self._input_files.values())
        self._memory = self.limits.memory_mb * 2**20 + 6 * input_bytes
        if os.getuid() == 0:
            for p in [self.scratch, *self.scratch.iterdir()]:
                os.chown(p, 65534, 65534)

    def _interpreter(self) -> tuple[Path, str]:
        """The real interpreter and its prefix, so the child can run it from the bind mount."""
        exe = Path(os.path.realpath(sys.executable))
        prefix = Path(os.path.realpath(sys.base_prefix))
        inside = self._py_mount / exe.relative_to(prefix)
        return prefix, str(inside) if os.getuid() == 0 else str(exe)

    async def _start(self) -> None:
        if not self._input_files:
            self._write_inputs()
        prefix, exe_inside = self._interpreter()
        iso = Isolation(
            scratch=self.scratch,
            scratch_mount=self._scratch_mount,
            py_prefix=prefix,
            py_mount=self._py_mount,
            memory_bytes=self._memory,
            cpu_seconds=self.limits.cpu_seconds * 50,
            file_bytes=self.limits.file_size_mb * 2**20,
            processes=self.limits.max_processes,
        )
        r, w = os.pipe()
        preexec = make_preexec(iso, w)
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
        }
        child_src = _CHILD.read_text(encoding="utf-8")
        self._proc = await asyncio.create_subprocess_exec(
            exe_inside,
            "-I",
            "-S",
            "-c",
            child_src,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd="/",
            preexec_fn=preexec,
            pass_fds=(w,),
            limit=2**24,
        )
        os.close(w)
        with os.fdopen(r) as status:
            self.layers = status.read().strip().split(",")
        isolated = "namespaces" in self.layers
        seen = self._scratch_mount if isolated else self.scratch
        cfg = {
            "scratch": str(seen),
            "readable": [],
            "max_output_chars": self.limits.max_output_chars,
            "host_functions": sorted(self.host_functions),
            "inputs": {k: str(seen / Path(v).name) for k, v in self._input_files.items()},
        }
        await self._send(cfg)
        msg = await self._recv(timeout=30)
        if msg is None or msg.get("type") != "ready":
            raise RuntimeError(f"the sandbox REPL did not start (layers: {self.layers})")

    async def _send(self, msg: dict[str, Any]) -> None:
        assert self._proc and self._proc.stdin
        self._proc.stdin.write((json.dumps(msg, default=repr) + "\n").encode())
        await self._proc.stdin.drain()

    async def _recv(self, timeout: float) -> dict[str, Any] | None:
        assert self._proc and self._proc.stdout
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
        except (TimeoutError, ValueError):
            return None
        if not line:
            return None
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            return {"type": "garbage"}

    def _kill(self) -> None:
        if self._proc and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()

    async def _reap(self) -> int | None:
        if self._proc is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), 5)
        return self._proc.returncode

    # execution ----------------------------------------------------------------------------------------
    async def _host_call(self, msg: dict[str, Any]) -> dict[str, Any]:
        fn = self.host_functions.get(str(msg.get("name")))
        if fn is None:
            return {"type": "error", "error": f"no host function {msg.get('name')!r}"}
        try:
            args, kwargs = list(msg.get("args") or []), dict(msg.get("kwargs") or {})
            if inspect.iscoroutinefunction(fn):
                value = await asyncio.wait_for(fn(*args, **kwargs), self.limits.host_call_timeout)
            else:
                value = await asyncio.wait_for(
                    asyncio.to_thread(fn, *args, **kwargs), self.limits.host_call_timeout
                )
            json.dumps(value, default=str)
            return {"type": "result", "value": value}
        except Exception as exc:  # reported to the model's code as HostError
            return {"type": "error", "error": f"{type(exc).__name__}: {exc}"}

    async def execute(self, code: str) -> ExecResult:
        t0 = time.perf_counter()
        restarted = ""
        if self._proc is None or self._proc.returncode is not None:
            if self._proc is not None:
                self._restarts += 1
                restarted = "Note: the REPL was restarted after a failure; earlier variables are gone.\n"
            await self._start()
        await self._send({"type": "exec", "code": code})
        deadline = t0 + self.limits.wall_seconds
        host_time = 0.0
        while True:
            remaining = deadline + host_time - time.perf_counter()
            if remaining <= 0:
                self._kill()
                await self._reap()
                return ExecResult(
                    error=f"{restarted}Timed out after {self.limits.wall_seconds:.0f}s of wall time; "
                    "the REPL was stopped and its variables are lost. Do less per step.",
                    timed_out=True,
                    seconds=time.perf_counter() - t0,
                )
            msg = await self._recv(timeout=remaining)
            if msg is None:
                assert self._proc is not None and self._proc.stdout is not None
                if not self._proc.stdout.at_eof():
                    continue  # no message yet and the pipe is open: the wall-clock check above decides
                self._kill()
                rc = await self._reap()
                return ExecResult(
                    error=restarted + _death(rc, self.limits), killed=True, seconds=time.perf_counter() - t0
                )
            if msg.get("type") == "call":
                h0 = time.perf_counter()
                reply = await self._host_call(msg)
                host_time += time.perf_counter() - h0
                try:
                    await self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    continue
            elif msg.get("type") == "done":
                return ExecResult(
                    stdout=msg.get("stdout", ""),
                    stderr=msg.get("stderr", ""),
                    error=msg.get("error"),
                    seconds=time.perf_counter() - t0,
                    variables=msg.get("variables") or {},
                    notice=restarted,
                )

    async def close(self) -> None:
        self._kill()
        await self._reap()
        shutil.rmtree(self.root, ignore_errors=True)
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _death(rc: int | None, limits: SandboxLimits) -> str:
    if rc is not None and rc < 0:
        sig = signal.Signals(-rc).name
        why = {
            "SIGXCPU": f"it used more than its CPU time limit ({limits.cpu_seconds}s per step)",
            "SIGKILL": f"it was killed (most often the {limits.memory_mb} MB memory limit)",
            "SIGSEGV": "it crashed (segmentation fault)",
            "SIGXFSZ": f"it wrote a file larger than {limits.file_size_mb} MB",
        }.get(sig, f"it received {sig}")
        return f"The REPL process died: {why}. Its variables are lost; the next step starts a fresh REPL."
    return f"The REPL process exited (code {rc}). Its variables are lost; the next step starts a fresh REPL."
