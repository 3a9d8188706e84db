"""The real-document RLM tasks: well-formed, gold answers re-derived from the raw text by a second method,
enough phrasings, split by domain, independent of ``deepwell.rlm``, and skipping cleanly without a corpus."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bench.rlm.real import (
    DOMAINS,
    KIND_OF,
    PHRASINGS,
    REAL_KINDS,
    SPLIT,
    RealTask,
    _corpora,
    answer_matches,
    available,
    build_real_suite,
    generate,
    markdown_table,
    materialize,
    summarise,
)

ROOT = Path(__file__).resolve().parents[2]
SIZE = 32768


def _need(domain: str) -> None:
    reason = available(domain)
    if reason:
        pytest.skip(f"{domain} corpus missing: {reason}")


@pytest.fixture(scope="module", params=DOMAINS)
def domain_tasks(request: pytest.FixtureRequest) -> list[RealTask]:
    _need(request.param)
    return generate(request.param, SIZE, 3, seed=11)


def test_ground_truth_never_imports_the_engine() -> None:
    """The benchmark's answers come from its own parsers: nothing in bench/rlm/real imports deepwell.rlm."""
    sources = list((ROOT / "bench/rlm/real").glob("*.py"))
    assert len(sources) >= 5
    for path in sources:
        text = path.read_text()
        assert not re.search(r"^\s*(from|import)\s+(deepwell\.rlm|rlm)\b", text, re.M), path
        assert not re.search(r"^\s*from\s+deepwell\s+import\s+.*\brlm\b", text, re.M), path


def test_every_question_type_has_five_phrasings_and_a_kind() -> None:
    assert set(PHRASINGS) == set(KIND_OF)
    assert set(KIND_OF.values()) == set(REAL_KINDS)
    for qtype, phrasings in PHRASINGS.items():
        assert len(set(phrasings)) >= 5, qtype
    per_kind_domain = Counter((KIND_OF[q], q.split("_")[0]) for q in PHRASINGS for _ in PHRASINGS[q])
    for prefix in ("deb", "py", "pol", "news", "node"):
        for kind in REAL_KINDS:
            assert per_kind_domain[(kind, prefix)] >= 5, (kind, prefix)


def test_split_is_by_domain() -> None:
    dev = {d for d, s in SPLIT.items() if s == "dev"}
    held = {d for d, s in SPLIT.items() if s == "heldout"}
    assert dev == {"debian", "stdlib", "policy", "pynews"} and held == {"nodejs"}
    prefixes = {"debian": "deb_", "stdlib": "py_", "policy": "pol_", "pynews": "news_", "nodejs": "node_"}
    for domain in DOMAINS:
        if available(domain):
            continue
        for task in generate(domain, SIZE, 2, seed=3):
            assert task.split == SPLIT[domain] and task.qtype.startswith(prefixes[domain])


def test_tasks_are_well_formed(domain_tasks: list[RealTask]) -> None:
    assert domain_tasks
    kinds = {t.kind for t in domain_tasks}
    assert kinds == set(REAL_KINDS)
    assert len({t.id for t in domain_tasks}) == len(domain_tasks)
    for t in domain_tasks:
        assert t.answers and all(a.strip() for a in t.answers)
        assert t.question and "{" not in t.question
        assert t.question in {p.format(**t.meta["slots"]) for p in PHRASINGS[t.qtype]}
        assert 0.5 * SIZE <= t.tokens <= 1.05 * SIZE, (t.id, t.tokens)
        assert t.score(t.answer) == 1.0 and t.score("") == 0.0 and t.score(None) == 0.0
        if t.answer_type != "count" and len(t.candidates) > 2:
            wrong = next(
                c for c in t.candidates if c not in t.answers and c.casefold() not in t.answer.casefold()
            )
            assert t.score(f"{t.answer} or {wrong}") == 0.0, (t.id, wrong)
        if t.documents:
            assert all(f"==> {name} <==\n{text.strip()}" in t.context for name, text in t.documents)


