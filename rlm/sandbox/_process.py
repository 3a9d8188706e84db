"""``ProcessSandbox``: model-written Python in a separate, locked-down, persistent REPL process.

The host side of the JSON-lines protocol. The child (``_child.py``) is untrusted once user code has run,
so every message from it is validated and bounded here. A crash, hang, memory blow-up or limit hit never
raises: ``execute`` returns an ``ExecResult`` that says what happened, and the next ``execute`` starts a
fresh REPL (its result says that the earlier variables are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from deepwell.core.errors import SandboxError
from deepwell.rlm.sandbox._protocol import ExecResult, HostFunction, SandboxLimits

__all__ = ["ProcessSandbox"]

log = logging.getLogger(__name__)
_CHILD_SOURCE = Path(__file__).with_name("_child.py")
_REPL_SOURCE = Path(__file__).with_name("_repl.py")
# The child's program arrives on stdin (length line, then source), keeping command lines short in `ps`.
# Read byte-wise so nothing past the program is buffered away from the child's own protocol reader.
_BOOT = (
    "import os\nn = b''\nwhile not n.endswith(b'\\n'):\n    n += os.read(0, 1)\nsrc = b''\n"
    "while len(src) < int(n):\n    src += os.read(0, int(n) - len(src))\n"
    "exec(compile(src, '<sandbox>', 'exec'))\n"
)
_MAX_MESSAGE = 64 * 2**20
_STDERR_TAIL = 4000
_OPTIONAL_LAYERS = frozenset({"namespaces", "seccomp", "audit-hook"})
_RESTART_NOTE = "Note: the REPL was restarted because the previous one ended; earlier variables are gone."


class ProcessSandbox:
    """A persistent REPL in a child process, isolated with what the kernel offers (see ``_child.py``).

    ``disable`` switches off layers (``namespaces``, ``seccomp``, ``audit-hook``): for hosts whose kernel
    forbids one, and for tests that check the other layers hold on their own.

    With a mount namespace the REPL's ``/scratch`` is a private tmpfs of ``limits.scratch_mb`` (so many
    small files cannot fill the host's disk either) and is emptied when the REPL ends; ``scratch_dir`` is
    the host directory used in its place when namespaces are disabled or refused.

    ``inputs`` (e.g. the long context) are written once to a read-only directory and loaded by the child,
    so tens of megabytes never go through a command line or the protocol pipe. ``host_functions`` become
    callables in the REPL; their exceptions arrive there as ``HostError``.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        scratch_dir: str | Path | None = None,
        host_functions: Mapping[str, HostFunction] | None = None,
        inputs: Mapping[str, Any] | None = None,
        disable: Iterable[str] = (),
        allow_weak: bool = False,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.allow_weak = allow_weak
        self.host_functions = dict(host_functions or {})
        self.disabled = frozenset(disable)
        unknown = self.disabled - _OPTIONAL_LAYERS
        if unknown:
            raise SandboxError(
                f"Unknown sandbox layer(s) {sorted(unknown)} in disable=; "
                f"choose from {sorted(_OPTIONAL_LAYERS)}."
            )
        self.layers: list[str] = []
        self.restarts = 0
        names = [*self.host_functions, *(inputs or {})]
        for name in names:
            if not name.isidentifier() or name.startswith("_"):
                raise SandboxError(
                    f"{name!r} cannot be a name in the sandbox: "
                    "use a Python identifier without a leading '_'."
                )
        if len(set(names)) != len(names):
            raise SandboxError("An input and a host function share a name; rename one of them.")
        self._root = Path(tempfile.mkdtemp(prefix="deepwell-sandbox-"))
        os.chmod(self._root, 0o755)
        self._own_scratch = scratch_dir is None
        self.scratch = Path(scratch_dir) if scratch_dir is not None else self._root / "scratch"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._inputs_dir = self._root / "inputs"
        self._inputs_dir.mkdir(mode=0o755)
        (self._root / "root").mkdir(mode=0o755)
        self._input_files, input_bytes = self._write_inputs(dict(inputs or {}))
        # a str of n UTF-8 bytes needs up to 4n in memory while decoding, JSON more; headroom keeps the
        # user's memory_mb for the user's own work
        self._memory_bytes = self.limits.memory_mb * 2**20 + 5 * input_bytes
        self._uid, self._gid = _nobody()
        self._proc: asyncio.subprocess.Process | None = None
        self._inner_pid: int | None = None
        self._stderr_tail = bytearray()
        self._stderr_task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._step = 0
        self._closed = False
        self._ended = False

    # lifecycle ---------------------------------------------------------------------------------------
    async def __aenter__(self) -> ProcessSandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the REPL; raises ``SandboxError`` with the reason if it cannot start at all."""
        if self._closed:
            raise SandboxError("This sandbox was closed; create a new ProcessSandbox.")
        if self._proc is not None and self._proc.returncode is None and not self._ended:
            return
        try:
            await self._spawn()
        except SandboxError:
            await self._stop()
            raise
        except (OSError, ValueError) as exc:
            await self._stop()
            raise SandboxError(f"The sandbox REPL could not be started: {exc}.") from exc
        missing = [x for x in self.layers if x.startswith("no-") and x != "no-ctypes"]
        if not self.holds():
            if not self.allow_weak:
                await self._stop()
                raise SandboxError(_weak_message(missing))
            log.warning("sandbox running with weaker isolation, as accepted: %s", ", ".join(missing))
        elif missing:
            log.warning("sandbox started with weaker isolation: %s", ", ".join(missing))
        log.debug("sandbox layers: %s", ", ".join(self.layers))

    def holds(self) -> bool:
        """Whether the host's files are out of reach by more than the audit hook: a container, or a mount
        namespace with a minimal root entered as ``nobody`` (or with every capability dropped)."""
        if any(x.startswith("docker(") for x in self.layers):
            return True
        return "minimal-root" in self.layers and bool({"nobody", "no-capabilities"} & set(self.layers))

    async def restart(self) -> None:
        """End the current REPL (losing its variables) and start a fresh one."""
        async with self._lock:
            await self._stop()
            self.restarts += 1
            await self.start()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._stop()
        shutil.rmtree(self._root, ignore_errors=True)
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    # the step ----------------------------------------------------------------------------------------
    async def execute(self, code: str) -> ExecResult:
        """Run ``code`` in the REPL. Never raises for anything the code does; see ``ExecResult``."""
        if not isinstance(code, str):
            raise SandboxError(f"execute() takes Python source as str, got {type(code).__name__}.")
        if self._closed:
            raise SandboxError("This sandbox was closed; create a new ProcessSandbox.")
        async with self._lock:
            t0 = time.perf_counter()
            restarted = False
            if self._proc is None or self._proc.returncode is not None or self._ended:
                restarted = self._proc is not None
                await self._stop()
                if restarted:
                    self.restarts += 1
                try:
                    await self.start()
                except SandboxError as exc:
                    return ExecResult(error=str(exc), killed=True, seconds=time.perf_counter() - t0)
            try:
                result = await self._exchange(code, t0)
            except asyncio.CancelledError:
                await self._stop()  # the REPL is mid-step; it cannot be trusted to resync
                raise
            if restarted:
                result.restarted = True
                result.notice = _RESTART_NOTE + "\n" + result.notice if result.notice else _RESTART_NOTE
            return result

    async def _exchange(self, code: str, t0: float) -> ExecResult:
        self._step += 1
        step = f"{self._step}-{secrets.token_hex(8)}"
        try:
            await self._send({"type": "exec", "code": code, "step": step})
        except (BrokenPipeError, ConnectionResetError):
            return await self._died(t0)
        wall = self.limits.wall_seconds + self.limits.kill_grace_seconds
        host_time = 0.0
        while True:
            remaining = t0 + wall + host_time - time.perf_counter()
            if remaining <= 0:
                await self._stop()
                return ExecResult(
                    error=f"Timed out: the step ran past its {self.limits.wall_seconds:g}s wall-clock limit "
                    "and ignored the interruption, so the REPL was stopped; its variables are lost. "
                    "Do less per step.",
                    timed_out=True,
                    killed=True,
                    seconds=time.perf_counter() - t0,
                )
            try:
                msg = await self._recv(remaining)
            except TimeoutError:
                continue
            except _Oversized:
                await self._stop()
                return ExecResult(
                    error=f"The REPL sent a message over {_MAX_MESSAGE // 2**20} MB and was stopped; its "
                    "variables are lost. Pass smaller values to host functions.",
                    killed=True,
                    seconds=time.perf_counter() - t0,
                )
            if msg is None:
                return await self._died(t0)
            kind = msg.get("type")
            if kind == "call":
                h0 = time.perf_counter()
                reply = await self._host_call(msg)
                host_time += time.perf_counter() - h0
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    await self._send(reply)
            elif kind == "done" and msg.get("step") == step:
                return self._done(msg, t0)
            elif kind == "done":  # a late reply, or one forged by the model's code: not this step's
                log.debug("dropped a done message for another step")

    def _done(self, msg: dict[str, Any], t0: float) -> ExecResult:
        cap = self.limits.max_output_chars + 200
        value = msg.get("value")
        return ExecResult(
            stdout=_text(msg.get("stdout"), cap),
            stderr=_text(msg.get("stderr"), cap),
            value=_text(value, cap) if value is not None else None,
            error=_text(msg.get("error"), 8000) or None,
            timed_out=msg.get("timed_out") is True,
            seconds=time.perf_counter() - t0,
            variables=_variables(msg.get("variables")),
        )

    async def _died(self, t0: float) -> ExecResult:
        rc = await self._reap()
        tail = bytes(self._stderr_tail).decode("utf-8", "replace").strip()
        await self._stop()
        why = _death(rc, self.limits)
        if tail and rc not in (0, None) and "Fatal Python error" in tail:
            why += " Interpreter said: " + tail[-500:]
        return ExecResult(error=why, killed=True, seconds=time.perf_counter() - t0)

    async def _host_call(self, msg: dict[str, Any]) -> dict[str, Any]:
        name, args, kwargs = msg.get("name"), msg.get("args"), msg.get("kwargs")
        tag = msg.get("id")
        if not isinstance(name, str) or name not in self.host_functions:
            return {"type": "error", "error": f"there is no host function {name!r}", "id": tag}
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"type": "error", "error": "malformed call", "id": tag}
        fn = self.host_functions[name]
        timeout = self.limits.host_call_timeout
        try:
            if inspect.iscoroutinefunction(fn):
                value = await asyncio.wait_for(fn(*args, **kwargs), timeout)
            else:
                value = await asyncio.wait_for(asyncio.to_thread(fn, *args, **kwargs), timeout)
                if inspect.isawaitable(value):
                    value = await asyncio.wait_for(value, timeout)
        except TimeoutError:
            return {
                "type": "error",
                "error": f"TimeoutError: {name} took longer than {timeout:g}s",
                "id": tag,
            }
        except Exception as exc:  # the model's code sees it as HostError and can react
            return {"type": "error", "error": f"{type(exc).__name__}: {exc}", "id": tag}
        return {"type": "result", "value": value, "id": msg.get("id")}

    # process plumbing ---------------------------------------------------------------------------------
    def _write_inputs(self, inputs: dict[str, Any]) -> tuple[dict[str, str], int]:
        files: dict[str, str] = {}
        total = 0
        for name, value in inputs.items():
            if isinstance(value, str):
                data, suffix = value.encode("utf-8", "surrogatepass"), ".txt"
            elif isinstance(value, bytes | bytearray | memoryview):
                data, suffix = bytes(value), ".bin"
            else:
                try:
                    data, suffix = (
                        json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                        ".json",
                    )
                except (TypeError, ValueError) as exc:
                    raise SandboxError(
                        f"Input {name!r} must be str, bytes or a JSON value (list, dict, numbers): {exc}."
                    ) from exc
            path = self._inputs_dir / (name + suffix)
            path.write_bytes(data)
            path.chmod(0o444)
            files[name] = path.name
            total += len(data)
        return files, total

    def _config(self) -> dict[str, Any]:
        lim = self.limits
        return {
            "namespaces": "namespaces" not in self.disabled,
            "seccomp": "seccomp" not in self.disabled,
            "audit_hook": "audit-hook" not in self.disabled,
            "root_dir": str(self._root / "root"),
            "scratch": str(self.scratch.resolve()),
            "inputs_dir": str(self._inputs_dir),
            "inputs": self._input_files,
            "prefix": os.path.realpath(sys.base_prefix),
            "uid": self._uid,
            "gid": self._gid,
            "memory_bytes": self._memory_bytes,
            "file_bytes": int(lim.file_size_mb * 2**20),
            "scratch_bytes": int(lim.scratch_mb * 2**20),
            "max_open_files": int(lim.max_open_files),
            "max_processes": int(lim.max_processes),
            "lifetime_cpu_seconds": int(lim.lifetime_cpu_seconds),
            "cpu_seconds": float(lim.cpu_seconds),
            "wall_seconds": float(lim.wall_seconds),
            "max_output_chars": int(lim.max_output_chars),
            "max_message_bytes": _MAX_MESSAGE // 2,
            "host_functions": sorted(self.host_functions),
            "repl": _REPL_SOURCE.read_text(),
        }

    def _command(self, python: str, env: dict[str, str]) -> list[str]:
        """The command line that starts the child interpreter (a container runtime wraps it)."""
        return [python, "-I", "-S", "-B", "-c", _BOOT]

    async def _spawn(self) -> None:
        exe = os.path.realpath(sys.executable)
        base = Path(os.path.realpath(sys.base_prefix)) / "bin" / Path(exe).name
        if base.exists():
            exe = str(base)  # the base interpreter: a venv's would need the venv's files in the sandbox
        # one malloc arena: glibc reserves 64 MB of address space per extra arena, which RLIMIT_AS counts
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "1"}
        self._stderr_tail = bytearray()
        self._ended = False
        self._inner_pid = None
        self._proc = await asyncio.create_subprocess_exec(
            *self._command(exe, env),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd="/",
            start_new_session=True,
            limit=_MAX_MESSAGE,
        )
        self._stderr_task = asyncio.create_task(self._drain_stderr())
        assert self._proc.stdin is not None
        program = _CHILD_SOURCE.read_bytes()
        self._proc.stdin.write(b"%d\n" % len(program) + program)
        await self._send(self._config())
        deadline = time.perf_counter() + 30
        while True:
            try:
                msg = await self._recv(max(0.0, deadline - time.perf_counter()))
            except (TimeoutError, _Oversized):
                msg = None
            if msg is not None and msg.get("type") == "launched" and isinstance(msg.get("pid"), int):
                self._inner_pid = msg["pid"]
                continue
            if msg is not None and msg.get("type") == "ready":
                layers = msg.get("layers")
                self.layers = [str(x) for x in layers] if isinstance(layers, list) else []
                return
            rc = await self._reap()
            tail = bytes(self._stderr_tail).decode("utf-8", "replace").strip()[-1500:]
            detail = msg.get("error") if msg is not None and msg.get("type") == "fatal" else tail
            raise SandboxError(
                f"The sandbox REPL did not start (exit status {rc}): {detail or 'no message'}. "
                "If the kernel refuses a layer here, leave it out with disable={'namespaces'} or "
                "disable={'seccomp'}."
            )

    async def _drain_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        stream = self._proc.stderr
        with contextlib.suppress(Exception):
            while chunk := await stream.read(65536):
                self._stderr_tail += chunk
                del self._stderr_tail[:-_STDERR_TAIL]

    async def _send(self, msg: dict[str, Any]) -> None:
        if self._proc is None or self._proc.stdin is None:
            raise BrokenPipeError("the REPL is not running")
        try:
            data = json.dumps(msg, ensure_ascii=False, default=str)
        except (TypeError, ValueError) as exc:
            data = json.dumps({"type": "error", "error": f"the host could not encode the reply: {exc}"})
        self._proc.stdin.write(data.encode("utf-8", "surrogatepass") + b"\n")
        await self._proc.stdin.drain()

    async def _recv(self, timeout: float) -> dict[str, Any] | None:
        """The next message, ``None`` at end of stream; raises ``TimeoutError`` or ``_Oversized``."""
        if self._proc is None or self._proc.stdout is None:
            return None
        while True:
            try:
                line = await asyncio.wait_for(self._proc.stdout.readline(), timeout)
            except ValueError as exc:  # the line did not fit the stream's limit
                raise _Oversized from exc
            if not line:
                return None
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):  # garbage or a nesting bomb from model code: not a message
                continue
            if isinstance(msg, dict):
                return msg

    async def _reap(self) -> int | None:
        if self._proc is None:
            return None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), 5)
        return self._proc.returncode

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if (
            proc.returncode is None
            and self._inner_pid is not None
            and _parent_of(self._inner_pid) == proc.pid
        ):
            # the REPL itself, if it ever left the process group (only possible without seccomp)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self._inner_pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()

    async def _stop(self) -> None:
        """Kill the REPL's processes and forget them; safe to call at any time."""
        self._kill()
        await self._reap()
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
        if self._stderr_task is not None:
            self._stderr_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._stderr_task
            self._stderr_task = None
        self._ended = True


