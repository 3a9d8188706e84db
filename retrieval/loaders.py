"""Turn files into clean text with structure kept as Markdown-style heading lines.

Loaders are picked by file suffix from a registry. Each returns a :class:`LoadedDocument` or raises
:class:`~deepwell.errors.InputError` with the reason the file was skipped.
"""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepwell.core.errors import InputError
from deepwell.retrieval.paths import file_problem, inside, read_regular_file

__all__ = ["LOADERS", "LoadedDocument", "iter_files", "load_file", "load_text"]


@dataclass
class LoadedDocument:
    uri: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _decode(data: bytes, path: Path) -> str:
    if b"\x00" in data[:8192]:
        raise InputError(f"{path}: looks binary (NUL bytes); only text, Markdown, HTML and PDF are ingested")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") > max(10, len(text) // 100):
            raise InputError(f"{path}: not UTF-8 text; convert it to UTF-8 (e.g. iconv -t utf-8)") from None
        return text


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _first_heading(text: str, fallback: str) -> str:
    m = re.search(r"^#{1,6}\s+(.+)$", text, flags=re.M)
    return m.group(1).strip() if m else fallback


def _load_plain(path: Path, data: bytes) -> LoadedDocument:
    text = _normalise(_decode(data, path))
    return LoadedDocument(uri=str(path), title=_first_heading(text, path.stem), text=text)


_BOILERPLATE = "script, style, noscript, nav, header, footer, aside, form, iframe, svg, template"
_BLOCKS = {"p", "li", "pre", "blockquote", "td", "th", "dt", "dd", "figcaption", "caption"}


def html_to_text(html: str) -> tuple[str, str]:
    """Readable text of an HTML page, headings kept as ``#`` lines; returns ``(title, text)``.

    One pass over the tree that carries "inside a block" down to children, so nesting depth costs
    nothing (walking each block's ancestors made 4,000 nested ``<div>`` quadratic).
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(_flatten_if_deep(html))
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    for node in tree.css(_BOILERPLATE):
        node.decompose()
    root = tree.css_first("main") or tree.css_first("article") or tree.body or tree.root
    if root is None:
        return title, ""
    parts: list[str] = []
    stack: list[tuple[Any, bool]] = [(root.child, False)]
    seen = 0
    while stack:
        node, in_block = stack.pop()
        if node is None:
            continue
        stack.append((node.next, in_block))
        seen += 1
        if seen % 4096 == 0:
            _check_deadline()
        tag = node.tag
        if tag and len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            t = node.text(separator=" ", strip=True)
            if t:
                parts.append("#" * int(tag[1]) + " " + t)
        elif tag in _BLOCKS:
            if not in_block:
                t = node.text(separator=" ", strip=True)
                if t:
                    parts.append(
                        ("- " if tag == "li" else "") + re.sub(r"\s+", " ", t) if tag != "pre" else t
                    )
            in_block = True
        stack.append((node.child, in_block))
    if not parts:
        parts.append(root.text(separator="\n", strip=True))
    return title, "\n\n".join(parts)


_MAX_DEPTH = 256
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>")
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"]
)
# the tags whose meaning html_to_text uses (and the boilerplate it drops): kept when flattening
_KEEP = re.compile(
    r"</?(?!(?:p|li|pre|blockquote|td|th|dt|dd|figcaption|caption|h[1-6]|title|head|body|html|main|"
    r"article|script|style|noscript|nav|header|footer|aside|form|iframe|svg|template|table|tr|ul|ol|dl|br)"
    r"\b)[a-zA-Z][a-zA-Z0-9]*[^>]*>"
)


def _flatten_if_deep(html: str) -> str:
    """Drop purely structural tags (``div``, ``span``, ...) from absurdly deep markup before parsing.

    An HTML parser checks the stack of open elements at many start tags, so thousands of nested ``div``
    make parsing quadratic in C, where no time budget can interrupt it; no real page nests this deep.
    """
    depth = deepest = 0
    for m in _TAG.finditer(html):
        if m.group(1):
            depth = max(0, depth - 1)
        elif not m.group(3) and m.group(2).lower() not in _VOID:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > _MAX_DEPTH:
                    return _KEEP.sub("", html)
    return html


_DEADLINE: ContextVar[float | None] = ContextVar("deepwell_parse_deadline", default=None)


def _check_deadline() -> None:
    """Parsers call this between units of work; past the file's time budget the file is skipped."""
    deadline = _DEADLINE.get()
    if deadline is not None and time.monotonic() > deadline:
        raise _TooSlow


class _TooSlow(Exception):
    pass