def test_contexts_are_sized_in_model_tokens() -> None:
    """With SmolLM2's tokenizer a "32K" context holds about 32K of the model's tokens, whatever the text's
    characters per token (Debian changelogs run ~2.6, prose ~4.3)."""
    from bench.rlm.corpus import SmolLM2Tokenizer

    counter = SmolLM2Tokenizer()
    for domain in ("debian", "pynews"):
        _need(domain)
        tasks = generate(domain, SIZE, 1, seed=0, counter=counter)
        assert tasks and all(t.tokens == counter.count(t.context) for t in tasks)
        assert 0.6 * SIZE <= tasks[0].tokens <= 1.1 * SIZE, (domain, tasks[0].tokens)


def test_same_seed_same_tasks_other_seed_other_tasks() -> None:
    _need("debian")
    a = generate("debian", SIZE, 2, seed=5)
    b = generate("debian", SIZE, 2, seed=5)
    c = generate("debian", SIZE, 2, seed=6)
    assert [(t.question, t.answers, t.context) for t in a] == [(t.question, t.answers, t.context) for t in b]
    assert [t.question for t in a] != [t.question for t in c]


# gold answers re-derived from the raw text with regular expressions (not the generators' parsers) --------
def _deb_block(text: str, package: str, version: str) -> str:
    m = re.search(rf"^{re.escape(package)} \({re.escape(version)}\).*$", text, re.M)
    assert m, (package, version)
    nxt = re.search(r"^\S+ \([^)]+\) .*;", text[m.end() :], re.M)
    return text[m.start() : m.end() + (nxt.start() if nxt else len(text))]


def test_debian_gold_recounted_from_the_raw_changelog() -> None:
    _need("debian")
    checked = Counter()
    for size in (SIZE, 131072):
        for t in generate("debian", size, 6, seed=2):
            s = t.meta["slots"]
            if "version" in s:
                block = _deb_block(t.context, s["package"], s["version"])
                if t.qtype == "deb_entries":
                    assert int(t.answer) == len(re.findall(r"^  \* ", block, re.M))
                elif t.qtype == "deb_uploader":
                    assert re.search(r"^ -- (.+?) <", block, re.M).group(1).strip() == t.answer
                elif t.qtype == "deb_urgency":
                    assert f"urgency={t.answer}" in block.splitlines()[0]
                checked[t.qtype] += 1
            elif t.qtype in ("deb_cve_version", "deb_bug_version"):
                key = s.get("cve") or f"{s['bug']}"
                assert key in _deb_block(t.context, s["package"], t.answer)
                checked[t.qtype] += 1
            elif t.qtype == "deb_year_uploads":
                pkg = re.escape(s["package"])
                versions = re.findall(rf"^{pkg} \(([^)]+)\)", t.context, re.M)
                blocks = [_deb_block(t.context, s["package"], v) for v in versions]
                dated = [b for b in blocks if re.search(rf"^ -- .*\b{s['year']} \d\d:", b, re.M)]
                assert int(t.answer) == len(dated)
                checked[t.qtype] += 1
    assert sum(checked.values()) >= 8, checked


def test_stdlib_gold_recounted_from_the_source() -> None:
    _need("stdlib")
    checked = 0
    for t in generate("stdlib", 131072, 6, seed=4):
        files = dict(t.documents)
        s = t.meta["slots"]
        if t.qtype == "py_count_functions":
            src = files[f"{s['module']}.py"]
            assert int(t.answer) == len(re.findall(r"^(?:async )?def \w+", src, re.M))
        elif t.qtype == "py_count_methods":
            (src,) = [x for x in files.values() if re.search(rf"^class {s['cls']}\b", x, re.M)]
            body = re.search(rf"^class {s['cls']}\b.*?(?=^\S|\Z)", src, re.M | re.S).group()
            assert int(t.answer) == len(re.findall(r"^    (?:async )?def \w+", body, re.M))
        elif t.qtype == "py_module_of":
            holders = [
                n for n, x in files.items() if re.search(rf"^(?:async def|def|class) {s['name']}\b", x, re.M)
            ]
            assert holders == [f"{t.answer}.py"]
        elif t.qtype == "py_class_of_method":
            holders = [
                n for n, x in files.items() if re.search(rf"^\s+(?:async )?def {s['method']}\(", x, re.M)
            ]
            assert holders == [f"{t.answers[1].split('.')[0]}.py"]
        else:
            continue
        checked += 1
    assert checked >= 4


