"""Store an answer's proposals and aggregations as a run, the way RLM runs are stored.

The steps use the field names the run renderer already shows (``name``, ``prompt``, ``answer``,
``error``), so ``deepwell runs show RUN_ID`` draws an ``ask`` or MoA run with the same tree, JSON and
HTML as an RLM run. Without a run log (``runs=None``) nothing is written.
"""

from __future__ import annotations

from typing import Any

from deepwell.storage import RunLog
from deepwell.storage import clip_step_data as _clip

__all__ = ["Recorder"]


class Recorder:
    def __init__(self, runs: RunLog | None, kind: str, question: str, info: dict[str, Any]) -> None:
        self.runs = runs
        self.run_id = runs.start(kind, question, _clip(info)) if runs is not None else None

    def step(
        self, kind: str, data: dict[str, Any], *, parent: int | None = None, seconds: float = 0.0
    ) -> int:
        if self.runs is None or self.run_id is None:
            return 0
        return self.runs.add_step(self.run_id, kind, _clip(data), parent_seq=parent, seconds=seconds)

    def finish(self, status: str, answer: str | None, info: dict[str, Any] | None = None) -> None:
        if self.runs is not None and self.run_id is not None:
            self.runs.finish(self.run_id, status, answer, _clip(info or {}))
