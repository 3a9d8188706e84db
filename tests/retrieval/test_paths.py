"""The shared path guard: links out of the roots, special files and oversize files are refused everywhere.

Red-team issue 13, items 1, 4 and 6: each case here was an attack that worked before the guard.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from deepwell.core.errors import InputError
from deepwell.retrieval.loaders import iter_files, load_file
from deepwell.retrieval.paths import read_regular_file, within_roots
from deepwell.rlm._context import load_context


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("the launch code is 0000")
    (allowed / "ok.txt").write_text("ordinary notes")
    (allowed / "link_out.txt").symlink_to(outside / "secret.txt")
    (allowed / "proc_status.txt").symlink_to(f"/proc/{os.getpid()}/status")
    os.mkfifo(allowed / "pipe.txt")
    return allowed, outside


def test_iter_files_refuses_links_that_leave_the_directory_and_special_files(tree: tuple[Path, Path]) -> None:
    allowed, _ = tree
    got = {p.name: why for p, why in iter_files([allowed])}
    assert got["ok.txt"] is None
    assert got["link_out.txt"] and "outside" in got["link_out.txt"]
    assert got["proc_status.txt"] and "outside" in got["proc_status.txt"]
    assert got["pipe.txt"] and "not a regular file" in got["pipe.txt"]


def test_iter_files_checks_against_the_roots_given(tree: tuple[Path, Path]) -> None:
    allowed, outside = tree
    got = dict(iter_files([allowed / "link_out.txt"], roots=[allowed]))
    assert "outside" in (got[allowed / "link_out.txt"] or "")
    assert dict(iter_files([outside / "secret.txt"], roots=[outside])) == {outside / "secret.txt": None}


def test_within_roots_resolves_links(tree: tuple[Path, Path]) -> None:
    allowed, _ = tree
    assert within_roots(allowed / "ok.txt", [allowed]) == (allowed / "ok.txt").resolve()
    with pytest.raises(InputError, match="outside the allowed roots"):
        within_roots(allowed / "link_out.txt", [allowed])
    with pytest.raises(InputError, match="no allowed roots"):
        within_roots(allowed / "ok.txt", [])


def test_a_fifo_is_refused_without_blocking(tree: tuple[Path, Path]) -> None:
    allowed, _ = tree
    result: list[BaseException | bytes] = []

    def read() -> None:
        try:
            result.append(read_regular_file(allowed / "pipe.txt", 1000))
        except BaseException as exc:  # the thread reports whatever happened
            result.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert isinstance(result[0], InputError) and "not a regular file" in str(result[0])


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", f"/proc/{os.getpid()}/status"])
def test_devices_and_proc_are_refused(special: str) -> None:
    with pytest.raises(InputError, match=r"not a regular file|system file"):
        read_regular_file(Path(special), 1000)


def test_load_file_uses_the_guard(tree: tuple[Path, Path]) -> None:
    allowed, _ = tree
    with pytest.raises(InputError, match="not a regular file"):
        load_file(allowed / "pipe.txt", 1000)
    with pytest.raises(InputError, match="over the"):
        (allowed / "big.md").write_text("x " * 1000)
        load_file(allowed / "big.md", 1000)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".log"])
def test_rlm_file_contexts_obey_the_size_limit(tmp_path: Path, suffix: str) -> None:
    f = tmp_path / ("big" + suffix)
    f.write_text("word " * 200_000)  # 1 MB
    with pytest.raises(InputError, match="over the"):
        load_context(f, max_bytes=1000)


def test_rlm_context_dev_zero_and_fifo_are_refused(tree: tuple[Path, Path]) -> None:
    allowed, _ = tree
    with pytest.raises(InputError, match=r"not a regular file|system file"):
        load_context(Path("/dev/zero"), max_bytes=1000)
    with pytest.raises(InputError, match="not a regular file"):
        load_context(allowed / "pipe.txt", max_bytes=1000)


def _nested_html(divs: int, paragraphs: int) -> str:
    return "<html><body>" + "<div>" * divs + "<p>word</p>" * paragraphs + "</div>" * divs + "</body></html>"


def test_deeply_nested_html_loads_within_its_time_budget(tmp_path: Path) -> None:
    """4,000 nested divs around 10,000 paragraphs: quadratic before (8.7 s), within a 5 s budget now."""
    f = tmp_path / "deep.html"
    f.write_text(_nested_html(4000, 10_000))
    doc = load_file(f, 10_000_000, max_seconds=5)
    assert doc.text.count("word") == 10_000


def test_a_file_over_its_parse_budget_is_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "deep.html").write_text(_nested_html(4000, 40_000))
    with pytest.raises(InputError, match="parsing took longer than"):
        load_file(tmp_path / "deep.html", 10_000_000, max_seconds=0.01)
