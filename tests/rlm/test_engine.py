"""RLM control flow with ScriptedLLM: strategies, budgets, grounding, code mode, trajectories."""

from __future__ import annotations

import json

import pytest

from deepwell.core.errors import InputError, OutputError
from deepwell.rlm import RLM, RLMConfig, answer_async
from tests.rlm.conftest import ScriptedLLM, haystack

NEEDLE = "The special magic number for amber-falcon is: 4817293."


async def test_needle_copied_sentence_is_reduced_to_the_value(dw) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(sub=lambda p: NEEDLE if "amber-falcon is" in p else "NONE")
    r = await answer_async(
        "What is the special magic number for amber-falcon?",
        haystack(inserts={150: NEEDLE}),
        llm=llm,
        dw=dw,
        mode="actions",
    )
    assert (r.status, r.answer) == ("answered", "4817293")
    steps = dw.store.runs.get(r.run_id).steps
    kinds = [s.kind for s in steps]
    assert kinds[0] == "plan" and "execute" in kinds and "sub_call" in kinds and kinds[-1] == "final"
    assert all(s.parent_seq == steps[0].seq for s in steps[1:3])  # plan, terms, reads nest under the plan


async def test_aggregation_counts_every_record(dw) -> None:  # type: ignore[no-untyped-def]
    labels = ["billing", "shipping", "refund", "billing"]
    recs = {i * 3: f"Record #{i:05d} | user: u{i} | label: {labels[i % 4]} | note: hi" for i in range(80)}
    ctx = haystack(n=250, inserts=recs)
    llm = ScriptedLLM()
    r = await answer_async("How many records have the label 'refund'?", ctx, llm=llm, dw=dw, mode="actions")
    assert r.answer == "20" and llm.calls == []  # counted, not read by the model
    r = await answer_async("Which label is the most common?", ctx, llm=llm, dw=dw, mode="actions")
    assert r.answer == "billing"


async def test_structure_question_groups_matches_by_document(dw) -> None:  # type: ignore[no-untyped-def]
    docs = "\n".join(
        f"=== Document: guide-{i} (section: s) ===\nsome text {'zebrafish ' if i in (3, 9) else ''}here"
        for i in range(12)
    )
    r = await answer_async(
        "In how many documents does the word 'zebrafish' appear?",
        docs,
        llm=ScriptedLLM(),
        dw=dw,
        mode="actions",
    )
    assert r.answer == "2"
    r = await answer_async(
        "Which document mentions the word 'here'?",
        [f"text {i}" for i in range(3)] + ["here"],
        llm=ScriptedLLM(),
        dw=dw,
        mode="actions",
    )
    assert r.answer == "doc3"


async def test_one_markdown_file_is_split_at_its_titles(dw) -> None:  # type: ignore[no-untyped-def]
    text = "# Setup\n\nInstall the package.\n\n# Usage\n\nCall the zebrafish API.\n\n# Licence\n\nMIT.\n"
    r = await answer_async(
        "Which section mentions the word 'zebrafish'?", text, llm=ScriptedLLM(), dw=dw, mode="actions"
    )
    assert r.answer == "Usage"


async def test_a_quoted_word_is_matched_with_its_case_first(dw) -> None:  # type: ignore[no-untyped-def]
    docs = ["the position of the cursor, position again", "Position: where it is", "no match here"]
    ask = "Which document mentions the word '{}'? Answer with the NAME only."
    r = await answer_async(ask.format("Position"), docs, llm=ScriptedLLM(), dw=dw, mode="actions")
    assert r.answer == "doc1"  # the exact case decides when it matches; doc0 has more case-folded hits
    r = await answer_async(ask.format("CURSOR"), docs, llm=ScriptedLLM(), dw=dw, mode="actions")
    assert r.answer == "doc0"  # no exact-case match: case is ignored


async def test_garbled_and_repeated_actions_are_errors_of_the_model_not_of_the_run(dw) -> None:  # type: ignore[no-untyped-def]
    search = json.dumps({"action": "search", "argument": "words to look for"})
    garbled = OutputError("scripted produced invalid JSON 3 times (not JSON). Raise max_tokens.")
    r = await answer_async(
        "Which one is it?",  # nothing for a plan to work on: the model explores with actions
        haystack(),
        llm=ScriptedLLM(root=[search, garbled, search, search]),
        dw=dw,
        mode="actions",
        config=RLMConfig(max_errors=3),
    )
    assert r.status == "budget_exhausted:errors" and "submarine" not in r.answer.lower()
    kinds = [s.kind for s in dw.store.runs.get(r.run_id).steps]
    assert kinds.count("action") == 1 and "error" in kinds  # the repeats ran no second search


