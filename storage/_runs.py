"""Persistence of orchestrator runs (RLM, agents): every step, so a run can be inspected afterwards."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from deepwell.core.errors import NotFoundError
from deepwell.storage._models import Run, RunStep

__all__ = ["RunLog", "RunRecord", "StepRecord", "clip_step_data"]

_MAX_FIELD = 4000


def clip_step_data(value: Any, max_chars: int = _MAX_FIELD) -> Any:
    """Bound what one step stores: long strings are cut (saying by how much), long lists end at 200."""
    if isinstance(value, str) and len(value) > max_chars:
        return value[:max_chars] + f"…[{len(value) - max_chars} more chars]"
    if isinstance(value, dict):
        return {k: clip_step_data(v, max_chars) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clip_step_data(v, max_chars) for v in list(value)[:200]]
    return value


@dataclass(frozen=True)
class StepRecord:
    seq: int
    parent_seq: int | None
    kind: str
    data: dict[str, Any]
    seconds: float
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    question: str
    status: str
    answer: str | None
    info: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepRecord]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RunLog:
    """Append-only log of runs and their steps; each call is its own short transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def start(self, kind: str, question: str, info: dict[str, Any] | None = None) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self._sessions() as s, s.begin():
            s.add(Run(id=run_id, kind=kind, question=question, info=info or {}))
        return run_id

    def add_step(
        self,
        run_id: str,
        kind: str,
        data: dict[str, Any],
        *,
        parent_seq: int | None = None,
        seconds: float = 0.0,
    ) -> int:
        with self._sessions() as s, s.begin():
            seq = (s.scalar(select(func.max(RunStep.seq)).where(RunStep.run_id == run_id)) or 0) + 1
            s.add(
                RunStep(run_id=run_id, seq=seq, parent_seq=parent_seq, kind=kind, data=data, seconds=seconds)
            )
        return seq

    def finish(
        self, run_id: str, status: str, answer: str | None, info: dict[str, Any] | None = None
    ) -> None:
        with self._sessions() as s, s.begin():
            run = s.get(Run, run_id)
            if run is None:
                raise NotFoundError(f"No run {run_id!r}.")
            run.status = status
            run.answer = answer
            if info:
                run.info = {**(run.info or {}), **info}
            run.finished_at = datetime.now(UTC)

    def get(self, run_id: str) -> RunRecord:
        with self._sessions() as s:
            run = s.get(Run, run_id)
            if run is None:
                run = s.scalar(select(Run).where(Run.id.startswith(run_id)))
            if run is None:
                raise NotFoundError(f"No run {run_id!r}. List runs with `deepwell rlm runs`.")
            return RunRecord(
                id=run.id,
                kind=run.kind,
                question=run.question,
                status=run.status,
                answer=run.answer,
                info=dict(run.info or {}),
                created_at=run.created_at,
                finished_at=run.finished_at,
                steps=[
                    StepRecord(st.seq, st.parent_seq, st.kind, dict(st.data or {}), st.seconds, st.created_at)
                    for st in run.steps
                ],
            )

    def list(self, kind: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        with self._sessions() as s:
            q = select(Run.id, Run.kind, Run.status, Run.question, Run.created_at).order_by(
                Run.created_at.desc()
            )
            if kind:
                q = q.where(Run.kind == kind)
            return [
                {"id": r[0], "kind": r[1], "status": r[2], "question": r[3], "created_at": r[4]}
                for r in s.execute(q.limit(limit))
            ]
