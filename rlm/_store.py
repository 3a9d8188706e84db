"""What an RLM run needs of the Deepwell store, taken from ``deepwell.storage`` and ``deepwell.retrieval``
directly: the run log (trajectories), a collection's documents, and hybrid search over it.

The SDK sits above rlm and must not be imported from here; callers that hold a ``Deepwell`` may pass it as
``dw=`` (it has the same members), everything else gets this. ``StoreOwner`` names those members, so the
entry points are typed without an import upward.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol

from deepwell.core.settings import Settings
from deepwell.retrieval import Retriever, SearchHit, load_embedder
from deepwell.storage import DocumentRecord, Store

__all__ = ["RunStore", "StoreOwner"]


class StoreOwner(Protocol):
    """What an RLM run uses of the store: ``RunStore`` below, or the SDK's ``Deepwell``."""

    store: Store

    def documents(self, collection: str, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]: ...

    def get_document(self, collection: str, ref: int | str) -> DocumentRecord: ...

    def search(self, query: str, collection: str, *, k: int = 10) -> list[SearchHit]: ...

    def close(self) -> None: ...


class RunStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.db_url)

    @cached_property
    def _retriever(self) -> Retriever:
        s = self.settings
        backend = s.dense_backend
        if backend == "auto":
            backend = "pgvector" if self.store.pgvector is not None else "faiss"
        return Retriever(
            self.store,
            load_embedder(s.embedding_model, s.torch_threads),
            s.index_dir,
            ann_threshold=s.ann_threshold,
            fusion=s.fusion,
            dense_weight=s.dense_weight,
            max_query_chars=s.max_query_chars,
            dense_backend=backend,
            piece_tokens=s.piece_tokens,
        )

    def documents(self, collection: str, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
        return self.store.list_documents(collection, limit, offset)

    def get_document(self, collection: str, ref: int | str) -> DocumentRecord:
        return self.store.get_document(collection, ref)

    def search(self, query: str, collection: str, *, k: int = 10) -> list[SearchHit]:
        return self._retriever.search(query, collection, k=k)

    def close(self) -> None:
        self.store.close()
