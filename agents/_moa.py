"""Mixture-of-Agents (Wang et al., 2024): several proposers answer, an aggregator writes the final answer.

Proposers may be different models or one model sampled with different seeds and temperatures; each sees
the same retrieved sources. Proposals run concurrently (the LLM backend decides how many at once), and
the aggregator is told to reconcile them against the sources rather than vote.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from deepwell.agents._toolbox import ToolBox

from deepwell.core.errors import DeepwellError

__all__ = ["MixtureOfAgents", "MoAResult"]

_PROPOSER = (
    "Answer the question from the numbered sources only, citing them as [n]. "
    "If they do not say, reply: not found."
)
_AGGREGATOR = (
    "Several assistants answered the question below. Some answers may be wrong. Using the sources, write the "
    "single best answer, citing sources as [n]. If the sources do not contain the answer, reply: not found."
)


@dataclass
class MoAResult:
    answer: str
    proposals: list[str] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MixtureOfAgents:
    def __init__(
        self,
        proposers: list[Any],
        aggregator: Any,
        toolbox: ToolBox,
        *,
        temperatures: list[float] | None = None,
        layers: int = 1,
        k: int = 4,
        source_chars: int = 600,
        max_tokens: int = 200,
    ) -> None:
        if not proposers:
            raise DeepwellError("Mixture-of-Agents needs at least one proposer model.")
        self.proposers = proposers
        self.aggregator = aggregator
        self.toolbox = toolbox
        self.temperatures = temperatures or [0.0, 0.7, 1.0]
        self.layers = max(1, layers)
        self.k = k
        self.source_chars = source_chars
        self.max_tokens = max_tokens

    async def run(self, question: str, collection: str = "default", n: int = 3) -> MoAResult:
        t0 = time.perf_counter()
        found = await self.toolbox.call("search", {"query": question, "collection": collection, "k": self.k})
        if found.is_error:
            raise DeepwellError(f"Search failed: {found.text}")
        sources = "\n".join(
            f"[{i}] {c.get('text', '')[: self.source_chars]}" for i, c in enumerate(found.citations, 1)
        )
        base = f"Sources:\n{sources or '(none found)'}\n\nQuestion: {question}"
        proposals: list[str] = []
        for layer in range(self.layers):
            prompt = base if layer == 0 else base + "\n\nEarlier answers:\n" + _numbered(proposals)
            jobs = [
                self.proposers[i % len(self.proposers)].complete(
                    [{"role": "system", "content": _PROPOSER}, {"role": "user", "content": prompt}],
                    max_tokens=self.max_tokens,
                    temperature=self.temperatures[i % len(self.temperatures)],
                    seed=1000 * layer + i,
                )
                for i in range(n)
            ]
            proposals = [c.text.strip() for c in await asyncio.gather(*jobs)]
        final = await self.aggregator.complete(
            [
                {"role": "system", "content": _AGGREGATOR},
                {"role": "user", "content": base + "\n\nAnswers:\n" + _numbered(proposals)},
            ],
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        return MoAResult(
            answer=final.text.strip() or "not found",
            proposals=proposals,
            citations=found.citations,
            seconds=time.perf_counter() - t0,
        )


def _numbered(items: list[str]) -> str:
    return "\n".join(f"({i}) {a}" for i, a in enumerate(items, 1))
