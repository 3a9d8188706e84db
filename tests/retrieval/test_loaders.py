from __future__ import annotations

from pathlib import Path

import pytest

from deepwell.core.errors import InputError
from deepwell.retrieval.loaders import html_to_text, iter_files, load_file


def make_pdf(path: Path, text: str) -> None:
    """Write a minimal one-page PDF with ``text`` (our own fixture; no PDF library needed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))


def test_html_drops_boilerplate_and_keeps_headings() -> None:
    title, text = html_to_text(
        "<html><head><title>T</title><script>evil()</script></head><body><nav>Home | Shop</nav>"
        "<main><h1>Guide</h1><p>Body text.</p><h2>Part</h2><ul><li>one</li></ul></main>"
        "<footer>Subscribe!</footer></body></html>"
    )
    assert title == "T"
    assert "# Guide" in text and "## Part" in text and "Body text." in text and "- one" in text
    assert "evil" not in text and "Shop" not in text and "Subscribe" not in text


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    p = tmp_path / "doc.pdf"
    make_pdf(p, "Quarterly revenue grew by twelve percent")
    doc = load_file(p, 10_000_000)
    assert "twelve percent" in doc.text and doc.metadata["pages"] == 1


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("bin.txt", b"\x00\x01\x02abc", "binary"),
        ("empty.md", b"   \n", "empty"),
        ("bad.pdf", b"%PDF-1.4 garbage", "PDF"),
        ("latin.txt", bytes(range(128, 256)) * 20, "UTF-8"),
        ("x.docx", b"PK..", "unsupported"),
    ],
)
def test_bad_files_give_a_reason(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(InputError, match=reason):
        load_file(p, 10_000_000)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    p.write_text("x" * 2000)
    with pytest.raises(InputError, match="limit"):
        load_file(p, 1000)


def test_directory_walk_with_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_text("# one")
    (tmp_path / "a" / "two.txt").write_text("two")
    (tmp_path / ".hidden.md").write_text("h")
    (tmp_path / "skip.bin").write_bytes(b"\x00")
    found = [p.name for p, why in iter_files([tmp_path]) if why is None]
    assert sorted(found) == ["one.md", "two.txt"]
    assert [p.name for p, _ in iter_files([tmp_path], include=["*.md"])] == ["one.md"]
    assert [p.name for p, _ in iter_files([tmp_path], exclude=["*.md"])] == ["two.txt"]
    assert next(iter_files([tmp_path / "nope"]))[1] == "no such file or directory"
