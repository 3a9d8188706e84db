"""Recursive Language Models: the long context stays outside the model, which explores it with tools,
code in a sandbox, and sub-calls of itself."""

from deepwell.rlm._budget import RLMConfig
from deepwell.rlm._context import CollectionRef, ContextSource
from deepwell.rlm._render import render_html, render_tree, run_to_dict, step_label
from deepwell.rlm._runner import RLM, RLMResult, answer, answer_async
from deepwell.rlm._store import StoreOwner

__all__ = [
    "RLM",
    "CollectionRef",
    "ContextSource",
    "RLMConfig",
    "RLMResult",
    "StoreOwner",
    "answer",
    "answer_async",
    "render_html",
    "render_tree",
    "run_to_dict",
    "step_label",
]
