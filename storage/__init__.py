"""Storage: the database (SQLite by default, PostgreSQL for bigger deployments) is the source of truth."""

from storage._db import SCHEMA_VERSION
from storage._models import Run, RunStep
from storage._records import ChunkRecord, CollectionInfo, DocumentRecord, NewChunk
from storage._runs import RunLog, RunRecord, StepRecord
from storage._store import Store

__all__ = [
    "SCHEMA_VERSION",
    "ChunkRecord",
    "CollectionInfo",
    "DocumentRecord",
    "NewChunk",
    "Run",
    "RunLog",
    "RunRecord",
    "RunStep",
    "StepRecord",
    "Store",
]
