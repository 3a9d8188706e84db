"""The local engine: one object that owns the store, the models and the indexes.

``Deepwell`` (sync) is this engine plus the answering API; ``AsyncDeepwell`` drives it from an event loop.
Models load lazily, on first use, so commands that only touch the database start fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Self

from deepwell.agents import AskResult, Method, MoAConfig, Proposer
from deepwell.agents import ask as _ask
from deepwell.core.settings import Settings
from deepwell.reasoning import LLM, load_llm
from deepwell.retrieval import (
    Chunker,
    Embedder,
    Ingestor,
    IngestReport,
    Reranker,
    Retriever,
    SearchHit,
    load_embedder,
    load_reranker,
)
from deepwell.retrieval.embedding import resolve_model_dir
from deepwell.retrieval.ingest import Progress
from deepwell.storage import ChunkRecord, CollectionInfo, DocumentRecord, Store

__all__ = ["Engine"]


class _LazyEmbedder:
    """The configured embedder, loaded (torch, transformers, weights: seconds) only when a text must be
    embedded or tokenized. Keyword search over up-to-date indexes never needs it, so it never pays for it;
    the vector width comes from the model's pooling config when the model directory has one."""

    def __init__(self, name: str, threads: int | None) -> None:
        self.name = name
        self._threads = threads
        self.on_embedded: Callable[[int], None] | None = None

    @cached_property
    def _real(self) -> Embedder:
        return load_embedder(self.name, self._threads)

    @cached_property
    def dim(self) -> int:
        try:
            pooling = Path(resolve_model_dir(self.name)) / "1_Pooling" / "config.json"
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        except (OSError, ValueError, KeyError, TypeError):
            return self._real.dim

    @property
    def max_tokens(self) -> int:
        return self._real.max_tokens

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> Any:
        hook = self.on_embedded
        if hook is None:
            return self._real.encode(texts, batch_size=batch_size, on_batch=on_batch)

        def counted(n: int) -> None:
            hook(n)
            if on_batch:
                on_batch(n)

        # small batches while someone watches: progress moves every few chunks, not every few hundred
        return self._real.encode(texts, batch_size=min(batch_size, 8), on_batch=counted)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        return self._real.token_offsets(text)


