"""The RLM benchmark's task generators and scorers, on real text and SmolLM2's real tokenizer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.rlm.contenders import PlainRAG, _Model, chunk_text
from bench.rlm.corpus import PYTHON_DOCS_DIR, SmolLM2Tokenizer, load_corpus, split_rst_sections
from bench.rlm.tasks import (
    HEADER_FORMATS,
    LABELS,
    RECORD_FORMATS,
    build_suite,
    generate_multidoc,
    generate_niah,
    generate_oolong,
    parse_size,
    score,
    score_choice,
    score_exact_number,
    score_numeric,
)
from deepwell.core.errors import ConfigError

SIZES = (8192, 32768)


@pytest.fixture(scope="module")
def counter() -> SmolLM2Tokenizer:
    return SmolLM2Tokenizer()


@pytest.fixture(scope="module")
def corpus():  # type: ignore[no-untyped-def]
    return load_corpus("stdlib-docstrings")


@pytest.fixture(scope="module")
def suite(corpus, counter):  # type: ignore[no-untyped-def]
    return build_suite(corpus, SIZES, 2, counter, seed=7)


def test_same_seed_same_tasks_other_seed_other_tasks(corpus, counter, suite) -> None:
    again = build_suite(corpus, SIZES, 2, counter, seed=7)
    assert [(t.id, t.context, t.question, t.answer) for t in again] == [
        (t.id, t.context, t.question, t.answer) for t in suite
    ]
    other = build_suite(corpus, SIZES, 2, counter, seed=8)
    assert [t.answer for t in other] != [t.answer for t in suite]


def test_every_kind_at_every_size(suite) -> None:
    kinds = ("niah", "oolong", "multidoc")
    assert {(t.kind, t.size) for t in suite} == {(k, s) for k in kinds for s in SIZES}
    assert len({t.id for t in suite}) == len(suite)


def test_contexts_are_sized_in_tokens_within_ten_percent(suite, counter) -> None:
    for task in suite:
        measured = counter.count(task.context)
        assert measured == task.tokens
        assert abs(measured - task.size) <= 0.10 * task.size, (task.id, measured)


def test_needle_is_present_once_at_the_stated_depth(suite) -> None:
    needles = [t for t in suite if t.kind == "niah"]
    assert needles
    for task in needles:
        needle = task.meta["needle"]
        assert task.context.count(needle) == 1
        assert task.answer in needle and task.answer.isdigit() and len(task.answer) == 7
        at = task.context.index(needle) / len(task.context)
        assert at == pytest.approx(task.meta["char_depth"])
        assert abs(at - task.meta["depth"]) < 0.05, (task.id, at, task.meta["depth"])
        key = re.search(r"for (\S+) is", needle).group(1)  # type: ignore[union-attr]
        assert key in task.question and task.answer not in task.question


def test_needle_depths_spread_over_the_context(corpus, counter) -> None:
    tasks = generate_niah(corpus, 8192, 4, counter, seed=3)
    depths = sorted(t.meta["depth"] for t in tasks)
    assert [int(d * 4) for d in depths] == [0, 1, 2, 3]


def test_oolong_answers_are_recomputed_from_the_context(corpus, counter) -> None:
    tasks = generate_oolong(corpus, 8192, 4, counter, seed=1)
    records = re.findall(r"^Record #\d{5} \|.*\| label: (\w+) \|", tasks[0].context, re.M)
    assert len(records) == tasks[0].meta["records"]
    counts = {label: records.count(label) for label in LABELS}
    for task in tasks:
        if task.scoring == "numeric":
            label = re.search(r"label '(\w+)'", task.question).group(1)  # type: ignore[union-attr]
            assert int(task.answer) == counts[label]
        elif "most common" in task.question:
            assert counts[task.answer] > max(v for k, v in counts.items() if k != task.answer)
        else:
            assert counts[task.answer] < min(v for k, v in counts.items() if k != task.answer and v)
    assert {t.scoring for t in tasks} == {"numeric", "choice"}


def test_multidoc_answer_depends_on_which_document_holds_the_word(corpus, counter) -> None:
    tasks = generate_multidoc(corpus, 32768, 4, counter, seed=2)
    blocks = re.split(r"^(?==== Document: )", tasks[0].context, flags=re.M)
    docs_with: dict[str, set[str]] = {}
    for block in filter(None, blocks):
        head, _, body = block.partition("\n")
        doc = head.removeprefix("=== Document: ").split(" (section: ")[0]
        for word in set(re.findall(r"\b[A-Za-z][a-z]{6,}\b", body)):
            docs_with.setdefault(word, set()).add(doc)
    for task in tasks:
        word = task.meta["word"]
        if task.scoring == "choice":
            assert docs_with[word] == {task.answer}
            assert task.answer in task.candidates and len(task.candidates) > 3
        else:
            assert int(task.answer) == len(docs_with[word]) >= 2


@pytest.mark.parametrize("fmt", sorted(RECORD_FORMATS))
def test_every_record_format_is_parsed_back_to_the_gold_counts(corpus, counter, fmt: str) -> None:
    from deepwell.rlm._formats import parse_records

    task = generate_oolong(corpus, 8192, 1, counter, seed=4, formats=fmt)[0]
    field = RECORD_FORMATS[fmt].field
    fields, rows = parse_records(task.context)
    assert field in fields and field in task.question
    assert {lab: sum(r[field] == lab for r in rows) for lab in LABELS if task.meta["counts"].get(lab)} == (
        task.meta["counts"]
    )


@pytest.mark.parametrize("fmt", sorted(HEADER_FORMATS))
def test_every_header_format_splits_into_the_documents(corpus, counter, fmt: str) -> None:
    from deepwell.rlm._formats import find_headers

    task = generate_multidoc(corpus, 8192, 1, counter, seed=4, formats=fmt)[0]
    names = [n for _, n in find_headers(task.context)]
    assert len(names) == task.meta["blocks"]
    assert set(names) == set(task.candidates)


def test_varied_formats_differ_across_sizes(corpus, counter) -> None:
    tasks = build_suite(corpus, (4096, 8192, 16384, 32768), 1, counter, seed=0, kinds=("oolong", "multidoc"))
    assert len({t.meta["format"] for t in tasks if t.kind == "oolong"}) > 1
    assert len({t.meta["format"] for t in tasks if t.kind == "multidoc"}) > 1


def test_numeric_score_is_three_quarters_to_the_error() -> None:
    assert score_numeric("42", 42) == 1.0
    assert score_numeric("There are 40 records.", 42) == pytest.approx(0.75**2)
    assert score_numeric("1,999", 2000) == pytest.approx(0.75)
    assert score_numeric(45, "42") == pytest.approx(0.75**3)
    assert score_numeric("no idea", 42) == 0.0
    assert score_numeric(None, 42) == 0.0


def test_exact_scores() -> None:
    assert score_exact_number("The special magic number is 4821937.", "4821937") == 1.0
    assert score_exact_number("48219370", "4821937") == 0.0
    assert score_exact_number("It is 4,821,937", "4821937") == 1.0
    assert score_choice("Refund.", "refund", LABELS) == 1.0
    assert score_choice("billing or refund", "refund", LABELS) == 0.0
    assert score_choice("library/json", "library/json", ("library/json", "library/json.tool")) == 1.0
    assert score_choice("library/json.tool", "library/json", ("library/json", "library/json.tool")) == 0.0


def test_score_dispatches_on_the_task(suite) -> None:
    for task in suite:
        assert score(task, task.answer) == 1.0
        assert score(task, "") == 0.0
        assert score(task, None) == 0.0


def test_parse_size() -> None:
    sizes = [parse_size(s) for s in ("8k", "32K", "1m", "5000", "0.5m")]
    assert sizes == [8192, 32768, 1 << 20, 5000, 1 << 19]
    with pytest.raises(ValueError, match="8k, 32k"):
        parse_size("big")


def test_rst_sections_split_at_headings() -> None:
    text = "Title\n=====\n\nIntro para.\n\nUsage\n-----\n\nUse it.\n\n-----\n\nNot a heading.\n"
    sections = split_rst_sections("library/x", text)
    assert [(s.title, s.text) for s in sections] == [
        ("Title", "Intro para."),
        ("Usage", "Use it.\n\n-----\n\nNot a heading."),
    ]


def test_unknown_corpus_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="python-docs"):
        load_corpus("nope")


@pytest.mark.skipif(not PYTHON_DOCS_DIR.is_dir(), reason="apt-get install python3.11-doc for the real corpus")
def test_python_docs_corpus_holds_a_million_tokens(counter) -> None:
    corpus = load_corpus("python-docs")
    assert corpus.chars > 4_000_000 and len({s.doc for s in corpus.sections}) > 400
    assert any(s.doc == "library/json" for s in corpus.sections)


def test_truncate_keeps_the_head_within_the_budget(counter, suite) -> None:
    head = counter.truncate(suite[0].context, 1000)
    assert 990 <= counter.count(head) <= 1000
    assert suite[0].context.startswith(head[:-20])


def test_chunks_cover_the_text() -> None:
    text = "\n\n".join(f"para {i} " + "x" * (i * 97 % 1400) for i in range(40))
    chunks = chunk_text(text, 1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert "".join(chunks).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


@pytest.mark.model
@pytest.mark.slow
def test_rag_finds_a_needle_with_the_real_model(corpus, counter) -> None:
    """End to end on the real parts: bm25s over the haystack, SmolLM2 reading the top chunks."""
    from deepwell.core.settings import Settings

    task = generate_niah(corpus, 8192, 1, counter, seed=5)[0]
    rag = PlainRAG(_Model(Settings(), max_tokens=24), k=2)
    rag.prepare()
    try:
        out = rag.answer(task)
    finally:
        rag.close()
    assert out.error is None and out.answer
    assert score(task, out.answer) == 1.0, out.answer


def test_cli_rejects_unknown_contender() -> None:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "bench.rlm", "--only", "nope"], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 2 and "unknown contender" in done.stderr


def test_runner_script_is_standalone() -> None:
    """The rlms runner must not import anything from this repository (it runs in another venv)."""
    source = (Path(__file__).resolve().parents[2] / "bench/rlm/_rlms_runner.py").read_text()
    assert not re.search(r"^\s*(from|import) (bench|deepwell|reasoning)\b", source, re.M)
