"""The systems the RLM benchmark compares, behind one small interface.

``base``        the model alone, the context cut to what fits its window (the paper's base-model row);
``rag``         plain RAG: the context split into ~250-token chunks, bm25s top-k into the same model;
``dw-code``     Deepwell's RLM in code mode, and ``dw-actions`` in action mode, through
                :func:`run_deepwell_rlm` — imported lazily so the benchmark runs before and without it —
                in a child process per task, killed at the same wall-clock cap as the peer;
``rlms``        the official library (see ``peer_rlms``).

Every contender answers one task at a time and returns an :class:`Outcome`; a failure (timeout, crash,
context overflow) is an outcome with ``error`` set and scores 0, never an exception out of the run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.rlm.tasks import Task
from deepwell.core.errors import DeepwellError

__all__ = [
    "BaseModel",
    "DeepwellRLM",
    "Outcome",
    "PlainRAG",
    "Unavailable",
    "chunk_text",
    "run_capped",
    "run_deepwell_rlm",
]

_REPO = Path(__file__).resolve().parents[2]
_SYSTEM = "You answer questions about the text you are given. Reply with the answer only, no explanation."


class Unavailable(Exception):
    """A contender cannot run here; the message says why (shown as ``unavailable: <reason>``)."""


@dataclass
class Outcome:
    answer: str | None
    seconds: float
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Contender(Protocol):
    name: str

    def prepare(self) -> None:
        """Load what the contender needs, or raise :class:`Unavailable`."""

    def answer(self, task: Task) -> Outcome: ...

    def close(self) -> None: ...


class _Model:
    """The same SmolLM2 for base and RAG, through the reasoning core (llama.cpp in this process)."""

    def __init__(self, settings: Any, max_tokens: int = 48) -> None:
        self.settings = settings
        self.max_tokens = max_tokens
        self.sync: Any = None

    def load(self) -> None:
        if self.sync is None:
            from deepwell.reasoning import SyncLLM, load_llm

            try:
                self.sync = SyncLLM(load_llm(self.settings))
            except DeepwellError as exc:
                raise Unavailable(str(exc)) from exc

    @property
    def n_ctx(self) -> int:
        return int(self.sync.llm.n_ctx)

    def ask(self, text: str, question: str) -> str:
        messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": f"{text}\n\nQuestion: {question}"},
        ]
        return self.sync.complete(messages, max_tokens=self.max_tokens, temperature=0.0).text.strip()

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
            self.sync = None


def _timed(fn: Callable[[], str]) -> Outcome:
    t = time.perf_counter()
    try:
        answer = fn()
    except DeepwellError as exc:
        return Outcome(None, time.perf_counter() - t, f"{type(exc).__name__}: {exc}")
    return Outcome(answer, time.perf_counter() - t)


class BaseModel:
    """The model with the head of the context that fits its window (the rest is cut)."""

    name = "base"

    def __init__(self, model: _Model, counter: Any) -> None:
        self.model, self.counter = model, counter

    def prepare(self) -> None:
        self.model.load()

    def answer(self, task: Task) -> Outcome:
        def run() -> str:
            room = self.model.n_ctx - self.model.max_tokens - self.counter.count(task.question) - 96
            return self.model.ask(self.counter.truncate(task.context, room), task.question)

        return _timed(run)

    def close(self) -> None:
        self.model.close()


def chunk_text(text: str, max_chars: int = 1000) -> list[str]:
    """Paragraph-packed chunks of at most ``max_chars`` (~250 tokens); long paragraphs are cut."""
    chunks: list[str] = []
    current = ""
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        while len(para) > max_chars:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(para[:max_chars])
            para = para[max_chars:]
        if not para:
            continue
        if current and len(current) + len(para) + 2 > max_chars:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks


class PlainRAG:
    """bm25s over the context's chunks, top-k into the model. The index is built once per context."""

    name = "rag"

    def __init__(self, model: _Model, k: int = 3) -> None:
        self.model, self.k = model, k
        self._index: tuple[int, Any, list[str]] | None = None

    def prepare(self) -> None:
        import bm25s  # noqa: F401

        self.model.load()

    def _retriever(self, context: str) -> tuple[Any, list[str]]:
        import bm25s
        import Stemmer

        if self._index is None or self._index[0] != id(context):
            chunks = chunk_text(context)
            stemmer = Stemmer.Stemmer("english")
            retriever = bm25s.BM25()
            retriever.index(
                bm25s.tokenize(chunks, stopwords="en", stemmer=stemmer, show_progress=False),
                show_progress=False,
            )
            self._index = (id(context), (retriever, stemmer), chunks)
        return self._index[1], self._index[2]

    def answer(self, task: Task) -> Outcome:
        import bm25s

        def run() -> str:
            (retriever, stemmer), chunks = self._retriever(task.context)
            query = bm25s.tokenize([task.question], stopwords="en", stemmer=stemmer, show_progress=False)
            ids, _ = retriever.retrieve(query, k=min(self.k, len(chunks)), show_progress=False)
            excerpts = "\n\n".join(f"[{i + 1}] {chunks[j]}" for i, j in enumerate(ids[0]))
            return self.model.ask(f"Excerpts from the text:\n\n{excerpts}", task.question)

        return _timed(run)

    def close(self) -> None:
        self.model.close()


