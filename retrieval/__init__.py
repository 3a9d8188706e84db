"""Retrieval: loading, chunking, embedding, FAISS + BM25 indexes, fusion, reranking and citations."""

from retrieval.chunking import Chunker, ChunkSpan
from retrieval.embedding import Embedder, SentenceTransformerEmbedder, load_embedder
from retrieval.indexes import BM25Index, FaissIndex
from retrieval.ingest import Ingestor, IngestReport
from retrieval.loaders import LoadedDocument, load_file
from retrieval.rerank import Reranker, load_reranker
from retrieval.search import MODES, Retriever, SearchHit

__all__ = [
    "MODES",
    "BM25Index",
    "ChunkSpan",
    "Chunker",
    "Embedder",
    "FaissIndex",
    "IngestReport",
    "Ingestor",
    "LoadedDocument",
    "Reranker",
    "Retriever",
    "SearchHit",
    "SentenceTransformerEmbedder",
    "load_embedder",
    "load_file",
    "load_reranker",
]
