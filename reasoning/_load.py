"""Pick the reasoning backend from settings, and compress a conversation only when asked to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from deepwell.core.errors import ConfigError, ModelError
from deepwell.core.settings import Settings
from deepwell.reasoning._gguf import read_gguf_metadata
from deepwell.reasoning._models import resolve_model_path
from deepwell.reasoning._sampling import Sampling, resolve_sampling
from deepwell.reasoning._types import LLM, Message

__all__ = ["BACKENDS", "fit_messages", "load_llm", "sampling_for"]


def sampling_for(settings: Settings, metadata: dict[str, object] | None = None) -> Sampling:
    """The one place sampling defaults are decided: the model's, then the user's DEEPWELL_LLM_* values."""
    return resolve_sampling(
        metadata,
        temperature=settings.llm_temperature,
        top_p=settings.llm_top_p,
        repeat_penalty=settings.llm_repeat_penalty,
        loop_guard=settings.llm_loop_guard,
    )


def _llama_cpp(settings: Settings) -> LLM:
    from deepwell.reasoning._llama_cpp import LlamaCppLLM

    path = resolve_model_path(settings.llm_model)
    return LlamaCppLLM(
        path,
        n_ctx=settings.llm_n_ctx,
        n_threads=settings.llm_threads,
        cache_mb=settings.llm_cache_mb,
        prompt_lookup=settings.llm_prompt_lookup,
        name=settings.llm_model,
        sampling=sampling_for(settings, read_gguf_metadata(path)),
    )


def _openai(settings: Settings) -> LLM:
    from deepwell.reasoning._openai import OpenAICompatLLM

    if not settings.llm_base_url:
        raise ConfigError(
            "DEEPWELL_LLM_BACKEND=openai needs DEEPWELL_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1 "
            "(python -m llama_cpp.server --model M.gguf, vLLM, or Ollama's /v1)."
        )
    return OpenAICompatLLM(
        settings.llm_base_url,
        tokenizer=_local_tokenizer(settings) if "llm_model" in settings.model_fields_set else None,
        model=settings.llm_api_model or settings.llm_model,
        api_key=settings.llm_api_key,
        n_ctx=settings.llm_n_ctx,
        timeout=settings.llm_timeout,
        concurrency=settings.llm_concurrency,
        sampling=sampling_for(settings),
    )


def _local_tokenizer(settings: Settings) -> Callable[[str], int] | None:
    """Exact token counts for a server that runs a GGUF the user also has locally (vocabulary only)."""
    try:
        path = resolve_model_path(settings.llm_model)
    except ModelError:
        return None
    import llama_cpp
    from llama_cpp._internals import LlamaModel  # a model without a context: ``Llama`` needs one

    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    vocab = LlamaModel(path_model=str(path), params=params, verbose=False)
    return lambda text: len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))


BACKENDS: dict[str, Callable[[Settings], LLM]] = {"llama_cpp": _llama_cpp, "openai": _openai}


def load_llm(settings: Settings) -> LLM:
    try:
        factory = BACKENDS[settings.llm_backend]
    except KeyError:
        raise ConfigError(
            f"Unknown DEEPWELL_LLM_BACKEND {settings.llm_backend!r}; use {', '.join(BACKENDS)}."
        ) from None
    return factory(settings)


def fit_messages(llm: Any, messages: list[Message], max_tokens: int) -> list[Message]:
    """Explicit compression: shorten the oldest middle messages, marking what was cut, until it fits.

    The system message and the last message are kept whole; a caller that prefers an error simply does
    not call this and gets ``ContextWindowError`` from the model.
    """
    budget = llm.n_ctx - max_tokens - 16 * len(messages)
    out: list[dict[str, Any]] = [dict(m) for m in messages]
    middle = list(range(1 if out and out[0]["role"] == "system" else 0, len(out) - 1))
    total = sum(llm.count_tokens(m["content"]) for m in out)
    for i in middle:
        if total <= budget:
            break
        n = llm.count_tokens(out[i]["content"])
        keep = max(0, len(out[i]["content"]) * max(0, n - (total - budget)) // max(n, 1))
        cut = len(out[i]["content"]) - keep
        out[i]["content"] = (
            out[i]["content"][:keep] + f" [... {cut} characters omitted to fit the window ...]"
        )
        total -= n - llm.count_tokens(out[i]["content"])
    return out  # type: ignore[return-value]
