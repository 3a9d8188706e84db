"""Pydantic output models: they become the tools' output schemas, so clients get typed results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AnswerOut",
    "ChunkOut",
    "ChunksOut",
    "CollectionOut",
    "CollectionsOut",
    "DeleteOut",
    "DocumentInfoOut",
    "DocumentOut",
    "DocumentSummary",
    "DocumentsOut",
    "GrepMatch",
    "GrepOut",
    "Hit",
    "IngestOut",
    "OutlineOut",
    "RangeOut",
    "RunOut",
    "RunSummaryOut",
    "RunsOut",
    "SearchOut",
    "StepOut",
]


class Hit(BaseModel):
    """A search result with everything needed to cite it."""

    chunk_id: int
    document_id: int
    uri: str
    title: str
    text: str
    ordinal: int = Field(description="Position of the chunk in its document (0-based).")
    char_start: int = Field(description="Start of the chunk in the document's text.")
    char_end: int
    headings: list[str] = Field(description="Heading path of the section the chunk is in.")
    score: float
    scores: dict[str, float] = Field(description="Score at each stage: dense, keyword, fusion, rerank.")
    citation: str


class SearchOut(BaseModel):
    query: str
    collection: str
    mode: str
    hits: list[Hit]


class CollectionOut(BaseModel):
    name: str
    documents: int
    chunks: int
    embedding_model: str


class CollectionsOut(BaseModel):
    collections: list[CollectionOut]


class DocumentSummary(BaseModel):
    id: int
    uri: str
    title: str
    chars: int
    metadata: dict[str, Any]


class DocumentsOut(BaseModel):
    collection: str
    documents: list[DocumentSummary]
    offset: int
    next_offset: int | None = Field(description="Pass as offset to get the next page; null when done.")


class DocumentOut(BaseModel):
    id: int
    uri: str
    title: str
    chars: int
    chunk_count: int
    metadata: dict[str, Any]
    text: str = Field(description="The text, or its first max_chars characters (see truncated).")
    truncated: bool


class ChunkOut(BaseModel):
    id: int
    document_id: int
    ordinal: int
    text: str
    char_start: int
    char_end: int
    token_count: int
    headings: list[str]


class ChunksOut(BaseModel):
    chunks: list[ChunkOut]


class IngestOut(BaseModel):
    collection: str
    added: int
    updated: int
    unchanged: int
    chunks: int
    skipped: list[list[str]] = Field(description="[path, reason] for each file that was not ingested.")


class DeleteOut(BaseModel):
    deleted: bool
    uri: str


class OutlineItem(BaseModel):
    level: int
    title: str
    char: int
    line: int


class DocumentInfoOut(BaseModel):
    id: int
    uri: str
    title: str
    chars: int
    lines: int
    tokens: int | None
    chunks: int
    headings: int
    outline: list[OutlineItem]
    preview: str


class RangeOut(BaseModel):
    start_char: int
    end_char: int
    text: str
    truncated: bool
    total_chars: int


class GrepMatch(BaseModel):
    line: int
    char: int
    match: str
    context: str


class GrepOut(BaseModel):
    pattern: str
    matches: list[GrepMatch]
    total: int
    truncated: bool


class OutlineOut(BaseModel):
    outline: list[OutlineItem]
    chunks: list[dict[str, Any]] = Field(description="Chunk map: ordinal, char span, tokens, headings.")


class AnswerOut(BaseModel):
    answer: str
    citations: list[dict[str, Any]]
    seconds: float
    status: str = "answered"
    run_id: str | None = None
    mode: str | None = Field(default=None, description="The ask method, or the RLM mode that ran.")
    steps: int | None = Field(default=None, description="Steps of an RLM run.")
    how: str | None = Field(default=None, description="How an RLM run reached its answer.")


class RunSummaryOut(BaseModel):
    id: str
    kind: str
    status: str | None
    question: str
    created_at: datetime | None


class RunsOut(BaseModel):
    runs: list[RunSummaryOut]


class StepOut(BaseModel):
    seq: int
    parent_seq: int | None
    kind: str
    data: dict[str, Any]
    seconds: float
    created_at: datetime


class RunOut(BaseModel):
    id: str
    kind: str
    question: str
    status: str | None
    answer: str | None
    info: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    steps: list[StepOut]