def _load_html(path: Path, data: bytes) -> LoadedDocument:
    title, text = html_to_text(_decode(data, path))
    text = _normalise(text)
    return LoadedDocument(uri=str(path), title=title or _first_heading(text, path.stem), text=text)


def _load_pdf(path: Path, data: bytes) -> LoadedDocument:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise InputError(f"{path}: the PDF is encrypted; decrypt it first (e.g. qpdf --decrypt)")
        pages = []
        for i, page in enumerate(reader.pages):
            _check_deadline()
            t = (page.extract_text() or "").strip()
            if t:
                pages.append(f"## Page {i + 1}\n\n{t}")
        title = (reader.metadata.title if reader.metadata else None) or path.stem
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: malformed PDF ({exc}); re-export it or convert it to text") from exc
    text = _normalise("\n\n".join(pages))
    if not text:
        raise InputError(f"{path}: the PDF has no extractable text (scanned?); run OCR on it first")
    return LoadedDocument(uri=str(path), title=str(title), text=text, metadata={"pages": len(reader.pages)})


LOADERS: dict[str, Callable[[Path, bytes], LoadedDocument]] = {
    ".txt": _load_plain,
    ".text": _load_plain,
    ".md": _load_plain,
    ".markdown": _load_plain,
    ".rst": _load_plain,
    # source and mail are text too; the RLM's structure model reads them as class/def and messages
    ".py": _load_plain,
    ".pyi": _load_plain,
    ".mbox": _load_plain,
    ".eml": _load_plain,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
}


def load_file(path: Path, max_bytes: int, max_seconds: float = 60.0) -> LoadedDocument:
    """Load one file through the loader for its suffix; a file that takes longer than ``max_seconds`` to
    parse is refused with that reason, so one pathological file cannot stall an ingest."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; supported: {', '.join(LOADERS)}"
        )
    data = read_regular_file(path, max_bytes)
    token = _DEADLINE.set(time.monotonic() + max_seconds)
    try:
        doc = loader(path, data)
    except _TooSlow:
        raise InputError(
            f"{path}: parsing took longer than {max_seconds:g}s, so the file was skipped; "
            "simplify or convert it (e.g. to text) and ingest that"
        ) from None
    except InputError:
        raise
    except Exception as exc:  # a parser bug on one odd file must not stop a whole ingest
        raise InputError(f"{path}: could not be parsed ({type(exc).__name__}: {exc})") from exc
    finally:
        _DEADLINE.reset(token)
    if not doc.text.strip():
        raise InputError(f"{path}: empty (no text after extraction)")
    doc.uri = str(path.resolve())
    doc.metadata.setdefault("source", doc.uri)
    doc.metadata.setdefault("type", path.suffix.lower().lstrip("."))
    return doc


def load_text(
    uri: str, text: str, metadata: dict[str, Any] | None = None, title: str | None = None
) -> LoadedDocument:
    text = _normalise(text)
    if not text:
        raise InputError(f"{uri}: empty text")
    return LoadedDocument(
        uri=uri, title=title or _first_heading(text, uri), text=text, metadata=dict(metadata or {})
    )


def _matches(path: Path, root: Path, patterns: Iterable[str]) -> bool:
    rel = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(path.name, p) for p in patterns)


def iter_files(
    paths: Iterable[str | Path],
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    *,
    roots: Iterable[Path] | None = None,
) -> Iterator[tuple[Path, str | None]]:
    """Yield ``(file, None)`` for each file to load, or ``(path, reason)`` for a path that cannot be used.

    Every file is checked after following its links: it must stay inside ``roots`` (when given) and inside
    the directory it was found in, and be a regular file; handing in a directory is not permission to read
    whatever its links point at.
    """
    allowed = [Path(r).expanduser().resolve() for r in roots] if roots is not None else None

    def problem(f: Path, base: Path | None) -> str | None:
        if allowed is not None and not inside(f, allowed):
            return "outside the allowed roots (links are followed)"
        if base is not None and not inside(f, [base]):
            return f"a link to outside {base}"
        return file_problem(f)

    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            yield p, "no such file or directory"
            continue
        if not p.is_dir():
            yield p, problem(p, None)
            continue
        root = p
        for f in sorted(root.rglob("*")):
            if f.is_dir() or any(part.startswith(".") for part in f.relative_to(root).parts):
                continue
            if include and not _matches(f, root, include):
                continue
            if exclude and _matches(f, root, exclude):
                continue
            if not include and f.suffix.lower() not in LOADERS:
                continue
            yield f, problem(f, root)
