"""The one vocabulary of answer statuses, shared by ``ask``, the tool agent and the RLM.

- ``answered``: an answer the sources (or what was read) support.
- ``not_found``: the sources were searched and do not say.
- ``uncertain``: what was read is shown, but it does not settle the question.
- ``budget_exhausted:<which>``: a named limit stopped the run first (iterations, errors, time, tokens,
  sub_calls); whatever answer comes with it is a best effort, not a finding.
- ``error``: the run failed.

Runs are stored with their status, so a word once used and since renamed is still read: see
:func:`canonical_status`.
"""

from __future__ import annotations

__all__ = [
    "ANSWERED",
    "ERROR",
    "NOT_FOUND_STATUS",
    "UNCERTAIN",
    "budget_exhausted",
    "canonical_status",
]

ANSWERED = "answered"
NOT_FOUND_STATUS = "not_found"  # the agents' NOT_FOUND is the answer text that goes with it
UNCERTAIN = "uncertain"
ERROR = "error"

# the tool agent's words before it joined the vocabulary
_RENAMED = {"no_answer": "budget_exhausted:iterations", "too_many_errors": "budget_exhausted:errors"}


def budget_exhausted(which: str) -> str:
    """The status of a run a named budget stopped: ``budget_exhausted:errors`` and so on."""
    return f"budget_exhausted:{which}"


def canonical_status(status: str) -> str:
    """``status`` in today's vocabulary, so a run stored by an older version is shown like a new one."""
    return _RENAMED.get(status, status)