async def test_an_unconfirmed_read_is_uncertain_with_what_was_read(dw) -> None:  # type: ignore[no-untyped-def]
    """The plan located the sentence but the model found no answer in it: not a guess, not a budget
    wasted on the root model, but `uncertain` with the evidence."""
    llm = ScriptedLLM(root=["not json"] * 5)  # the sub-calls say NONE; the root is never needed
    r = await answer_async(
        "Who owns the amber-falcon?",
        haystack(inserts={150: "The amber-falcon flew over the grey seas."}),
        llm=llm,
        dw=dw,
        mode="actions",
        config=RLMConfig(max_errors=2),
    )
    assert r.status == "uncertain" and "flew over the grey seas" in r.answer
    assert r.citations and "amber-falcon" in r.citations[0]["text"] and len(llm.root) == 5


async def test_a_question_about_what_the_text_never_mentions_is_not_found(dw) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM()
    r = await answer_async("What colour is the submarine?", haystack(), llm=llm, dw=dw, mode="actions")
    assert r.status == "not_found" and "submarine" in r.answer.lower() and llm.calls == []


async def test_a_run_cut_short_says_what_it_found_so_far(dw) -> None:  # type: ignore[no-untyped-def]
    search = json.dumps({"action": "grep", "argument": "grey seas"})
    r = await answer_async(
        "Which one is it?",
        haystack(inserts={150: "The amber-falcon flew over the grey seas."}),
        llm=ScriptedLLM(root=[search] + ["not json"] * 5),
        dw=dw,
        mode="actions",
        config=RLMConfig(max_errors=2),
    )
    assert r.status == "budget_exhausted:errors"
    assert "Found so far: grep" in r.answer and "grey seas" in r.answer


async def test_ungrounded_answers_and_invalid_actions_end_in_a_named_budget(dw) -> None:  # type: ignore[no-untyped-def]
    root = ["not json", json.dumps({"action": "answer", "argument": "Olympus City"})] * 5
    r = await answer_async(
        "Which one is it?",
        haystack(),
        llm=ScriptedLLM(root=root),
        dw=dw,
        mode="actions",
        config=RLMConfig(max_errors=3),
    )
    assert r.status == "budget_exhausted:errors" and "Olympus" not in r.answer
    r = await answer_async(
        "Which one is it?",
        haystack(),
        dw=dw,
        mode="actions",
        llm=ScriptedLLM(root=[json.dumps({"action": "search", "argument": "capital"})] * 10),
        config=RLMConfig(max_iterations=2),
    )
    assert r.status == "budget_exhausted:iterations" and "iteration budget" in r.answer


async def test_an_answer_echoed_only_by_an_error_message_is_not_accepted(dw) -> None:  # type: ignore[no-untyped-def]
    """The refusal of a repeat quotes the model's words back; an answer must come from what a tool read."""
    search = json.dumps({"action": "search", "argument": "Olympus City"})
    r = await answer_async(
        "Which one is it?",
        haystack(),
        llm=ScriptedLLM(root=[search, search, json.dumps({"action": "answer", "argument": "Olympus City"})]),
        dw=dw,
        mode="actions",
        config=RLMConfig(max_errors=2),
    )
    assert r.status == "budget_exhausted:errors" and "Olympus" not in r.answer
    errors = [s.data["error"] for s in dw.store.runs.get(r.run_id).steps if s.kind == "error"]
    assert errors[:2] == [  # then the budget's own stop
        "search 'Olympus City' was done already; try something else or answer.",
        "the answer is not in what was read",
    ]


async def _answered_in_code(dw, root: list[str], config: RLMConfig) -> list:  # type: ignore[no-untyped-def]
    """Run the scripted root in code mode over the needle haystack; it must answer; returns the steps."""
    r = await answer_async(
        "What is the magic number for amber-falcon?",
        haystack(inserts={77: NEEDLE}),
        llm=ScriptedLLM(root=root),
        dw=dw,
        mode="code",
        config=config,
    )
    assert (r.status, r.answer) == ("answered", "4817293")
    return dw.store.runs.get(r.run_id).steps


async def test_code_mode_runs_model_code_in_the_sandbox(dw) -> None:  # type: ignore[no-untyped-def]
    root = [
        "```repl\nprint(undefined_name)\n```",
        "Let me think without code.",
        "```repl\nhits = grep(r'magic number for amber-falcon is: (\\d+)')\nprint(hits['total'])\n```",
        "```repl\nimport re\nm = re.search(r'amber-falcon is: (\\d+)', context)\n"
        "answer = {'content': m.group(1), 'ready': True}\n```",
    ]
    steps = await _answered_in_code(dw, root, RLMConfig(max_errors=5))
    results = [s.data for s in steps if s.kind == "result"]
    assert "NameError" in results[0]["error"] and results[1]["stdout"].strip().startswith("1")


