"""Plain records handed out of the store, so callers never hold live ORM objects or sessions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ChunkRecord", "CollectionInfo", "DocumentRecord", "NewChunk"]


@dataclass(frozen=True)
class CollectionInfo:
    id: int
    name: str
    documents: int
    chunks: int
    embedding_model: str
    embedding_dim: int
    revision: int
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DocumentRecord:
    id: int
    collection: str
    uri: str
    title: str
    text: str
    content_hash: str
    metadata: dict[str, Any]
    chunk_count: int
    created_at: datetime
    updated_at: datetime

    def to_dict(self, *, with_text: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not with_text:
            d.pop("text")
        return d


@dataclass(frozen=True)
class ChunkRecord:
    id: int
    document_id: int
    ordinal: int
    text: str
    char_start: int
    char_end: int
    token_count: int
    headings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NewChunk:
    """A chunk about to be stored, with its embedding as float32 bytes."""

    ordinal: int
    text: str
    char_start: int
    char_end: int
    token_count: int
    headings: list[str]
    vector: bytes
