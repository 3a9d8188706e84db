"""The reasoning core: one ``LLM`` interface; llama.cpp in-process by default, or an OpenAI-style server."""

from deepwell.reasoning._actions import (
    Action,
    ActionLoop,
    InvalidAction,
    clip_observation,
    flat_action,
    nested_action,
)
from deepwell.reasoning._gguf import read_gguf_metadata
from deepwell.reasoning._guard import LoopGuard, find_loop, trim_loop
from deepwell.reasoning._load import BACKENDS, fit_messages, load_llm, sampling_for
from deepwell.reasoning._models import PACKAGED_MODELS, model_info, resolve_model_path
from deepwell.reasoning._sampling import Sampling, resolve_sampling
from deepwell.reasoning._types import LLM, Completion, Message, SyncLLM, ToolCall, ToolSpec, Usage

__all__ = [
    "BACKENDS",
    "LLM",
    "PACKAGED_MODELS",
    "Action",
    "ActionLoop",
    "Completion",
    "InvalidAction",
    "LoopGuard",
    "Message",
    "Sampling",
    "SyncLLM",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "clip_observation",
    "find_loop",
    "fit_messages",
    "flat_action",
    "load_llm",
    "model_info",
    "nested_action",
    "read_gguf_metadata",
    "resolve_model_path",
    "resolve_sampling",
    "sampling_for",
    "trim_loop",
]
