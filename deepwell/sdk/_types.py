"""What every way of reaching Deepwell provides: the in-process engine and a ``deepwell serve`` endpoint.

``AsyncDeepwell`` (and through it ``Deepwell``) is written once against :class:`Backend`; the two
backends only translate, so local and remote return the same typed results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from deepwell.agents import AskResult, Method
from deepwell.retrieval import IngestReport, SearchHit
from deepwell.retrieval.ingest import Progress
from deepwell.storage import RunRecord

if TYPE_CHECKING:  # rlm loads on the first RLM run, not with the SDK
    from deepwell.rlm import RLMResult

__all__ = ["Backend", "RunInfo", "StepProgress"]

StepProgress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RunInfo:
    """One stored run (ask, moa, rlm) as listed; ``Deepwell.run(id)`` gives its steps."""

    id: str
    kind: str
    status: str | None
    question: str
    created_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Backend(Protocol):
    async def ingest(
        self,
        paths: Sequence[str | Path],
        collection: str,
        *,
        include: list[str] | None,
        exclude: list[str] | None,
        progress: Progress | None,
        on_chunks: Callable[[int], None] | None,
    ) -> IngestReport: ...

    async def search(
        self,
        query: str,
        collection: str,
        *,
        mode: str,
        k: int,
        rerank: bool,
        filters: dict[str, Any] | None,
    ) -> list[SearchHit]: ...

    async def rag(
        self,
        question: str,
        collection: str,
        *,
        method: Method,
        k: int,
        samples: int,
        on_text: Callable[[str], None] | None,
    ) -> AskResult: ...

    async def rlm(
        self,
        question: str,
        collection: str,
        *,
        mode: str,
        max_seconds: float | None,
        progress: StepProgress | None,
    ) -> RLMResult: ...

    async def runs(self, limit: int, kind: str | None) -> list[RunInfo]: ...

    async def run(self, run_id: str) -> RunRecord: ...

    async def aclose(self) -> None: ...
