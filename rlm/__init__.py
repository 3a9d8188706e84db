"""Recursive Language Models: the long context stays outside the model, which explores it with tools,
code in a sandbox, and sub-calls of itself."""

from rlm._budget import RLMConfig
from rlm._context import CollectionRef
from rlm._runner import RLM, RLMResult, answer, answer_async

__all__ = ["RLM", "CollectionRef", "RLMConfig", "RLMResult", "answer", "answer_async"]
