"""bench.retrieval's data set: the FAQ parsing on a small reST tree written here, then on the real corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.retrieval.dataset import SOURCES, load_python_faq, rst_sections
from deepwell.core.errors import ConfigError
from tests.bench.conftest import GENERAL_FAQ


def test_rst_sections_finds_underlined_and_overlined_titles() -> None:
    titles = [t for t, _ in rst_sections(GENERAL_FAQ)]
    assert titles == [
        "General Python FAQ",
        "General Information",
        "What is Python?",
        "Why is it called Python?",
        "Is Python good?",
    ]
    body = dict(rst_sections(GENERAL_FAQ))["Why is it called Python?"]
    assert body == "Short."


def test_questions_become_queries_and_their_answers_the_relevant_documents(faq_sources: Path) -> None:
    data = load_python_faq(faq_sources)
    # "Why is it called Python?" has too short an answer; "General Information" is not a question
    assert sorted(data.queries.values()) == ["Is Python good?", "What is Python?"]
    docs = {doc_id: text for doc_id, text, _ in data.corpus}
    for qid, question in data.queries.items():
        (relevant,) = data.qrels[qid]
        assert data.qrels[qid][relevant] == 1
        assert relevant.startswith("faq/general#")
        assert question not in docs[relevant]  # the heading is not part of the answer
    what = next(q for q, text in data.queries.items() if text == "What is Python?")
    answer = docs[next(iter(data.qrels[what]))]
    assert answer.startswith("Python is an interpreted")
    assert "incorporates modules, exceptions" in answer  # reST roles unwrapped
    good = next(q for q, text in data.queries.items() if text == "Is Python good?")
    assert docs[next(iter(data.qrels[good]))] == (
        "It is rather good, as the os.path.join function shows on every platform."
    )  # the index directive and its continuation line are gone


def test_distractors_come_from_the_rest_of_the_docs(faq_sources: Path) -> None:
    data = load_python_faq(faq_sources)
    distractors = {doc_id: meta for doc_id, _, meta in data.corpus if meta["kind"] == "docs"}
    # the two long json sections; not the tiny page, the C API or What's New
    assert sorted(distractors) == ["library/json#0", "library/json#1"]
    text = dict((d, t) for d, t, _ in data.corpus)["library/json#1"]
    assert text.startswith("Basic Usage\n\nSerialize obj")  # distractors keep their title
    assert len(load_python_faq(faq_sources, distractors=1).corpus) == 3
    assert len(load_python_faq(faq_sources, distractors=0).corpus) == 2


def test_sample_is_seeded_and_keeps_qrels(faq_sources: Path) -> None:
    data = load_python_faq(faq_sources)
    one = data.sample(1, seed=3)
    assert len(one.queries) == 1 and one.queries.keys() == one.qrels.keys()
    assert one.queries == data.sample(1, seed=3).queries
    assert one.corpus is data.corpus
    assert data.sample(50) is data


def test_missing_corpus_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"apt-get install python3\.11-doc"):
        load_python_faq(tmp_path / "nowhere")


def test_a_tree_without_faq_questions_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    with pytest.raises(ConfigError, match="No FAQ questions"):
        load_python_faq(tmp_path)


@pytest.mark.skipif(not (SOURCES / "faq").is_dir(), reason="python3.11-doc is not installed")
def test_the_real_python_faq() -> None:
    data = load_python_faq(distractors=500)
    assert len(data.queries) >= 150
    ids = [doc_id for doc_id, _, _ in data.corpus]
    assert len(ids) == len(set(ids)) == len(data.queries) + 500
    texts = dict((d, t) for d, t, _ in data.corpus)
    for qid, question in data.queries.items():
        assert question.endswith("?")
        (relevant,) = data.qrels[qid]
        assert question not in texts[relevant]
        assert len(texts[relevant]) >= 40
    assert load_python_faq(distractors=500).corpus == data.corpus  # deterministic