async def test_code_mode_in_the_docker_sandbox(dw, docker_sandbox) -> None:  # type: ignore[no-untyped-def]
    root = [
        "```repl\nimport os\nprint(os.getpid(), os.getuid())\n```",
        "```repl\nm = grep(r'amber-falcon is: (\\d+)')\nanswer = {'content': m['matches'][0]['match'][-7:], "
        "'ready': True}\n```",
    ]
    steps = await _answered_in_code(dw, root, RLMConfig(sandbox="docker"))
    assert next(s for s in steps if s.kind == "sandbox").data["layers"][0].startswith("docker(")
    assert next(s for s in steps if s.kind == "result").data["stdout"].split() == ["1", "65534"]


async def test_code_mode_rejects_an_answer_that_is_not_ready(dw) -> None:  # type: ignore[no-untyped-def]
    root = ["```repl\nanswer = {'content': '', 'ready': True}\n```"] * 6
    r = await answer_async(
        "q?", haystack(), llm=ScriptedLLM(root=root), dw=dw, mode="code", config=RLMConfig(max_iterations=3)
    )
    assert r.status.startswith("budget_exhausted")


async def test_bad_contexts_are_refused(dw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="empty"):
        RLM("   ", llm=ScriptedLLM(), dw=dw)
    with pytest.raises(InputError, match="binary"):
        RLM("abc\x00def", llm=ScriptedLLM(), dw=dw)


async def test_sessions_keep_the_environment_for_follow_ups(dw) -> None:  # type: ignore[no-untyped-def]
    session = RLM(haystack(inserts={10: NEEDLE}), llm=ScriptedLLM(sub=lambda p: "4817293"), dw=dw)
    first = await session.ask("What is the special magic number for amber-falcon?", mode="actions")
    ctx = session.ctx
    second = await session.ask("And what is that number again?", mode="actions")
    assert first.answer == "4817293" and session.ctx is ctx and session.history[0][1] == "4817293"
    assert second.run_id != first.run_id


async def test_a_key_the_text_never_mentions_is_not_answered_from_look_alikes(dw) -> None:  # type: ignore[no-untyped-def]
    llm = ScriptedLLM(sub=lambda p: "4817293")
    r = await answer_async(
        "What is the special magic number for silver-otter?",
        haystack(inserts={150: NEEDLE}),
        llm=llm,
        dw=dw,
        mode="actions",
    )
    assert "4817293" not in r.answer and "silver-otter" in r.answer and llm.calls == []


async def test_records_with_stray_keys_in_free_text_still_count(dw) -> None:  # type: ignore[no-untyped-def]
    recs = {i * 2: f"Record #{i:05d} | user: u{i} | label: refund | note: plain" for i in range(30)}
    recs.update(
        {
            i * 2 + 1: f"Record #{i:05d} | user: u{i} | label: refund | note: uses O|O:ref format"
            for i in range(30, 40)
        }
    )
    r = await answer_async(
        "How many records have the label 'refund'?",
        haystack(n=100, inserts=recs),
        llm=ScriptedLLM(),
        dw=dw,
        mode="actions",
    )
    assert r.answer == "40"


async def test_format_preambles_do_not_hijack_the_question(dw) -> None:  # type: ignore[no-untyped-def]
    """Terms and fields come from the sentence that asks, not from a description of the text's format."""
    docs = "\n".join(
        f"=== Document: guide-{i} (section: s) ===\nsome text {'zebrafish ' if i == 4 else ''}here"
        for i in range(8)
    )
    rules = "Each block starts with a line '=== Document: NAME (section: TITLE) ==='. "
    r = await answer_async(
        rules + "Which document mentions the word 'zebrafish'? Answer with the NAME only.",
        docs,
        llm=ScriptedLLM(),
        dw=dw,
        mode="actions",
    )
    assert r.answer == "guide-4"
    recs = {
        i * 3: f"Record #{i:05d} | user: u{i} | date: 2023-01-0{1 + i % 2} | label: {'b' if i % 3 else 'a'}"
        for i in range(30)
    }
    preamble = "Records look like 'Record #N | user: ... | date: ... | label: L'. "
    r = await answer_async(
        preamble + "Which label is the most common? Answer with the label.",
        haystack(n=100, inserts=recs),
        llm=ScriptedLLM(),
        dw=dw,
        mode="actions",
    )
    assert r.answer == "b"


