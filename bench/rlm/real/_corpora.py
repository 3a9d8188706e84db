"""The raw real documents, read from where Debian installs them (nothing is copied into the repository).

``debian``  ``/usr/share/doc/*/changelog.Debian.gz``, one changelog per source package (binary packages
            built from one source share a changelog; duplicates are dropped);
``stdlib``  CPython's standard library, ``/usr/lib/python3.11/*.py`` (top-level modules);
``policy``  the Debian Policy Manual as text, ``/usr/share/doc/debian-policy/policy.txt.gz``
            (``apt-get install debian-policy``);
``pynews``  Python's own changelog, ``/usr/share/doc/python3.11/NEWS.gz`` and ``HISTORY.gz``
            (``python3.11`` ships them);
``nodejs``  Node.js's own changelogs, ``/usr/share/doc/nodejs/changelogs/CHANGELOG_V*.md`` (markdown:
            release -> section -> commit line; Debian's ``nodejs`` package ships them).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path

from deepwell.core.errors import ConfigError

__all__ = [
    "DEBIAN_DOCS",
    "NEWS_FILES",
    "NODE_CHANGELOGS",
    "POLICY_FILE",
    "STDLIB_DIR",
    "CorpusMissing",
    "available",
    "debian_changelogs",
    "news_texts",
    "node_changelogs",
    "policy_text",
    "stdlib_sources",
]

DEBIAN_DOCS = Path("/usr/share/doc")
STDLIB_DIR = Path("/usr/lib/python3.11")
POLICY_FILE = Path("/usr/share/doc/debian-policy/policy.txt.gz")
NODE_CHANGELOGS = Path("/usr/share/doc/nodejs/changelogs")
NEWS_FILES = (Path("/usr/share/doc/python3.11/NEWS.gz"), Path("/usr/share/doc/python3.11/HISTORY.gz"))


class CorpusMissing(ConfigError):
    """A real corpus is not installed; the message names the package to install."""


def _gunzip(path: Path) -> str:
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


@cache
def debian_changelogs() -> tuple[tuple[str, str], ...]:
    """``(source package, changelog text)`` sorted by package, one per distinct changelog."""
    seen: set[str] = set()
    out: dict[str, str] = {}
    for path in sorted(DEBIAN_DOCS.glob("*/changelog.Debian.gz")):
        try:
            text = _gunzip(path)
        except (OSError, EOFError):
            continue
        digest = hashlib.sha1(text.encode()).hexdigest()
        first = text.split(" ", 1)[0].strip()
        if digest in seen or not first or "(" not in text.split("\n", 1)[0]:
            continue
        seen.add(digest)
        out.setdefault(first, text)
    if len(out) < 20:
        raise CorpusMissing(
            f"Only {len(out)} Debian changelogs under {DEBIAN_DOCS}/*/changelog.Debian.gz; the debian domain "
            "needs a Debian system with its /usr/share/doc (dpkg excludes it in some container images)."
        )
    return tuple(sorted(out.items()))


@cache
def stdlib_sources() -> tuple[tuple[str, str], ...]:
    """``(module file name, source)`` for the top-level modules of Python 3.11's standard library."""
    files = sorted(STDLIB_DIR.glob("*.py"))
    if len(files) < 50:
        raise CorpusMissing(
            f"{STDLIB_DIR} holds {len(files)} modules; install python3.11 (libpython3.11-stdlib)."
        )
    return tuple((p.name, p.read_text(encoding="utf-8", errors="replace")) for p in files)


@cache
def policy_text() -> str:
    if not POLICY_FILE.is_file():
        raise CorpusMissing(f"{POLICY_FILE} is missing; install it with `apt-get install debian-policy`.")
    return _gunzip(POLICY_FILE)


@cache
def news_texts() -> tuple[tuple[str, str], ...]:
    """``(file name, text)`` of Python's NEWS (3.11 back to 3.5) and HISTORY (older releases)."""
    missing = [p for p in NEWS_FILES if not p.is_file()]
    if missing:
        raise CorpusMissing(f"{missing[0]} is missing; install it with `apt-get install python3.11`.")
    return tuple((p.name.removesuffix(".gz"), _gunzip(p)) for p in NEWS_FILES)


@cache
def node_changelogs() -> tuple[tuple[str, str], ...]:
    """``(file name, text)`` of the Node.js changelogs with release headings (io.js and the 0.x archive
    use other layouts and are left out)."""
    files = sorted(
        p for p in NODE_CHANGELOGS.glob("CHANGELOG_V*.md") if not p.name.startswith("CHANGELOG_V0")
    )
    if len(files) < 5:
        raise CorpusMissing(f"{NODE_CHANGELOGS} holds {len(files)} changelogs; install `nodejs` from apt.")
    return tuple((p.name, p.read_text(encoding="utf-8", errors="replace")) for p in files)


_LOADERS = {
    "debian": debian_changelogs,
    "stdlib": stdlib_sources,
    "policy": policy_text,
    "pynews": news_texts,
    "nodejs": node_changelogs,
}


def available(domain: str) -> str | None:
    """``None`` when ``domain``'s documents are here, else the reason (with what to install)."""
    try:
        _LOADERS[domain]()
    except CorpusMissing as exc:
        return str(exc)
    return None
