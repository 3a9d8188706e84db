"""The peers: what a user gets from raw libraries, over plain fixed windows of the same documents.

Every peer sees the same chunks: 180-word windows every 150 words (``window_chunks``), a document scored
by its best window. Chunk vectors come from the same MiniLM (read through the embedding cache: they are
the vectors ``SentenceTransformer.encode`` returns); each query is encoded live, so latency includes it.

- ``raw bm25s``: ``bm25s`` with English stopwords and the Snowball stemmer (its README recipe);
- ``raw MiniLM dense``: ``faiss.IndexFlatIP`` over the normalised window vectors;
- ``LlamaIndex fusion``: LlamaIndex's ``QueryFusionRetriever`` (one query, no LLM rewriting, reciprocal
  rank fusion) over its ``VectorStoreIndex`` (the window nodes, with their MiniLM vectors) and its
  ``BM25Retriever`` over the same nodes; the query is embedded by LlamaIndex's ``HuggingFaceEmbedding``
  loading the same model directory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from bench.retrieval.lab import window_chunks

__all__ = ["PEER_DEPTH", "WindowPeers"]

PEER_DEPTH = 100  # windows retrieved per query before collapsing to documents
Search = Callable[[str], list[tuple[str, float]]]  # query -> (doc_id, score) per window, best first


class WindowPeers:
    def __init__(
        self,
        model_dir: str,
        corpus: Sequence[tuple[str, str, object]],
        encode_chunks: Callable[[list[str]], np.ndarray],
    ) -> None:
        import bm25s
        import faiss
        import Stemmer
        from sentence_transformers import SentenceTransformer

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._bm25s = bm25s
        self._stemmer = Stemmer.Stemmer("english")
        self.model_dir = model_dir
        self.model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
        self.texts: list[str] = []
        self.owner: list[str] = []
        for doc_id, text, _ in corpus:
            parts = window_chunks(text) or [text]
            self.texts += parts
            self.owner += [doc_id] * len(parts)
        self.vectors = np.ascontiguousarray(encode_chunks(self.texts), dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.vectors.shape[1])
        self.index.add(self.vectors)
        self.bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(self.texts, stopwords="en", stemmer=self._stemmer, show_progress=False)
        self.bm25.index(tokens, show_progress=False)
        self._fusion: object | None = None
        # when set, query vectors come from here (the benchmark's cache) instead of a live encode
        self.query_vectors: Callable[[str], np.ndarray] | None = None

    def dense(self, query: str) -> list[tuple[str, float]]:
        if self.query_vectors is not None:
            q = self.query_vectors(query).reshape(1, -1).astype(np.float32)
        else:
            q = np.asarray(self.model.encode([query], normalize_embeddings=True), dtype=np.float32)
        scores, idx = self.index.search(q, min(PEER_DEPTH, len(self.texts)))
        return [(self.owner[i], float(s)) for i, s in zip(idx[0], scores[0], strict=True) if i >= 0]

    def keyword(self, query: str) -> list[tuple[str, float]]:
        tokens = self._bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer, show_progress=False)
        if not tokens.ids[0]:
            return []
        k = min(PEER_DEPTH, len(self.texts))
        docs, scores = self.bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self.owner[i], float(s)) for i, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def llamaindex(self, query: str) -> list[tuple[str, float]]:
        if self._fusion is None:
            self._fusion = self._build_llamaindex()
        from llama_index.core.schema import QueryBundle

        bundle = QueryBundle(query)
        if self.query_vectors is not None:
            bundle.embedding = self.query_vectors(query).tolist()
        nodes = self._fusion.retrieve(bundle)  # type: ignore[attr-defined]
        return [(n.node.metadata["doc_id"], float(n.score or 0.0)) for n in nodes]

    def _build_llamaindex(self) -> object:
        from llama_index.core import Settings, StorageContext, VectorStoreIndex
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.schema import TextNode
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.retrievers.bm25 import BM25Retriever

        embed = HuggingFaceEmbedding(model_name=self.model_dir, device="cpu", normalize=True)
        Settings.embed_model = embed
        nodes = [
            TextNode(text=t, id_=f"w{i}", metadata={"doc_id": d}, embedding=self.vectors[i].tolist())
            for i, (t, d) in enumerate(zip(self.texts, self.owner, strict=True))
        ]
        storage = StorageContext.from_defaults()
        storage.docstore.add_documents(nodes)
        index = VectorStoreIndex(nodes, storage_context=storage, embed_model=embed)
        k = min(PEER_DEPTH, len(nodes))
        bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=k, stemmer=self._stemmer)
        # num_queries=1: no query generation, so the LLM is never called (MockLLM only fills the slot
        # that would otherwise reach for an OpenAI key)
        return QueryFusionRetriever(
            [index.as_retriever(similarity_top_k=k), bm25],
            llm=MockLLM(),
            mode="reciprocal_rerank",
            similarity_top_k=k,
            num_queries=1,
            use_async=False,
        )
