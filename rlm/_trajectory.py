"""Every step of a run, persisted as it happens (so a crash still leaves the trajectory)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deepwell.storage import RunLog
from deepwell.storage import clip_step_data as _clip

__all__ = ["Trajectory"]


class Trajectory:
    def __init__(
        self,
        runs: RunLog,
        question: str,
        info: dict[str, Any],
        progress: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.runs = runs
        self.run_id = runs.start("rlm", question, _clip(info))
        self.progress = progress
        self.count = 0

    def step(
        self, kind: str, data: dict[str, Any], *, parent: int | None = None, seconds: float = 0.0
    ) -> int:
        seq = self.runs.add_step(self.run_id, kind, _clip(data), parent_seq=parent, seconds=seconds)
        self.count += 1
        if self.progress:
            try:
                self.progress(
                    {
                        "seq": seq,
                        "kind": kind,
                        "parent": parent,
                        "parent_seq": parent,
                        "data": data,
                        "summary": str(data)[:160],
                    }
                )
            except Exception:  # a broken progress callback must not break the run
                self.progress = None
        return seq

    def finish(self, status: str, answer: str | None, info: dict[str, Any]) -> None:
        self.runs.finish(self.run_id, status, answer, _clip(info))
