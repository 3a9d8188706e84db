"""The question sets of the retrieval benchmark, and which of them were held out while tuning.

Development sets were looked at while choosing chunking, fusion weights and the rerank path; the
held-out sets were scored only in full benchmark runs, after the choices were made, and are reported in
their own columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.retrieval.dataset import Dataset, load_python_faq
from bench.retrieval.faqs import faq_dataset

__all__ = ["SETS", "SetInfo", "load_set"]


@dataclass(frozen=True)
class SetInfo:
    key: str
    load: Callable[[], Dataset]
    held_out: bool


PYTHON_DISTRACTORS = 1000  # documentation sections beside the FAQ answers; ``--distractors`` changes it

SETS: dict[str, SetInfo] = {
    "python": SetInfo("python", lambda: load_python_faq(distractors=PYTHON_DISTRACTORS), held_out=False),
    "unix": SetInfo("unix", lambda: faq_dataset("unix"), held_out=False),
    "lsof": SetInfo("lsof", lambda: faq_dataset("lsof"), held_out=True),
    "sed": SetInfo("sed", lambda: faq_dataset("sed"), held_out=True),
    # fresh held-out sets (issue 15): added before any measurement and scored only in full benchmark runs
    "cvs": SetInfo("cvs", lambda: faq_dataset("cvs"), held_out=True),
    "debian": SetInfo("debian", lambda: faq_dataset("debian"), held_out=True),
}


def load_set(key: str) -> Dataset:
    return SETS[key].load()
