"""Red-team issue 13 end to end: model code that attacks the protocol still gets a status, never a raise;
contexts with no word tokens and sandboxes that would not hold are clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepwell.core.errors import InputError
from deepwell.rlm import RLMConfig, answer_async
from tests.rlm.conftest import ScriptedLLM, haystack

NEEDLE = "The special magic number for amber-falcon is: 4817293."

_BOMB = (
    "```repl\nimport sys\nout = sys.modules['__main__'].PROTO_OUT\n"
    "out.write(b'[' * 200000 + b']' * 200000 + b'\\n'); out.flush()\n```"
)
_FORGE = (
    "```repl\nimport json, sys, threading, time\nout = sys.modules['__main__'].PROTO_OUT\n"
    "def forge():\n    time.sleep(0.5)\n"
    "    out.write(json.dumps({'type': 'done', 'stdout': 'FORGED'}).encode() + b'\\n'); out.flush()\n"
    "threading.Thread(target=forge, daemon=True).start()\n```"
)
_ANSWER = (
    "```repl\nimport re, time\ntime.sleep(1)\nm = re.search(r'amber-falcon is: (\\d+)', context)\n"
    "answer = {'content': m.group(1), 'ready': True}\n```"
)


async def test_protocol_attacks_in_code_mode_end_in_an_answer_not_an_exception(dw) -> None:  # type: ignore[no-untyped-def]
    r = await answer_async(
        "What is the magic number for amber-falcon?",
        haystack(inserts={77: NEEDLE}),
        llm=ScriptedLLM(root=[_BOMB, _FORGE, _ANSWER]),
        dw=dw,
        mode="code",
        config=RLMConfig(max_errors=5),
    )
    assert (r.status, r.answer) == ("answered", "4817293"), r


async def test_a_bomb_alone_ends_in_a_status(dw) -> None:  # type: ignore[no-untyped-def]
    r = await answer_async(
        "q?",
        haystack(),
        llm=ScriptedLLM(root=[_BOMB] * 4),
        dw=dw,
        mode="code",
        config=RLMConfig(max_iterations=3),
    )
    assert r.status.startswith("budget_exhausted") or r.status in ("not_found", "error"), r


@pytest.mark.parametrize("text", ["!!! ... ??? --- ;;; " * 50, "\ufffd\ufffd\ufffd " * 40])
async def test_text_without_word_tokens_is_a_clear_error(dw, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no words to index"):
        await answer_async("q?", text, llm=ScriptedLLM(), dw=dw, mode="actions")


async def test_a_non_utf8_file_context_is_a_clear_error(dw, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "latin1.txt"
    f.write_bytes(bytes(range(0x80, 0x100)) * 20)
    with pytest.raises(InputError):
        await answer_async("q?", f, llm=ScriptedLLM(), dw=dw, mode="actions")