class _Oversized(Exception):
    pass


def _weak_message(missing: list[str]) -> str:
    return (
        "Code mode needs an isolation layer that holds, and this host lacks it: "
        f"{', '.join(missing) or 'no mount namespace'}. Without a mount namespace, a minimal root and an "
        "unprivileged user, only seccomp and the audit hook would stand between model-written code and "
        "this machine's files. Run code in the Docker sandbox (DEEPWELL_RLM_SANDBOX=docker); or let the "
        "process sandbox create namespaces (a host that allows unshare, or a container started with "
        "--cap-add SYS_ADMIN --security-opt seccomp=unconfined --security-opt apparmor=unconfined); or "
        "answer in actions mode (mode='actions', no code runs); or accept the weaker isolation "
        "explicitly with DEEPWELL_RLM_WEAK_SANDBOX=1."
    )


def _nobody() -> tuple[int, int]:
    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return 65534, 65534


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _text(value: object, cap: int) -> str:
    s = value if isinstance(value, str) else ("" if value is None else str(value))
    return s if len(s) <= cap else s[:cap] + "…[cut]"


def _variables(raw: object) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for name, info in list(raw.items())[:200]:
        if isinstance(name, str) and isinstance(info, dict):
            n = info.get("len")
            out[name[:100]] = {
                "type": _text(info.get("type"), 100),
                "len": n if isinstance(n, int) else None,
                "repr": _text(info.get("repr"), 200),
            }
    return out


def _death(rc: int | None, limits: SandboxLimits) -> str:
    sig: signal.Signals | None = None
    with contextlib.suppress(ValueError):
        if rc is not None and rc < 0:
            sig = signal.Signals(-rc)
        elif rc is not None and rc > 128:
            sig = signal.Signals(rc - 128)
    end = "Its variables are lost; the next step starts a fresh REPL."
    if sig is None:
        return f"The REPL process exited (status {rc}). {end}"
    why = {
        signal.SIGXCPU: f"it used up its CPU time ({limits.lifetime_cpu_seconds}s over the REPL's life)",
        signal.SIGKILL: "it was killed (out of time or memory)",
        signal.SIGSEGV: "it crashed (segmentation fault, often a too-deep recursion)",
        signal.SIGABRT: f"it aborted (often out of memory; the limit is {limits.memory_mb} MB)",
        signal.SIGXFSZ: f"it wrote a file larger than {limits.file_size_mb} MB",
        signal.SIGSYS: "it made a system call the sandbox forbids",
    }.get(sig, f"it received {sig.name}")
    return f"The REPL process died: {why}. {end}"
