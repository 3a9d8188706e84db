"""In-process llama.cpp backend (llama-cpp-python).

One ``Llama`` per model configuration per process, shared by every caller and run on one thread of its
own (a llama.cpp context is not thread-safe); callers queue for it without holding threads. Prompts are
rendered with the model's own chat template and tokenized here, so the context-window guard counts
exactly what the model will see. llama.cpp keeps the KV cache of the previous prompt and only evaluates
the new suffix; a RAM cache of saved states extends that to prefixes that alternate (a root prompt and
its sub-calls): measured 5.9-9.5x faster on bench/llm. Prompt-lookup decoding is available
(``prompt_lookup=N``) but off, as it measured 0.5-0.8x on extractive answers with this small model.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from deepwell.core.errors import ContextWindowError, ModelError, OutputError
from deepwell.reasoning._guard import LoopGuard, find_loop, trim_loop
from deepwell.reasoning._models import check_gguf
from deepwell.reasoning._sampling import Sampling, resolve_sampling
from deepwell.reasoning._tools import parse_tool_reply, tool_choice_schema, tool_prompt
from deepwell.reasoning._types import Completion, Message, ToolSpec, Usage

__all__ = ["LlamaCppLLM"]

log = logging.getLogger(__name__)

_TOOL_CALL = re.compile(r"<tool_call>\s*(\{.*?\})\s*</tool_call>", re.S)
# turn markers a chat template writes; generating one means the model started another turn
_TURN_MARKERS = re.compile(
    r"<\|(?:im_start|im_end|eot_id|end|user|assistant|endoftext)\|>|<(?:start|end)_of_turn>"
)


def template_stops(template: str | None) -> list[str]:
    """Stop strings read from a chat template: every turn marker it writes."""
    return sorted(set(_TURN_MARKERS.findall(template or "")))


@dataclass
class _Shared:
    """One loaded model and the single thread that runs it.

    Callers queue on the executor, not on a lock, so a burst of sub-calls holds no threads while it waits
    and a caller cancelled before its turn is simply dropped from the queue.
    """

    llama: Any
    # no prompt-state cache asked for: every call evaluates its prompt from scratch, so what it generates
    # depends on the prompt alone, not on which earlier call (of any caller sharing the model) left its
    # tokens in the context (a reused prefix is evaluated in other batches, and greedy output can differ)
    fresh: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    grammars: dict[str, Any] = field(default_factory=dict)
    digit_mask: Any = None
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepwell-llama")
    )


_MODELS: dict[tuple[Any, ...], _Shared] = {}
_MODELS_LOCK = threading.Lock()


# Generating one token is a chain of small matrix products with a thread barrier after each; a model this
# small finishes each product faster than a second thread can be scheduled. Measured on 2 shared cores
# (SmolLM2-135M, bench/llm): 1 thread generated 20-27 tokens/s, 2 threads 1-5 tokens/s, while prompt
# processing (big batched products) ran the same or better on 2. Big models are the other way round.
_SMALL_MODEL_BYTES = 1 << 30


def _threads(path: Path, n_threads: int | None) -> tuple[int, int]:
    """(generation threads, prompt-processing threads); an explicit setting applies to both."""
    if n_threads:
        return n_threads, n_threads
    cores = os.cpu_count() or 2
    return (1 if path.stat().st_size < _SMALL_MODEL_BYTES else cores), cores


def _load(
    path: Path, n_ctx: int, n_threads: int | None, n_batch: int, cache_mb: int, prompt_lookup: int
) -> _Shared:
    key = (str(path), n_ctx, n_threads, n_batch, cache_mb, prompt_lookup)
    with _MODELS_LOCK:
        if key in _MODELS:
            return _MODELS[key]
        meta = check_gguf(path)
        trained = int(meta.get(f"{meta.get('general.architecture')}.context_length", 0) or 0)
        if trained and n_ctx > trained:
            log.warning(
                "%s was trained with a %d-token window; using that, not %d", path.name, trained, n_ctx
            )
            n_ctx = trained
        gen_threads, batch_threads = _threads(path, n_threads)
        try:
            import numpy as np
            from llama_cpp import Llama, LlamaRAMCache
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36"
            ) from exc
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=gen_threads,
                n_threads_batch=batch_threads,
                n_batch=n_batch,
                flash_attn=True,
                draft_model=LlamaPromptLookupDecoding(num_pred_tokens=prompt_lookup)
                if prompt_lookup
                else None,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"llama.cpp could not load {path}: {exc}. The file may be corrupt or for an unsupported "
                "architecture; re-download it or pick another GGUF."
            ) from exc
        if not llama._logits_all:
            # Without logits_all (set only for draft models), llama-cpp-python samples inside llama.cpp and
            # never reads its n_batch x n_vocab score matrix (100 MB for SmolLM2), yet save_state and
            # load_state copy it on every prefix-cache save and hit (measured 60-970 ms each).
            llama.scores = np.zeros((1, llama.n_vocab()), dtype=np.single)
        if cache_mb:
            llama.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))
        shared = _Shared(llama, fresh=not cache_mb)
        _MODELS[key] = shared
        return shared


class LlamaCppLLM:
    """A GGUF model run in this process."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        n_batch: int = 512,
        cache_mb: int = 256,
        prompt_lookup: int = 0,
        name: str | None = None,
        max_retries: int = 2,
        chat_template: str | None = None,
        sampling: Sampling | None = None,
    ) -> None:
        """``chat_template`` (Jinja) replaces the GGUF's own, for files that lack one or ship a wrong one.

        ``sampling`` replaces the per-model defaults (see :mod:`deepwell.reasoning._sampling`).
        """
        path = Path(model_path)
        self._shared = _load(path, n_ctx, n_threads, n_batch, cache_mb, prompt_lookup)
        self._drafts = bool(prompt_lookup)
        self._llama = self._shared.llama
        self.name = name or path.name
        self.path = path
        self.n_ctx = int(self._llama.n_ctx())
        self.max_retries = max_retries
        meta = self._llama.metadata
        self.template: str | None = chat_template or meta.get("tokenizer.chat_template")
        self.metadata = meta
        self.sampling = sampling or resolve_sampling(meta)
        self._template_stops = template_stops(self.template)
        eos, bos = self._llama.token_eos(), self._llama.token_bos()
        self._eos = self._llama._model.token_get_text(eos) if eos != -1 else ""
        self._bos = self._llama._model.token_get_text(bos) if bos != -1 else ""
        self._formatter = None
        if self.template:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            self._formatter = Jinja2ChatFormatter(self.template, eos_token=self._eos, bos_token=self._bos)
        self.native_tools = bool(self.template and "tools" in self.template and "tool_call" in self.template)

    # prompt building ------------------------------------------------------------------------------
    def _render(
        self, messages: list[Message], tools: list[ToolSpec] | None = None
    ) -> tuple[list[int], list[str]]:
        if self._formatter is not None:
            kwargs: dict[str, Any] = {}
            if tools and self.native_tools:
                kwargs["tools"] = [
                    {
                        "type": "function",
                        "function": {
                            "name": t.name,
                            "description": t.description,
                            "parameters": t.parameters,
                        },
                    }
                    for t in tools
                ]
            res = self._formatter(messages=list(messages), **kwargs)  # type: ignore[arg-type]  # our Message is the same TypedDict shape
            prompt, add_bos = res.prompt, not res.added_special
            stop = sorted({*(s for s in (res.stop or []) if s), *self._template_stops})
        else:  # a base model: a plain transcript
            prompt = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages) + "Assistant:"
            stop, add_bos = ["\nUser:", "\nSystem:", "\nQuestion:"], True
        tokens = self._llama.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
        return tokens, stop

    def _guard(self, tokens: list[int], max_tokens: int) -> None:
        if len(tokens) + max_tokens > self.n_ctx:
            raise ContextWindowError(
                f"The prompt is {len(tokens)} tokens and {max_tokens} more were asked for, but {self.name}'s "
                f"window is {self.n_ctx} tokens. Shorten the input, lower max_tokens, use fit_messages() to "
                "compress explicitly, or let the RLM (deepwell rlm) read the long context for you."
            )

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count_messages(self, messages: list[Message]) -> int:
        return len(self._render(messages)[0])

    def _grammar(self, schema: dict[str, Any]) -> Any:
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        g = self._shared.grammars.get(key)
        if g is None:
            try:
                g = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:
                raise OutputError(f"llama.cpp cannot turn this JSON schema into a grammar: {exc}") from exc
            self._shared.grammars[key] = g
        return g

    # generation -------------------------------------------------------------------------------------
    def _generate(
        self,
        tokens: list[int],
        *,
        max_tokens: int,
        temperature: float | None,
        seed: int | None,
        stop: list[str],
        grammar: Any = None,
        cancel: threading.Event,
    ) -> tuple[str, str, Usage]:
        from llama_cpp import StoppingCriteriaList

        guard = self.sampling.loop_guard and grammar is None
        n_prompt = len(tokens)
        looped = threading.Event()

        def should_stop(ids: Any, _logits: Any) -> bool:
            if cancel.is_set():
                return True
            # checked every 8 tokens: detokenizing the tail is cheap, but not free
            if guard and (len(ids) - n_prompt) % 8 == 0 and len(ids) > n_prompt:
                text = self._llama.detokenize(list(ids[n_prompt:])).decode("utf-8", "ignore")
                if find_loop(text) is not None:
                    looped.set()
                    return True
            return False

        with self._shared.lock:
            if cancel.is_set():
                return "", "cancelled", Usage()
            if self._shared.fresh:
                self._llama.reset()
            out = self._llama.create_completion(
                prompt=tokens,
                max_tokens=max_tokens,
                seed=seed,
                stop=stop,
                grammar=grammar,
                stopping_criteria=StoppingCriteriaList([should_stop]),
                **self._decoding(temperature, structured=grammar is not None, n_prompt=n_prompt),
            )
        choice = out["choices"][0]
        usage = out.get("usage", {})
        text, finish = choice["text"], choice.get("finish_reason") or "stop"
        if guard:
            text, found = trim_loop(text)
            if found or looped.is_set():
                finish = "loop"
        return (
            text,
            finish,
            Usage(usage.get("prompt_tokens", len(tokens)), usage.get("completion_tokens", 0)),
        )

    def _decoding(
        self, temperature: float | None, *, structured: bool = False, n_prompt: int = 0
    ) -> dict[str, Any]:
        """llama.cpp sampling arguments: the call's temperature, the model's defaults for the rest.

        Grammar-constrained output (JSON actions, tool calls) repeats quotes, braces and keys by design and
        the grammar already ends it, so it gets no repetition penalty.
        """
        s = self.sampling
        out: dict[str, Any] = {
            "temperature": s.temperature if temperature is None else temperature,
            "top_p": s.top_p,
            "top_k": s.top_k,
            "min_p": s.min_p,
            "repeat_penalty": 1.0 if structured or not self._drafts else s.repeat_penalty,
        }
        # a draft model verifies several tokens per step, so the processor would see unaccepted tokens:
        # llama.cpp's own penalty serves there
        if not structured and not self._drafts and s.repeat_penalty != 1.0:
            from llama_cpp import LogitsProcessorList

            out["logits_processor"] = LogitsProcessorList([functools.partial(self._repeat_penalty, n_prompt)])
        return out

    def _repeat_penalty(self, n_prompt: int, ids: Any, scores: Any) -> Any:
        """llama.cpp's repetition penalty over the last 64 generated tokens, except digits: an answer copies
        numbers from its sources, and penalising a repeated digit turned "9132500" into "913250"."""
        import numpy as np

        recent = np.unique(np.asarray(ids[n_prompt:][-64:], dtype=np.int64))
        recent = recent[(recent >= 0) & (recent < len(scores))]
        recent = recent[~self._digit_tokens()[recent]]
        p = self.sampling.repeat_penalty
        picked = scores[recent]
        scores[recent] = np.where(picked > 0, picked / p, picked * p)
        return scores

    def _digit_tokens(self) -> Any:
        """A mask over the vocabulary: tokens that are digits alone (built once per model)."""
        mask = getattr(self._shared, "digit_mask", None)
        if mask is None:
            import numpy as np

            n = self._llama.n_vocab()
            mask = np.zeros(n, dtype=bool)
            for t in range(n):
                piece = self._llama.detokenize([t]).decode("utf-8", "ignore").strip()
                mask[t] = bool(piece) and piece.isdigit()
            self._shared.digit_mask = mask
        return mask

    async def _run(self, tokens: list[int], **kwargs: Any) -> tuple[str, str, Usage]:
        """Generate on the model's thread; a cancelled caller stops the generation at the next token."""
        cancel = threading.Event()
        work = functools.partial(self._generate, tokens, cancel=cancel, **kwargs)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._shared.executor, work)
        except asyncio.CancelledError:
            cancel.set()
            raise

    async def complete(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 256,
        temperature: float | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[ToolSpec] | None = None,
    ) -> Completion:
        t0 = time.perf_counter()
        if tools:
            return await self._complete_tools(messages, tools, max_tokens, temperature, seed, t0)
        tokens, tstop = self._render(messages)
        self._guard(tokens, max_tokens)
        grammar = self._grammar(json_schema) if json_schema is not None else None
        prompt_used = completion_used = 0
        for attempt in range(self.max_retries + 1):
            text, finish, usage = await self._run(
                tokens,
                max_tokens=max_tokens,
                temperature=temperature if attempt == 0 else max(temperature or 0.0, 0.3),
                seed=seed if seed is None else seed + attempt,
                stop=[*(stop or []), *tstop],
                grammar=grammar,
            )
            prompt_used += usage.prompt_tokens
            completion_used += usage.completion_tokens
            if json_schema is None:
                break
            problem = _json_problem(text, json_schema)
            if problem is None:
                break
            if attempt == self.max_retries:
                raise OutputError(
                    f"{self.name} produced invalid JSON {self.max_retries + 1} times ({problem}). "
                    + (
                        "Raise max_tokens: the output was cut off."
                        if finish == "length"
                        else "Simplify the schema."
                    )
                )
        return Completion(text, [], finish, Usage(prompt_used, completion_used), time.perf_counter() - t0)

    async def _complete_tools(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        max_tokens: int,
        temperature: float | None,
        seed: int | None,
        t0: float,
    ) -> Completion:
        """One tool call or a plain answer; invalid calls are fed back and retried, never returned."""
        convo = list(messages)
        if not self.native_tools:
            convo = [{"role": "system", "content": tool_prompt(tools)}, *convo]
        schema = tool_choice_schema(tools)
        grammar = None if self.native_tools else self._grammar(schema)
        prompt_used = completion_used = 0
        last_problem = ""
        for attempt in range(self.max_retries + 1):
            tokens, tstop = self._render(convo, tools)
            self._guard(tokens, max_tokens)
            text, finish, usage = await self._run(
                tokens,
                max_tokens=max_tokens,
                temperature=temperature if attempt == 0 else max(temperature or 0.0, 0.3),
                seed=seed,
                stop=tstop,
                grammar=grammar,
            )
            prompt_used += usage.prompt_tokens
            completion_used += usage.completion_tokens
            used = Usage(prompt_used, completion_used)
            if self.native_tools:
                calls = [m.group(1) for m in _TOOL_CALL.finditer(text)]
                if not calls:
                    return Completion(text.strip(), [], finish, used, time.perf_counter() - t0)
                reply = calls[0]
            else:
                reply = text
            parsed, problem = parse_tool_reply(reply, tools)
            if problem is None:
                assert parsed is not None
                if parsed.name == "answer":
                    return Completion(
                        str(parsed.arguments.get("text", "")), [], finish, used, time.perf_counter() - t0
                    )
                return Completion("", [parsed], "tool_calls", used, time.perf_counter() - t0)
            last_problem = problem
            convo = [
                *convo,
                {"role": "assistant", "content": text},
                {"role": "user", "content": f"Error: {problem} Try again."},
            ]
        raise OutputError(
            f"{self.name} made no valid tool call in {self.max_retries + 1} tries (last: {last_problem})."
        )

    async def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 256,
        temperature: float | None = None,
        seed: int | None = None,
        stop: list[str] | None = None,
    ) -> AsyncIterator[str]:
        tokens, tstop = self._render(messages)
        self._guard(tokens, max_tokens)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: str | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the consumer's event loop is gone
                cancelled.set()

        guard = LoopGuard() if self.sampling.loop_guard else None

        def worker() -> None:
            from llama_cpp import StoppingCriteriaList

            try:
                with self._shared.lock:
                    if cancelled.is_set():
                        return
                    if self._shared.fresh:
                        self._llama.reset()
                    chunks: Iterator[dict[str, Any]] = self._llama.create_completion(
                        prompt=tokens,
                        max_tokens=max_tokens,
                        seed=seed,
                        stop=[*(stop or []), *tstop],
                        stream=True,
                        stopping_criteria=StoppingCriteriaList(
                            [lambda _ids, _logits: cancelled.is_set() or bool(guard and guard.looped)]
                        ),
                        **self._decoding(temperature, n_prompt=len(tokens)),
                    )
                    for chunk in chunks:
                        piece = chunk["choices"][0]["text"]
                        put(guard.feed(piece) if guard else piece)
                    if guard:
                        put(guard.flush())
                put(None)
            except BaseException as exc:  # surfaced to the consumer below
                put(exc)

        self._shared.executor.submit(worker)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                if item:
                    yield item
        finally:
            cancelled.set()

    async def aclose(self) -> None:
        return None


def _json_problem(text: str, schema: dict[str, Any]) -> str | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc.msg}"
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        return f"does not match the schema: {exc.message}"
    return None