def test_policy_gold_recounted_from_the_manual() -> None:
    _need("policy")
    checked = 0
    for t in generate("policy", 131072, 6, seed=1):
        s = t.meta["slots"]
        if t.qtype == "pol_subsections":
            heads = re.findall(rf"^{re.escape(s['number'])}\.\d+\. .*\n[=\-~^*\"]+$", t.context, re.M)
            assert int(t.answer) == len(heads)
        elif t.qtype in ("pol_title_of", "pol_section_of_title"):
            number = s["number"]
            m = re.search(rf"^{re.escape(number)}\. (.*)\n[=\-~^*\"]+$", t.context, re.M)
            heading = m.group(1).strip()
            assert (heading if t.qtype == "pol_title_of" else number) == t.answer and heading == s["title"]
        else:
            continue
        checked += 1
    assert checked >= 4


def test_pynews_gold_recounted_from_the_news_file() -> None:
    _need("pynews")
    checked = 0
    for t in generate("pynews", 131072, 6, seed=1):
        s = t.meta["slots"]
        if t.qtype == "news_section_count":
            head = rf"^What's New in Python {re.escape(s['release'])}\?\n=+\n"
            rel = re.search(head + r"(.*?)(?=^What's New|\Z)", t.context, re.M | re.S).group(1)
            sec = re.search(
                rf"^{re.escape(s['section'])}\n-+\n(.*?)(?=^\S[^\n]*\n-{{3,}}\n|\Z)", rel, re.M | re.S
            )
            assert int(t.answer) == len(re.findall(r"^- ", sec.group(1), re.M))
        elif t.qtype == "news_release_of":
            at = t.context.index(s["ident"])
            heads = re.findall(r"^What's New in Python (.*?)\?$", t.context[:at], re.M)
            assert heads[-1] == t.answer
        else:
            continue
        checked += 1
    assert checked >= 3


def test_nodejs_gold_recounted_from_the_changelog() -> None:
    """Counts re-derived by splitting the markdown on headings; releases by the last heading above the
    commit; authors and subsystems by a second pattern over the commit's own line."""
    _need("nodejs")
    checked = set()
    for size in (32768, 131072):
        for t in generate("nodejs", size, 6, seed=2):
            s = t.meta["slots"]
            if t.qtype == "node_commit_count":
                head = re.search(rf"^## [^\n]*Version {re.escape(s['version'])}\b[^\n]*$", t.context, re.M)
                body = re.split(r"^## ", t.context[head.end() :], maxsplit=1, flags=re.M)[0]
                commits = re.split(r"^###? ", body.split("### Commits", 1)[1], maxsplit=1, flags=re.M)[0]
                assert int(t.answer) == len(re.findall(r"^\* \\\[\[`", commits, re.M))
            elif t.qtype in ("node_release_of", "node_author", "node_subsystem"):
                at = t.context.rindex(f"`{s['sha']}`")
                if t.qtype == "node_release_of":
                    assert (
                        re.findall(r"^## \S+ Version (\d+\.\d+\.\d+)", t.context[:at], re.M)[-1] == t.answer
                    )
                else:
                    line = t.context[at : t.context.index("\n", at)].replace("\\", "")
                    if t.qtype == "node_author":
                        assert f"({t.answer})" in line
                    else:
                        assert f"**{t.answer}**:" in line
            else:
                continue
            checked.add(t.qtype)
    assert len(checked) >= 3


