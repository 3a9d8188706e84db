"""The one path guard for every path a user or a tool hands in: roots, file kinds and sizes.

A check on the path as given is not enough: a link inside an allowed directory can point anywhere, a FIFO
blocks its reader forever, ``/dev/zero`` never ends and ``/proc`` files report size 0. So each file is
resolved and checked against the roots, opened without blocking, checked on the open descriptor (no race
between the check and the read) and read with a bound. Retrieval's loaders and the RLM's file contexts
both go through here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from deepwell.core.errors import InputError

__all__ = ["file_problem", "inside", "read_regular_file", "within_roots"]

_SYSTEM_TREES = (Path("/proc"), Path("/sys"), Path("/dev"))


def inside(path: Path, roots: Iterable[Path]) -> bool:
    """Whether the resolved ``path`` is one of the resolved ``roots`` or below one."""
    real = path.resolve()
    return any(real == r or real.is_relative_to(r) for r in (Path(r).resolve() for r in roots))


def within_roots(path: str | Path, roots: Iterable[Path]) -> Path:
    """``path`` resolved (links followed), or ``InputError`` if it is not under one of ``roots``."""
    real_roots = [Path(r).expanduser().resolve() for r in roots]
    if not real_roots:
        raise InputError(
            "Reading files here is off: no allowed roots are configured. Set DEEPWELL_ALLOWED_ROOTS, "
            "e.g. '[\"/home/me/docs\"]', in the server's environment."
        )
    p = Path(path).expanduser().resolve()
    if not any(p == r or p.is_relative_to(r) for r in real_roots):
        raise InputError(
            f"{path} is outside the allowed roots ({', '.join(map(str, real_roots))}); "
            "links are followed before the check."
        )
    return p


def file_problem(path: Path) -> str | None:
    """Why ``path`` (links followed) cannot be read as a document, or ``None`` if it is a regular file."""
    real = path.resolve()
    if any(real == t or real.is_relative_to(t) for t in _SYSTEM_TREES):
        return f"a system file ({real}), not a document"
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device)"
    return None


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; ``InputError`` for anything else.

    Opened with ``O_NONBLOCK`` so a FIFO cannot hang the caller, and the kind and size are checked on the
    open descriptor; the read stops one byte past the limit, so a file that grows cannot exhaust memory.
    """
    why = file_problem(path)
    if why is not None:
        raise InputError(f"{path}: {why}; pass a regular text, Markdown, HTML or PDF file")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}); check the path and permissions") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file (a FIFO, socket or device); pass a document")
        if st.st_size > max_bytes:
            raise InputError(_too_big(path, st.st_size, max_bytes))
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise InputError(_too_big(path, size, max_bytes))
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror}); check the path and permissions") from exc
    finally:
        os.close(fd)


def _too_big(path: Path, size: int, max_bytes: int) -> str:
    return (
        f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit; "
        "raise DEEPWELL_MAX_FILE_BYTES or split the file"
    )