class Engine:
    """Store, models and indexes of one local Deepwell; the front doors and orchestrators share it."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.store = Store(self.settings.db_url)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if "llm" in self.__dict__:
            from deepwell.reasoning import SyncLLM

            SyncLLM(self.llm).close()
        self.store.close()

    # models and indexes, built on first use -----------------------------------------------------
    @cached_property
    def embedder(self) -> Embedder:
        return _LazyEmbedder(self.settings.embedding_model, self.settings.torch_threads)

    @cached_property
    def llm(self) -> LLM:
        """The configured model (DEEPWELL_LLM_*), with its sampling defaults."""
        return load_llm(self.settings)

    @cached_property
    def reranker(self) -> Reranker:
        return load_reranker(self.settings.rerank_model, self.embedder)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(
            self.store,
            self.embedder,
            self.settings.index_dir,
            ann_threshold=self.settings.ann_threshold,
            fusion=self.settings.fusion,
            dense_weight=self.settings.dense_weight,
            max_query_chars=self.settings.max_query_chars,
            dense_backend=self._dense_backend(),
            doc_weight=self.settings.dense_doc_weight,
            piece_tokens=self.settings.piece_tokens,
        )

    def _dense_backend(self) -> str:
        wanted = self.settings.dense_backend
        if wanted == "auto":
            return "pgvector" if self.store.pgvector is not None else "faiss"
        return wanted

    @cached_property
    def _ingestor(self) -> Ingestor:
        chunker = Chunker(
            self.embedder.token_offsets, self.settings.chunk_tokens, self.settings.chunk_overlap
        )
        return Ingestor(self.store, self.embedder, chunker, max_file_bytes=self.settings.max_file_bytes)

    # ingestion ----------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | Path],
        collection: str = "default",
        *,
        include: list[str] | None = None,
        exclude: list[str] | None = None,
        progress: Progress | None = None,
        roots: Iterable[Path] | None = None,
        on_chunks: Callable[[int], None] | None = None,
    ) -> IngestReport:
        """Ingest files and directories; ``roots`` confines every file read (links followed) to them.

        ``progress(item, files_read, files_total)`` fires as each file is read and chunked, ``on_chunks(n)``
        as each few chunks are embedded (the slow part), so a caller can show honest progress and a rate.
        """
        with self._watching(on_chunks):
            report = self._ingestor.ingest_paths(
                paths, collection, include=include, exclude=exclude, progress=progress, roots=roots
            )
        self._refresh(collection)
        return report

    @contextmanager
    def _watching(self, on_chunks: Callable[[int], None] | None) -> Iterator[None]:
        embedder = self.embedder
        if on_chunks is None or not isinstance(embedder, _LazyEmbedder):
            yield
            return
        embedder.on_embedded = on_chunks
        try:
            yield
        finally:
            embedder.on_embedded = None

    def ingest_texts(
        self,
        items: Iterable[tuple[str, str, dict[str, Any] | None]],
        collection: str = "default",
        *,
        progress: Progress | None = None,
        on_chunks: Callable[[int], None] | None = None,
    ) -> IngestReport:
        with self._watching(on_chunks):
            report = self._ingestor.ingest_texts(items, collection, progress=progress)
        self._refresh(collection)
        return report

    def _refresh(self, collection: str) -> None:
        """Bring the derived indexes up to date now, so the first search is fast."""
        self.retriever.indexes(self.store.collection_id(collection))

    # search -------------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        collection: str = "default",
        *,
        mode: str = "hybrid",
        k: int = 10,
        rerank: bool = False,
        filters: dict[str, Any] | None = None,
        fusion: str | None = None,
        dense_weight: float | None = None,
    ) -> list[SearchHit]:
        retriever = self.retriever
        if rerank and retriever.reranker is None:
            retriever.reranker = self.reranker
        return retriever.search(
            query,
            collection,
            mode=mode,
            k=k,
            rerank=rerank,
            filters=filters,
            fusion=fusion,
            dense_weight=dense_weight,
        )

    # answers ------------------------------------------------------------------------------------
    async def rag_async(
        self,
        question: str,
        collection: str = "default",
        *,
        method: Method = "self-moa",
        k: int = 4,
        samples: int = 3,
        proposers: list[Proposer] | None = None,
        config: MoAConfig | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> AskResult:
        """A cited answer from the top-``k`` passages of ``collection``, or status ``not_found``; the run
        is stored (``run_id``). ``ask`` chooses between this and an RLM run; this is the passages way."""
        if method == "moa" and proposers is None:
            proposers = self.moa_proposers()
        return await _ask(
            question,
            lambda q, n: self.search(q, collection, k=n),
            self.llm,
            method=method,
            k=k,
            samples=samples,
            proposers=proposers,
            config=config,
            runs=self.store.runs,
            on_text=on_text,
        )

    def moa_proposers(self) -> list[Proposer]:
        """One proposer per model in DEEPWELL_MOA_MODELS (the default model when the list is empty)."""
        names = self.settings.moa_models or [self.settings.llm_model]
        out = []
        for i, name in enumerate(names, 1):
            llm = self.llm if name == self.settings.llm_model else self._extra_llm(name)
            base = getattr(llm, "template", "") is None
            out.append(Proposer(llm, name, temperature=None, seed=i, completion=base))
        return out

    def _extra_llm(self, name: str) -> LLM:
        cache: dict[str, LLM] = self.__dict__.setdefault("_extra_llms", {})
        if name not in cache:
            cache[name] = load_llm(
                self.settings.model_copy(update={"llm_model": name, "llm_backend": "llama_cpp"})
            )
        return cache[name]

    # collections and documents ------------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        return self.store.collections()

    def documents(self, collection: str, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
        return self.store.list_documents(collection, limit, offset)

    def get_document(self, collection: str, ref: int | str) -> DocumentRecord:
        return self.store.get_document(collection, ref)

    def chunks(self, collection: str, ref: int | str) -> list[ChunkRecord]:
        return self.store.chunks(collection, ref)

    def get_chunk(self, chunk_id: int, neighbours: int = 0) -> list[ChunkRecord]:
        return self.store.get_chunk(chunk_id, neighbours)

    def delete_document(self, collection: str, ref: int | str) -> bool:
        ok = self.store.delete_document(collection, ref)
        self._refresh(collection)
        return ok

    def delete_collection(self, name: str) -> bool:
        cid = self.store.collection_id(name)
        ok = self.store.delete_collection(name)
        self.retriever.forget(cid)
        return ok