# scoring --------------------------------------------------------------------------------------------
def test_scoring_rules() -> None:
    versions = ("2.31-13", "2.31-14", "2.31-1")
    assert answer_matches("2.31-14", ["2.31-14"], "version", versions)
    assert answer_matches("Version 2.31-14 fixed it.", ["2.31-14"], "version", versions)
    assert not answer_matches("2.31-1", ["2.31-14"], "version", versions)
    assert not answer_matches("2.31-14 or 2.31-13", ["2.31-14"], "version", versions)
    assert answer_matches("aurelien jarno", ["Aurelien Jarno"], "name")
    assert answer_matches("There are 4 entries.", ["4"], "count")
    assert not answer_matches("4 or 5", ["4"], "count")
    assert answer_matches("four", ["4"], "count")
    assert not answer_matches("In 2019 there were 3", ["4"], "count", question="how many in 2019?")
    assert answer_matches("In 2019 there were 4", ["4"], "count", question="how many in 2019?")
    assert answer_matches("20 Sep 2022", ["Tue, 20 Sep 2022 11:27:27 -0400"], "date")
    assert answer_matches("2022-09-20", ["Tue, 20 Sep 2022 11:27:27 -0400"], "date")
    assert not answer_matches("2022-09-21", ["Tue, 20 Sep 2022 11:27:27 -0400"], "date")
    assert answer_matches("Section 3.2.1.", ["3.2.1"], "number", ("3.2", "3.2.1"))
    assert not answer_matches("3.2", ["3.2.1"], "number", ("3.2", "3.2.1"))
    assert answer_matches('"utf-8"', ["'utf-8'"], "code")
    assert answer_matches("Dependencies on shared libraries", ["Dependencies on shared libraries"], "title",
                          ("Dependencies", "Dependencies on shared libraries"))  # fmt: skip


def test_summary_reports_coverage_and_answered_precision() -> None:
    rows = [
        {"contender": "x", "kind": "count", "split": "dev", "score": 1.0, "answered": True, "seconds": 1.0},
        {"contender": "x", "kind": "count", "split": "dev", "score": 0.0, "answered": True, "seconds": 3.0},
        {
            "contender": "x",
            "kind": "count",
            "split": "heldout",
            "score": 0.0,
            "answered": False,
            "seconds": 2.0,
        },
    ]
    summary = summarise(rows)
    dev = summary["x|count|dev"]
    assert (dev["accuracy"], dev["coverage"], dev["answered_precision"]) == (0.5, 1.0, 0.5)
    held = summary["x|count|heldout"]
    assert (held["coverage"], held["answered_precision"]) == (0.0, None)
    table = markdown_table(summary, ["x"])
    assert "| x | count | 50 | 100 | 50 | 0 | 0 | - | 2/1 | 2.0 |" in table


def test_missing_corpus_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_corpora, "POLICY_FILE", tmp_path / "nope.txt.gz")
    _corpora.policy_text.cache_clear()
    try:
        tasks, missing = build_real_suite([SIZE], 1, domains=["policy"])
    finally:
        _corpora.policy_text.cache_clear()
    assert tasks == [] and "apt-get install debian-policy" in missing["policy"]


def test_directory_contexts_are_written_once(tmp_path: Path) -> None:
    _need("stdlib")
    task = generate("stdlib", SIZE, 1, seed=0)[0]
    where = materialize(task, tmp_path)
    assert where is not None and task.context_path == str(where)
    assert sorted(p.name for p in where.glob("*.py")) == sorted(n for n, _ in task.documents)
    assert materialize(task, tmp_path) == where


def test_cli_rejects_unknown_domain() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.rlm", "--suite", "real", "--domains", "nope"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 2 and "unknown domain" in done.stderr


@pytest.mark.model
@pytest.mark.slow
def test_real_suite_runs_end_to_end_with_the_real_model(tmp_path: Path) -> None:
    """``python -m bench.rlm --suite real`` with plain RAG on SmolLM2: every held-out task is answered and
    scored, and each recorded score is what the task's own scorer gives the recorded answer."""
    _need("nodejs")
    cmd = [sys.executable, "-m", "bench.rlm", "--suite", "real", "--quick", "--only", "rag",
           "--domains", "nodejs", "--json", "--data-dir", str(tmp_path / "rlm")]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    from bench.rlm.corpus import SmolLM2Tokenizer

    report = json.loads(done.stdout)
    tasks = {t.id: t for t in generate("nodejs", SIZE, 1, seed=0, counter=SmolLM2Tokenizer())}
    rows = report["results"]
    assert {r["task"] for r in rows} == set(tasks) and len(rows) == len(tasks) >= 4
    for r in rows:
        assert r["split"] == "heldout" and r["contender"] == "rag"
        assert r["score"] == tasks[r["task"]].score(r["answer"])
    cell = report["real_summary"]["rag|all|heldout"]
    assert cell["n"] == len(rows) and 0.0 <= cell["coverage"] <= 1.0
