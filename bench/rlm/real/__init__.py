"""RLM tasks on real documents (Debian changelogs, CPython's stdlib, Debian Policy, Python's NEWS), with
ground truth from parsers that never import ``deepwell.rlm``; dev and held-out splits by domain."""

from bench.rlm.real._corpora import CorpusMissing, available
from bench.rlm.real._phrasings import KIND_OF, PHRASINGS
from bench.rlm.real._report import markdown_table, summarise
from bench.rlm.real._score import answer_matches
from bench.rlm.real._tasks import (
    DOMAINS,
    REAL_KINDS,
    SPLIT,
    RealTask,
    build_real_suite,
    generate,
    materialize,
)

__all__ = [
    "DOMAINS",
    "KIND_OF",
    "PHRASINGS",
    "REAL_KINDS",
    "SPLIT",
    "CorpusMissing",
    "RealTask",
    "answer_matches",
    "available",
    "build_real_suite",
    "generate",
    "markdown_table",
    "materialize",
    "summarise",
]
