"""Mixture-of-Agents over retrieved sources: proposers answer, an aggregator synthesises.

MoA (Wang et al., 2024) stacks layers of proposers, each layer reading the answers of the one before, and
ends with an aggregator. Self-MoA (Li et al., 2025) mixes samples of the single best model instead of
different models; Self-MoA-Seq aggregates a sliding window of samples (the previous synthesis plus the
next ``window - 1`` samples) so more samples can be combined than fit one small window.

A proposer is a model with its own temperature, seed and system prompt: the default GGUF, a second GGUF
(a base model is prompted with a plain completion prompt) or an OpenAI-compatible endpoint. Proposals run
concurrently up to ``concurrency`` (an in-process llama.cpp model still runs one at a time; an HTTP
server runs them in parallel). A proposer that raises, times out, loops or returns garbage is dropped and
the reason is stored with the run; if every proposer fails the run is an error, not an answer.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from deepwell.agents._record import Recorder
from deepwell.agents._sources import Citation, check_support, focus, new_words
from deepwell.core.errors import DeepwellError, InputError, LLMError
from deepwell.reasoning import LLM, Message

__all__ = ["MixtureOfAgents", "MoAConfig", "MoAResult", "Proposal", "Proposer", "answer_messages"]

ANSWER_SYSTEM = "Answer the question using the text. Be brief."
_AGGREGATE_SYSTEM = (
    "Answer the question using the text. Some proposed answers are wrong: keep only what the text says. "
    "Be brief."
)
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Proposer:
    """One model that proposes answers. ``completion=True`` for a base model without a chat template."""

    llm: LLM
    name: str = ""
    temperature: float | None = None
    seed: int | None = None
    system: str | None = None
    completion: bool = False

    @property
    def label(self) -> str:
        return self.name or getattr(self.llm, "name", "model")


@dataclass(frozen=True)
class MoAConfig:
    """Shape and budgets. ``window`` turns on Self-MoA-Seq (aggregate at most ``window`` at a time)."""

    layers: int = 1
    window: int | None = None
    # "llm": the aggregator model synthesises; "consensus": the supported proposal closest to the others
    aggregate: str = "llm"
    max_tokens: int = 96
    token_budget: int = 40_000
    time_budget: float = 300.0
    call_timeout: float = 120.0
    concurrency: int = 4


@dataclass
class Proposal:
    proposer: str
    layer: int
    text: str
    temperature: float | None
    seed: int | None
    tokens: int = 0
    seconds: float = 0.0
    dropped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MoAResult:
    answer: str
    proposals: list[Proposal] = field(default_factory=list)
    aggregations: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def render_sources(question: str, sources: Sequence[Citation], sentences: int = 3) -> str:
    """What the model reads: the sentences of the sources closest to the question (see ``focus``)."""
    return " ".join(text for _, text in focus(question, sources, sentences))


def answer_messages(
    question: str, sources: Sequence[Citation], *, system: str | None = None, completion: bool = False
) -> list[Message]:
    """The prompt every method starts from: the focused source text, then the question.

    The model is not asked for [n] markers (SmolLM2-135M wrote "[1] [2] [3]" instead of answers); the
    support check attaches each kept sentence to the source that says it.
    """
    text = render_sources(question, sources)
    if completion:  # a base model continues text; give it the shape of an answer to continue
        return [{"role": "user", "content": f"Text: {text}\nQuestion: {question}\nShort answer:"}]
    return [
        {"role": "system", "content": system or ANSWER_SYSTEM},
        {"role": "user", "content": f"Text: {text}\n\nQuestion: {question}"},
    ]


def _garbage(text: str) -> str | None:
    if len(_LETTERS.findall(text)) < 2:
        return "garbage: no words in the reply"
    if len(text) > 40 and len(_LETTERS.findall(text)) / len(text) < 0.4:
        return "garbage: mostly symbols"
    return None


class MixtureOfAgents:
    """Layers × proposers, then one aggregator (or a sliding window of aggregations)."""

    def __init__(
        self, proposers: Sequence[Proposer], aggregator: Proposer, config: MoAConfig | None = None
    ) -> None:
        if not proposers:
            raise InputError("Mixture-of-Agents needs at least one proposer.")
        self.proposers = list(proposers)
        self.aggregator = aggregator
        self.config = config or MoAConfig()
        self._sem = asyncio.Semaphore(max(1, self.config.concurrency))
        self._used = [0, 0]
        self._deadline = 0.0

    @classmethod
    def self_moa(
        cls,
        llm: LLM,
        samples: int = 4,
        *,
        temperature: float = 0.7,
        config: MoAConfig | None = None,
    ) -> MixtureOfAgents:
        """Self-MoA: ``samples`` draws of one model (seeds 1..n), aggregated by the same model."""
        proposers = [Proposer(llm, f"sample-{i}", temperature, seed=i) for i in range(1, samples + 1)]
        return cls(proposers, Proposer(llm, "aggregator"), config)

    def _left(self) -> float:
        return self._deadline - time.monotonic()

    async def _call(self, who: Proposer, messages: list[Message]) -> tuple[str, str, int, float]:
        """(text, finish, tokens, seconds) — or raises; budgets are checked before the call starts."""
        if self._used[0] + self._used[1] >= self.config.token_budget:
            raise _Skipped(f"token budget of {self.config.token_budget} spent")
        if self._left() <= 0:
            raise _Skipped(f"time budget of {self.config.time_budget:.0f}s spent")
        async with self._sem:
            stop = ["\n"] if who.completion else None
            c = await asyncio.wait_for(
                who.llm.complete(
                    messages,
                    max_tokens=self.config.max_tokens,
                    temperature=who.temperature,
                    seed=who.seed,
                    stop=stop,
                ),
                timeout=min(self.config.call_timeout, max(self._left(), 0.1)),
            )
        self._used[0] += c.usage.prompt_tokens
        self._used[1] += c.usage.completion_tokens
        return c.text.strip(), c.finish_reason, c.usage.completion_tokens, c.seconds

    async def _propose(
        self, who: Proposer, layer: int, messages: list[Message], rec: Recorder, parent: int
    ) -> Proposal:
        p = Proposal(who.label, layer, "", who.temperature, who.seed)
        t0 = time.perf_counter()
        try:
            p.text, finish, p.tokens, _ = await self._call(who, messages)
            p.dropped = "looped: stopped by the repetition guard" if finish == "loop" else _garbage(p.text)
        except _Skipped as exc:
            p.dropped = f"skipped: {exc}"
        except TimeoutError:
            p.dropped = "timed out"
        except DeepwellError as exc:
            p.dropped = f"failed: {exc}"
        except Exception as exc:  # a broken endpoint or model must not sink the other proposers
            p.dropped = f"failed: {exc.__class__.__name__}: {exc}"
        p.seconds = time.perf_counter() - t0
        rec.step(
            "proposal",
            {
                "name": p.proposer,
                "layer": layer,
                "temperature": p.temperature,
                "seed": p.seed,
                "answer": p.text,
                "tokens": p.tokens,
                **({"error": p.dropped} if p.dropped else {}),
            },
            parent=parent,
            seconds=p.seconds,
        )
        return p

    async def _aggregate(
        self, question: str, sources: Sequence[Citation], answers: list[str], rec: Recorder, parent: int
    ) -> str:
        """One synthesis of ``answers``. They are read after the support check: a small aggregator copies
        whatever it is shown, so it is shown only the sentences the sources support (all, if none are)."""
        checked = [check_support(a, question, sources) for a in answers]
        supported = [_unmarked(c.answer) for c in checked if c.status == "answered"]
        shown = supported or answers
        t0 = time.perf_counter()
        if self.config.aggregate == "consensus" or len(set(shown)) == 1:
            text, tokens, problem, name = _consensus(question, shown), 0, None, "consensus"
        else:
            name = self.aggregator.label
            listed = "\n".join(f"- {a}" for a in shown)
            msgs = answer_messages(
                question, sources, system=_AGGREGATE_SYSTEM, completion=self.aggregator.completion
            )
            msgs[-1] = {"role": "user", "content": msgs[-1]["content"] + f"\n\nProposed answers:\n{listed}"}
            try:
                text, finish, tokens, _ = await self._call(self.aggregator, msgs)
                problem = "looped" if finish == "loop" else _garbage(text)
            except (_Skipped, TimeoutError, DeepwellError) as exc:
                text, tokens, problem = "", 0, f"failed: {exc or 'timed out'}"
        rec.step(
            "aggregate",
            {
                "name": name,
                "arguments": {"inputs": len(answers), "supported": len(supported)},
                "prompt": "\n".join(shown),
                "answer": text,
                "tokens": tokens,
                **({"error": problem} if problem else {}),
            },
            parent=parent,
            seconds=time.perf_counter() - t0,
        )
        # an aggregator that fails falls back to the consensus, which is still checked downstream
        return _consensus(question, shown) if problem else text

    async def run(self, question: str, sources: Sequence[Citation], rec: Recorder) -> MoAResult:
        """Every proposal and aggregation becomes a step of ``rec``'s run."""
        t0 = time.perf_counter()
        self._deadline = time.monotonic() + self.config.time_budget
        self._used = [0, 0]
        result = MoAResult(answer="")
        previous: list[str] = []
        for layer in range(max(1, self.config.layers)):
            parent = rec.step("layer", {"name": f"layer {layer + 1}", "proposers": len(self.proposers)})
            jobs = []
            for who in self.proposers:
                msgs = answer_messages(question, sources, system=who.system, completion=who.completion)
                if previous:
                    earlier = "\n".join(f"({i}) {a}" for i, a in enumerate(previous, 1))
                    msgs[-1] = {
                        "role": "user",
                        "content": msgs[-1]["content"]
                        + f"\n\nEarlier answers (some may be wrong):\n{earlier}",
                    }
                jobs.append(self._propose(who, layer + 1, msgs, rec, parent))
            proposals = await asyncio.gather(*jobs)
            result.proposals.extend(proposals)
            good = [p.text for p in proposals if p.dropped is None]
            if not good:
                if previous:
                    break  # a later layer failed: aggregate what the earlier one said
                reasons = "; ".join(f"{p.proposer}: {p.dropped}" for p in proposals)
                rec.finish("error", None, {"error": reasons})
                raise LLMError(
                    f"All {len(proposals)} proposers failed ({reasons}). Check the models or endpoints, "
                    "or raise the budgets."
                )
            previous = good
        parent = rec.step("aggregation", {"name": "aggregator", "window": self.config.window})
        window = self.config.window
        if window and window >= 2 and len(previous) > window:
            current = await self._aggregate(question, sources, previous[:window], rec, parent)
            result.aggregations.append(current)
            rest = previous[window:]
            for i in range(0, len(rest), window - 1):
                current = await self._aggregate(
                    question, sources, [current, *rest[i : i + window - 1]], rec, parent
                )
                result.aggregations.append(current)
        else:
            current = await self._aggregate(question, sources, previous, rec, parent)
            result.aggregations.append(current)
        result.answer = current
        result.prompt_tokens, result.completion_tokens = self._used
        result.seconds = time.perf_counter() - t0
        return result


def _unmarked(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text)


def _consensus(question: str, answers: list[str]) -> str:
    """The answer sharing most new words with the others (a medoid; the first on a tie)."""
    words = [new_words(a, question) for a in answers]

    def agreement(i: int) -> float:
        return sum(len(words[i] & w) / max(1, len(words[i] | w)) for j, w in enumerate(words) if j != i)

    return answers[max(range(len(answers)), key=lambda i: (agreement(i), -i))]


class _Skipped(Exception):
    """A call not made because a budget ran out."""
