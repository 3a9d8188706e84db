"""Retrieval: loading, chunking, embedding, FAISS + BM25 indexes, fusion, reranking and citations."""

from deepwell.retrieval.chunking import Chunker, ChunkSpan
from deepwell.retrieval.embedding import Embedder, SentenceTransformerEmbedder, load_embedder
from deepwell.retrieval.headings import Heading, find_headings, heading_paths
from deepwell.retrieval.indexes import BM25Index, FaissIndex
from deepwell.retrieval.ingest import Ingestor, IngestReport
from deepwell.retrieval.loaders import LoadedDocument, iter_files, load_file
from deepwell.retrieval.paths import file_problem, read_regular_file, within_roots
from deepwell.retrieval.rerank import Reranker, load_reranker
from deepwell.retrieval.search import MODES, Retriever, SearchHit

__all__ = [
    "MODES",
    "BM25Index",
    "ChunkSpan",
    "Chunker",
    "Embedder",
    "FaissIndex",
    "Heading",
    "IngestReport",
    "Ingestor",
    "LoadedDocument",
    "Reranker",
    "Retriever",
    "SearchHit",
    "SentenceTransformerEmbedder",
    "file_problem",
    "find_headings",
    "heading_paths",
    "iter_files",
    "load_embedder",
    "load_file",
    "load_reranker",
    "read_regular_file",
    "within_roots",
]
