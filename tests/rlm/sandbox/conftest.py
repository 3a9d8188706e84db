"""A sandbox with real host functions (sync and async) and a small context, fresh for every test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from deepwell.rlm.sandbox import SANDBOXES, ExecResult, ProcessSandbox, SandboxLimits

# generous time limits so that a loaded CI machine does not turn ordinary steps into timeouts; the
# timeout cases use FAST
LIMITS = SandboxLimits(
    cpu_seconds=5,
    wall_seconds=10,
    memory_mb=256,
    file_size_mb=1,
    scratch_mb=4,
    max_output_chars=2000,
    kill_grace_seconds=1,
)


async def llm_query(prompt: str) -> str:
    await asyncio.sleep(0)
    return f"answer to {prompt}"


async def llm_query_batched(prompts: list[str]) -> list[str]:
    return list(await asyncio.gather(*(llm_query(p) for p in prompts)))


def grep(pattern: str, text: str) -> list[str]:
    return [line for line in text.splitlines() if pattern in line]


def boom() -> None:
    raise ValueError("host function failed")


FAST = SandboxLimits(cpu_seconds=0.5, wall_seconds=1, kill_grace_seconds=1, memory_mb=256)

HOST = {"llm_query": llm_query, "llm_query_batched": llm_query_batched, "grep": grep, "boom": boom}


NO_NAMESPACES = "process-no-namespaces"
"""The process sandbox as it runs where the kernel refuses ``unshare`` (a default Docker container, some
CI hosts): no mount, PID or network namespace, no minimal root, no uid drop, so the audit hook and seccomp
are all that stand. Forced here with ``disable={"namespaces"}`` and explicitly accepted with
``allow_weak=True``, which nothing outside the tests (and the operator's own opt-in) does."""


def make_sandbox(kind: str, limits: SandboxLimits, **kwargs: Any) -> ProcessSandbox:
    if kind == NO_NAMESPACES:
        return ProcessSandbox(limits, disable={"namespaces"}, allow_weak=True, **kwargs)
    return SANDBOXES[kind](limits, **kwargs)


@pytest.fixture(scope="session", params=[*sorted(SANDBOXES), NO_NAMESPACES])
def kind(request: pytest.FixtureRequest) -> str:
    """Every red-team attack runs against each sandbox implementation, and without namespaces."""
    if request.param == "docker":
        request.getfixturevalue("docker_sandbox")
    return str(request.param)


@pytest.fixture
async def sb(tmp_path: Path, kind: str) -> AsyncIterator[ProcessSandbox]:
    box = make_sandbox(
        kind,
        LIMITS,
        scratch_dir=tmp_path / "box",
        host_functions=HOST,
        inputs={"context": "the secret number is 42"},
    )
    async with box:
        yield box


@pytest.fixture
async def fast(tmp_path: Path, kind: str) -> AsyncIterator[ProcessSandbox]:
    async with make_sandbox(kind, FAST, scratch_dir=tmp_path / "fast", host_functions=HOST) as box:
        yield box


async def still_fine(sb: ProcessSandbox) -> ExecResult:
    """The host survived and the sandbox answers (restarting if the attack ended the REPL)."""
    r = await sb.execute("print('alive', 6 * 7)")
    assert r.ok and "alive 42" in r.stdout, r
    return r
