"""Engine creation and the versioned schema.

Migrations are append-only and numbered (the simonw/llm discipline): a store records the highest one it
has applied in ``deepwell_meta.schema_version``. A store newer than this code is refused rather than
misread; an older one is migrated forward.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, ExceptionContext, create_engine, event, inspect, select, text
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from deepwell.core.errors import SchemaError, StorageError
from deepwell.storage._models import Base, Meta

__all__ = ["SCHEMA_VERSION", "open_engine"]


def _m1_initial(engine: Engine) -> None:
    Base.metadata.create_all(engine)


_MIGRATIONS: list[Callable[[Engine], None]] = [_m1_initial]
SCHEMA_VERSION = len(_MIGRATIONS)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def open_engine(url: str) -> Engine:
    """Connect, check the schema version and migrate; every failure says how to fix it."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(
            f"Cannot use database URL {_redact(url)!r}: {exc}. "
            "Set DEEPWELL_DATABASE_URL to a valid SQLAlchemy URL (sqlite:///path or postgresql+psycopg://...)."
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "handle_error", _clear_errors(url))
    try:
        _migrate(engine)
    except StorageError:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        raise StorageError(
            f"Cannot reach the database at {_redact(url)}: {exc.orig}. "
            "Start the database server or fix DEEPWELL_DATABASE_URL, then run `deepwell doctor`."
        ) from exc
    except (DatabaseError, SQLAlchemyError, ValueError) as exc:  # a corrupt or truncated file, a foreign DB
        engine.dispose()
        why = getattr(exc, "orig", None) or exc
        raise StorageError(
            f"The database at {_redact(url)} is corrupt, truncated or not a Deepwell store ({why}). "
            "Run `deepwell doctor`; then restore it from a backup, or move it aside and ingest again."
        ) from exc
    return engine


# what SQLite and PostgreSQL say when a write finds no room: the disk is full, or a file size limit hit
_NO_ROOM = ("database or disk is full", "disk i/o error", "no space left", "file too large")


def _clear_errors(url: str) -> Callable[[ExceptionContext], None]:
    """Turn the database errors a user can fix (no room to write, a server that went away) into one
    ``StorageError`` that says what to do, wherever in the code the statement ran. A pre-ping's failure is
    left alone so the pool can reconnect after a restart."""

    server = not url.startswith("sqlite")  # a SQLite file that fails to open is corrupt, not unreachable

    def handle(ctx: ExceptionContext) -> None:
        if ctx.is_pre_ping:
            return
        why = str(ctx.original_exception).strip().splitlines()[0] if str(ctx.original_exception) else ""
        sqlstate = getattr(ctx.original_exception, "sqlstate", None)
        if sqlstate == "53100" or any(s in why.lower() for s in _NO_ROOM):
            raise StorageError(
                f"The database at {_redact(url)} could not write ({why}): the disk is probably full. "
                "Free some space and run the command again; the failed write was rolled back, so the store "
                "is intact."
            ) from ctx.original_exception
        if ctx.is_disconnect or (ctx.connection is None and server):
            raise StorageError(
                f"Cannot reach the database at {_redact(url)}: {why}. "
                "Start the database server or fix DEEPWELL_DATABASE_URL, then run `deepwell doctor`."
            ) from ctx.original_exception

    return handle


def _migrate(engine: Engine) -> None:
    with engine.begin() as conn:
        has_meta = inspect(conn).has_table(Meta.__tablename__)
    current = 0
    if has_meta:
        with Session(engine) as s:
            row = s.scalar(select(Meta).where(Meta.key == "schema_version"))
            current = int(row.value) if row else 0
    if current > SCHEMA_VERSION:
        raise SchemaError(
            f"This store has schema version {current}, but this Deepwell understands up to {SCHEMA_VERSION}. "
            "Upgrade Deepwell (pip install -U deepwell) or point DEEPWELL_DATA_DIR at another store."
        )
    if current == SCHEMA_VERSION:
        return
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:  # serialise concurrent first runs
            conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            _apply(engine, current)
    else:
        _apply(engine, current)


def _apply(engine: Engine, current: int) -> None:
    for number, migration in enumerate(_MIGRATIONS, start=1):
        if number > current:
            migration(engine)
    with Session(engine) as s, s.begin():
        s.merge(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