def test_a_number_is_accepted_only_if_the_sentence_holds_it() -> None:
    from deepwell.rlm._strategies import _value_in

    sentence = "The special magic number for wild-orchid is: 4323487."
    question = "What is the special magic number for wild-orchid mentioned in the text?"
    rephrased = "The special magic number for wild-orchid mentioned in the text is 4323487."
    assert _value_in(rephrased, sentence, question, wants_number=True) == "4323487"
    assert _value_in("It is 4323488.", sentence, question, wants_number=True) is None
    assert _value_in("NONE", sentence, question, wants_number=True) is None
    assert _value_in("In 2023 it was 7.", "In 2023 it was 7.", "What was it in 2023?", True) == "7"


@pytest.mark.parametrize(
    ("reply", "sentence", "question", "expected"),
    [
        (
            "A: 90 days",
            "Every API key must be rotated every 90 days.",
            "How often must API keys be rotated?",
            "90 days",
        ),
        (
            "The codename of release 2.4 was Blue Heron.",
            "The release 2.4 was codenamed Blue Heron and shipped in March.",
            "What was the codename of release 2.4?",
            "Blue Heron",
        ),
        (
            "Refunds take 14 business days to process.",
            "Refunds are processed within 14 business days of the request.",
            "How long do refunds take?",
            "14 business days",
        ),
        ("The answer to this question is:", "Keys rotate every 90 days.", "How often do keys rotate?", None),
        (
            "The platform team leads the platform team.",
            "Tyres need 80 psi.",
            "Who leads the platform team?",
            None,
        ),
        (
            "Alice Smyth leads it.",
            "Alice Smith leads the platform team.",
            "Who leads the platform team?",
            "Alice",
        ),
    ],
)
def test_a_restated_answer_is_cut_to_what_the_sentence_holds(
    reply: str, sentence: str, question: str, expected: str | None
) -> None:
    from deepwell.rlm._strategies import _value_in

    assert _value_in(reply, sentence, question, wants_number=False) == expected


def test_a_directory_without_text_files_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from deepwell.rlm._context import load_context

    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(InputError, match="No readable text files"):
        load_context(tmp_path)
    (tmp_path / "b.md").write_text("# B\nbee\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("sea")
    outside = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    outside.write_text("secret")
    (tmp_path / "sub" / "link.txt").symlink_to(outside)
    assert [d.name for d in load_context(tmp_path).documents] == ["b.md", "sub/c.txt"]


async def test_auto_uses_the_plain_model_on_short_text_unless_the_question_counts(dw) -> None:  # type: ignore[no-untyped-def]
    docs = ["Green tea is steeped at 80 degrees.", "Oolong wants several short infusions.", "Black tea: 95."]
    llm = ScriptedLLM(root=["80 degrees"])
    r = await answer_async("At what temperature is green tea steeped?", docs, llm=llm, dw=dw, mode="auto")
    assert (r.mode, r.answer) == ("plain", "80 degrees")
    r = await answer_async("Which document mentions the word 'Oolong'?", docs, llm=llm, dw=dw, mode="auto")
    assert (r.mode, r.answer) == ("actions", "doc1")  # located exactly, not guessed by the model


async def test_auto_checks_a_plain_answer_against_the_text(dw) -> None:  # type: ignore[no-untyped-def]
    docs = ["Every API key must be rotated at least every 90 days.", "Staff accrue 2.5 days of leave."]
    llm = ScriptedLLM(root=["The answer is: 2.5 days."], sub=lambda p: "A: 90 days")
    r = await answer_async("How often must API keys be rotated?", docs, llm=llm, dw=dw, mode="auto")
    assert (r.mode, r.answer) == ("actions", "90 days")  # 2.5 days is about leave, not keys
    kinds = [s.kind for s in dw.store.runs.get(r.run_id).steps]
    assert kinds[:2] == ["root", "note"]
    llm = ScriptedLLM(root=["NONE"], sub=lambda p: "A: 90 days")  # a plain "no answer" is checked too
    r = await answer_async("How often must API keys be rotated?", docs, llm=llm, dw=dw, mode="auto")
    assert (r.mode, r.answer) == ("actions", "90 days")


def test_grounded() -> None:
    from deepwell.rlm._strategies import grounded

    text = "The release 2.4 was codenamed Blue Heron."
    assert grounded("Blue Heron", text, "What was the codename of 2.4?")
    assert grounded("It was Blue Heron in 2.4", text, "What was the codename?")
    assert not grounded("Red Falcon", text, "What was the codename of 2.4?")
    assert not grounded("2.5", text, "Which release?")
    leave = "Keys are rotated every 90 days. Staff accrue 2.5 days of leave a month."
    assert grounded("90 days", leave, "How often are keys rotated?")
    assert not grounded("2.5 days", leave, "How often are keys rotated?")  # real number, wrong sentence
