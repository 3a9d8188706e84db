from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from deepwell.core.settings import Settings
from deepwell.reasoning import Completion, Usage
from deepwell.sdk import Deepwell


@dataclass
class ScriptedLLM:
    """A fake model for control-flow tests: root calls replay ``root`` in order (an exception in it is
    raised, as a real backend raises on garbled output); sub-calls use ``sub``."""

    root: list[str | Exception] = field(default_factory=list)
    sub: Callable[[str], str] = lambda prompt: "NONE"
    name: str = "scripted"
    n_ctx: int = 2048
    calls: list[str] = field(default_factory=list)

    async def complete(self, messages: list[dict[str, str]], **kw: Any) -> Completion:
        prompt = messages[-1]["content"]
        self.calls.append(prompt)
        is_root = messages[0]["role"] == "system"
        text = (self.root.pop(0) if self.root else "") if is_root else self.sub(prompt)
        if isinstance(text, Exception):
            raise text
        return Completion(text, usage=Usage(len(prompt) // 4, len(text) // 4))

    def count_tokens(self, text: str) -> int:
        return len(text) // 4


def haystack(n: int = 300, seed: int = 1, inserts: dict[int, str] | None = None) -> str:
    rng = random.Random(seed)
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dogs",
        "while",
        "rivers",
        "flow",
        "into",
        "quiet",
        "seas",
        "under",
        "grey",
        "skies",
    ]
    paras = [" ".join(rng.choice(words) for _ in range(60)) + "." for _ in range(n)]
    for pos, text in sorted((inserts or {}).items(), reverse=True):
        paras.insert(pos, text)
    return "\n\n".join(paras)


@pytest.fixture
def dw(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = Deepwell(Settings(data_dir=tmp_path / "data"))
    yield d
    d.close()


@pytest.fixture(scope="session")
def docker_sandbox() -> str:
    """The Docker sandbox's empty image, or a skip saying why Docker is unusable here.

    ``.ci/run`` sets DEEPWELL_REQUIRE_DOCKER=1 once it has the daemon running, so CI cannot skip these.
    """
    from deepwell.core.errors import SandboxError
    from deepwell.rlm.sandbox._docker import ensure_empty_image

    try:
        return ensure_empty_image()
    except SandboxError as exc:
        if os.environ.get("DEEPWELL_REQUIRE_DOCKER") == "1":
            pytest.fail(f"DEEPWELL_REQUIRE_DOCKER=1 but the Docker sandbox cannot run: {exc}")
        pytest.skip(str(exc))