def _deepwell_rlm(question: str, context: Any, mode: str, timeout: float, **kwargs: Any) -> Any:
    from deepwell import rlm

    return rlm.answer(question, context, mode=mode, max_seconds=timeout, **kwargs)


def run_deepwell_rlm(
    question: str, context: str, mode: str, *, timeout: float = 60.0, **kwargs: Any
) -> tuple[str, float]:
    """Ask Deepwell's RLM one question: ``(answer, seconds)``.

    Calls ``rlm.answer(question, context, mode="code"|"actions", max_seconds=timeout, **kwargs)``
    (``settings``, ``dw``, ``llm`` pass through).
    """
    t = time.perf_counter()
    result = _deepwell_rlm(question, context, mode, timeout, **kwargs)
    return str(result.answer), time.perf_counter() - t


class DeepwellRLM:
    """Deepwell's RLM in one mode, one child process per task (``_dw_worker``) killed at the cap.

    Runs are stored under ``data_dir`` (``DEEPWELL_DATA_DIR=DIR deepwell rlm show RUN_ID``).
    """

    def __init__(self, mode: str, timeout: float, data_dir: Path, grace: float = 15.0) -> None:
        self.mode, self.timeout, self.data_dir, self.grace = mode, timeout, data_dir, grace
        self.name = f"dw-{mode}"

    def prepare(self) -> None:
        """Nothing to check: Deepwell's RLM ships with the package being benchmarked."""

    def answer(self, task: Any) -> Outcome:
        request = {
            "question": task.question,
            "context": task.context,
            "mode": self.mode,
            "timeout": self.timeout,
            "data_dir": str(self.data_dir),
        }
        if getattr(task, "context_path", None):  # a directory context of the real suite: pass the folder
            request["context_path"] = task.context_path
        reply, seconds, error = run_capped(
            [sys.executable, "-m", "bench.rlm._dw_worker"], request, self.timeout + self.grace, _REPO
        )
        if reply is None:
            return Outcome(None, seconds, error)
        status = str(reply.get("status") or "")
        info = {k: reply.get(k) for k in ("run_id", "status", "how", "rlm_mode") if reply.get(k) is not None}
        error = reply.get("error")
        if not error and (status.startswith("budget_exhausted") or status == "error"):
            error = f"{status}: {reply.get('answer')}"
        return Outcome(reply.get("answer"), seconds, error, info)

    def close(self) -> None:
        pass


def run_capped(
    cmd: list[str], request: dict[str, Any], timeout: float, cwd: Path, env: dict[str, str] | None = None
) -> tuple[dict[str, Any] | None, float, str | None]:
    """Run ``cmd`` with ``request`` as JSON on stdin; its last stdout line is the JSON reply.

    The child gets its own process group, killed whole when ``timeout`` passes: a contender that loops
    or hangs costs the cap and is recorded as a timeout, never more.
    """
    t = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, time.perf_counter() - t, f"timeout: killed at the {timeout:.0f}s cap"
    seconds = time.perf_counter() - t
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        return json.loads(lines[-1]), seconds, None
    except (IndexError, json.JSONDecodeError):
        tail = " ".join(err.decode(errors="replace").strip().splitlines()[-2:])
        return None, seconds, f"crashed (exit {proc.returncode}): {tail[:300]}"
