"""The second question type: "Which version of the Debian P package fixed CVE-X?", read from changelogs.

Source: the ``changelog.Debian.gz`` files Debian installs under /usr/share/doc (one per source package;
binary packages of the same source share it, so each source is read once; the kernel's is left out —
its thousands of CVEs would be most of the corpus). Each changelog entry (``pkg (version) dist;
urgency=…``, its bullet lines, the maintainer line) becomes one passage. A CVE named in exactly one
entry of its package, on a line that says it was fixed or patched, gives the question, and that entry's
version is the answer. The other entries that name CVEs are in the corpus too — same package, same
shape, different version — so copying any version string is wrong. Only entries short enough to be one
chunk (the version in the header and the CVE in the body stay together) are asked about.
"""

from __future__ import annotations

import gzip
import re
from collections import defaultdict
from pathlib import Path

from bench.answers.dataset import Passage, Question, halves

__all__ = ["DOC", "load"]

DOC = Path("/usr/share/doc")
_HEADER = re.compile(r"^([a-z0-9][a-z0-9+.-]+) \(([^)\s]+)\) [^;]+;.*$")
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_FIXED = re.compile(r"fix|patch|address|secur|vulnerab|CVE-\d{4}-\d+\s*[:)]", re.I)
MAX_CHARS = 900  # one 256-token chunk holds the entry, header and body together
MAX_ENTRIES = 12  # CVE-naming entries per package: keeps one package from filling the corpus


def _entries(path: Path) -> list[tuple[str, str, str]]:
    """(source, version, text) per changelog entry, newest first."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except (OSError, EOFError):
        return []
    out: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        if m := _HEADER.match(line):
            out.append((m.group(1), m.group(2), [line]))
        elif out:
            out[-1][2].append(line)
    return [(s, v, "\n".join(lines).strip()) for s, v, lines in out]


def load(per_split: int | None = None, seed: int = 12) -> tuple[list[Passage], list[Question]]:
    """The changelog passages and the CVE questions (``per_split`` per half, or all)."""
    files = sorted(DOC.glob("*/changelog.Debian.gz"))
    if not files:
        raise SystemExit(f"no {DOC}/*/changelog.Debian.gz here (a Debian system ships them)")
    seen: set[str] = set()
    passages: list[Passage] = []
    candidates: list[Question] = []
    for path in files:
        entries = _entries(path)
        if not entries or entries[0][0] in seen or entries[0][0].startswith("linux"):
            continue
        source = entries[0][0]
        seen.add(source)
        named = [e for e in entries if _CVE.search(e[2])][:MAX_ENTRIES]
        versions: dict[str, set[str]] = defaultdict(set)
        for _, version, text in entries:  # every entry counts for uniqueness, not only the kept ones
            for cve in _CVE.findall(text):
                versions[cve].add(version)
        for _, version, text in named:
            uri = f"debian-changelog:{source}/{version}"
            passages.append(Passage(uri, text))
            if len(text) > MAX_CHARS:
                continue
            for cve in dict.fromkeys(_CVE.findall(text)):
                line = next(ln for ln in text.splitlines() if cve in ln)
                if versions[cve] == {version} and _FIXED.search(line):
                    q = f"Which version of the Debian {source} package fixed {cve}?"
                    candidates.append(Question(f"{source}:{cve}", q, version, "", uri))
    # one question per package entry at most, so no single changelog dominates
    by_uri: dict[str, Question] = {}
    for q in candidates:
        by_uri.setdefault(q.uri, q)
    return passages, halves(sorted(by_uri.values(), key=lambda q: q.id), seed, per_split)
