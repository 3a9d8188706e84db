"""What every sandbox offers the RLM: limits in, ``ExecResult`` out, behind one small ``Protocol``.

A second implementation (say, a container) only has to run code in a persistent REPL, route the
REPL's calls to ``host_functions`` and report every failure as an ``ExecResult`` instead of raising.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from deepwell.core.errors import SandboxError

__all__ = ["ExecResult", "HostFunction", "Sandbox", "SandboxLimits"]

HostFunction = Callable[..., Any] | Callable[..., Awaitable[Any]]
"""A host function the REPL may call: sync or async, JSON-serialisable arguments and result."""


@dataclass(frozen=True)
class SandboxLimits:
    """Per-step and per-process limits; each one is enforced in the child and backed up by the host.

    ``cpu_seconds`` and ``wall_seconds`` first interrupt the step inside the REPL (variables are kept);
    if the code ignores that, the host kills the process ``kill_grace_seconds`` later (variables lost).
    ``lifetime_cpu_seconds`` is a hard kernel limit over the life of one REPL process, because a
    persistent process cannot have a per-step hard CPU limit. Time spent inside host functions does not
    count against ``wall_seconds``; each call is bounded by ``host_call_timeout`` instead.
    """

    cpu_seconds: float = 20.0
    wall_seconds: float = 30.0
    memory_mb: int = 768
    file_size_mb: int = 16
    scratch_mb: int = 64
    max_output_chars: int = 8000
    max_processes: int = 32
    max_open_files: int = 64
    lifetime_cpu_seconds: int = 1200
    host_call_timeout: float = 300.0
    kill_grace_seconds: float = 2.0

    def __post_init__(self) -> None:
        for name in (
            "cpu_seconds",
            "wall_seconds",
            "memory_mb",
            "file_size_mb",
            "scratch_mb",
            "max_output_chars",
            "max_processes",
            "max_open_files",
            "lifetime_cpu_seconds",
            "host_call_timeout",
            "kill_grace_seconds",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise SandboxError(f"SandboxLimits.{name} must be a positive number, got {value!r}.")
        if self.memory_mb < 64:
            raise SandboxError(f"SandboxLimits.memory_mb={self.memory_mb} is too small; use at least 64.")
        if self.max_open_files < 16:
            raise SandboxError(
                "SandboxLimits.max_open_files must be at least 16 (the REPL itself needs some)."
            )


@dataclass
class ExecResult:
    """What one step did. ``error`` is a message for the model; it is never raised."""

    stdout: str = ""
    stderr: str = ""
    value: str | None = None
    """Bounded repr of the step's last expression, as an interactive interpreter would echo it."""
    error: str | None = None
    timed_out: bool = False
    killed: bool = False
    """The REPL process ended (limit, crash, ``os._exit``); the next step starts a fresh one."""
    restarted: bool = False
    """This step ran in a fresh REPL because the previous one ended: earlier variables are gone."""
    seconds: float = 0.0
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    notice: str = ""
    """A line for the model about the REPL itself (e.g. that it was restarted); empty if nothing happened."""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and not self.killed


@runtime_checkable
class Sandbox(Protocol):
    """A persistent, isolated Python REPL whose code can call back into the host."""

    layers: list[str]
    """The isolation mechanisms active for the current REPL process, e.g. ``["net-ns", "seccomp"]``."""

    async def start(self) -> None: ...

    async def execute(self, code: str) -> ExecResult: ...

    async def restart(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Sandbox: ...

    async def __aexit__(self, *exc: object) -> None: ...
