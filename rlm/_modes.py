"""The two ways the root model works: constrained actions (small models) and code in the sandbox."""

from __future__ import annotations

import json
import re
from typing import Any

from deepwell.rlm._engine import Engine
from deepwell.rlm._strategies import STRATEGIES, Found, route
from deepwell.rlm.sandbox import SANDBOXES, SandboxLimits

from deepwell.core.errors import DeepwellError, OutputError

__all__ = ["run_actions", "run_code"]

_ACTION_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["search", "grep", "read", "strategy", "answer"]},
        "argument": {"type": "string", "maxLength": 120},
    },
    "required": ["action", "argument"],
}

_ACTION_SYSTEM = (
    "You answer a question about a long text you cannot see. Choose ONE action as JSON.\n"
    "search: argument = words to look for. grep: argument = a regular expression.\n"
    "read: argument = a character offset to read from. strategy: argument = one of "
    + ", ".join(STRATEGIES)
    + ".\nanswer: argument = the final answer, only if the results above contain it."
)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n] + f" …[{len(text) - n} more characters]"


def _valid_answer(answer: str, question: str) -> bool:
    a = answer.strip()
    return (
        bool(a) and a.lower() != question.strip().lower() and a.upper() not in {"NONE", "N/A", "UNKNOWN", "?"}
    )


async def run_actions(e: Engine) -> Found | None:
    """Strategies chosen by the question's shape first; then the model's own constrained actions."""
    tried: set[str] = set()
    for name in route(e.question, e.ctx)[:2]:
        tried.add(name)
        try:
            found = await STRATEGIES[name](e, e.question)
        except DeepwellError as exc:
            e.trajectory.step("error", {"strategy": name, "error": str(exc)})
            e.budget.error()
            continue
        if found and _valid_answer(found.answer, e.question):
            return found
    observations: list[str] = []
    done: set[tuple[str, str]] = set()
    while True:
        desc = json.dumps(e.ctx.describe(), ensure_ascii=False)[:600]
        messages = [
            {"role": "system", "content": _ACTION_SYSTEM},
            {
                "role": "user",
                "content": f"Text: {desc}\nQuestion: {e.question}\n" + "\n".join(observations[-3:]),
            },
        ]
        try:
            raw = await e.root(messages, json_schema=_ACTION_SCHEMA, max_tokens=64)
        except OutputError as exc:  # a garbled action is the model's error, not the run's
            e.trajectory.step("error", {"action": "invalid", "error": str(exc)})
            e.budget.error()
            observations.append("Result: that was not a valid action; keep the argument short.")
            continue
        try:
            act = json.loads(raw)
            kind, arg = act["action"], str(act.get("argument", "")).strip()
        except (json.JSONDecodeError, KeyError, TypeError):
            e.budget.error()
            observations.append("Result: that was not a valid action.")
            continue
        if kind != "answer" and (kind, arg.lower()) in done:
            e.budget.error()
            observations.append(f"Result: {kind} '{arg}' was done already; try something else or answer.")
            continue
        done.add((kind, arg.lower()))
        step = e.trajectory.step("action", {"action": kind, "argument": arg})
        try:
            if kind == "answer":
                if _valid_answer(arg, e.question) and any(arg.lower() in o.lower() for o in observations):
                    return Found(arg, [], "answered by the root model from what it read")
                e.budget.error()
                observations.append("Result: not accepted: the answer must come from a result above.")
            elif kind == "search":
                ps = (await e.tool("search", parent=step, query=arg or e.question, k=3))["passages"]
                observations.append(
                    "Result: " + _clip(" | ".join(p["text"][:300] for p in ps), e.config.observation_chars)
                )
            elif kind == "grep":
                g = await e.tool("grep", parent=step, pattern=arg or ".", max_matches=5)
                observations.append(
                    f"Result: {g['total']} matches: "
                    + _clip(" | ".join(m["context"] for m in g["matches"]), e.config.observation_chars)
                )
            elif kind == "read":
                start = int(re.sub(r"\D", "", arg) or 0)
                observations.append(
                    "Result: " + _clip(e.ctx.read(start, start + 1500), e.config.observation_chars)
                )
            elif kind == "strategy":
                name = (
                    arg
                    if arg in STRATEGIES
                    else next((n for n in STRATEGIES if n not in tried), "map_reduce")
                )
                tried.add(name)
                found = await STRATEGIES[name](e, e.question)
                if found and _valid_answer(found.answer, e.question):
                    return found
                observations.append(f"Result: strategy {name} found nothing.")
        except DeepwellError as exc:
            e.budget.error()
            observations.append(f"Result: error: {exc}")


_CODE_SYSTEM = """You answer a question about a long text held in the variable `context` (a str) of a REPL.
You cannot see it; explore it with code. Write code in ```repl blocks; you will see what it prints.
Functions: llm_query(prompt) -> str asks a language model about a piece of text (pieces < 4000 chars);
llm_query_batched(prompts) -> list[str]; search(query, k=5) -> list of passages {"doc","text"};
grep(pattern) -> {"total", "matches": [{"doc","context"}]}; records() -> {"fields","records"}; SHOW_VARS().
When you know the answer, run: answer = {"content": "<the answer>", "ready": True}
Example:
```repl
hits = grep(r"magic number")
print(hits["matches"][:2])
```"""

_FENCE = re.compile(r"```(?:repl|python|py)?\s*\n(.*?)```", re.S)


async def run_code(e: Engine, user_tools: dict[str, Any] | None = None) -> Found | None:
    """The paper's REPL loop: the model writes code, the sandbox runs it, a bounded view comes back."""

    async def search(query: str, k: int = 5) -> list[dict[str, Any]]:
        return (await e.tool("search", query=query, k=int(k)))["passages"]

    async def grep(pattern: str, max_matches: int = 30) -> dict[str, Any]:
        return await e.tool("grep", pattern=pattern, max_matches=int(max_matches))

    async def read_range(start: int, end: int) -> str:
        return (await e.tool("read_range", start=int(start), end=int(end)))["text"]

    async def outline() -> dict[str, Any]:
        return await e.tool("outline")

    async def records() -> dict[str, Any]:
        return await e.tool("records")

    async def llm_query(prompt: str) -> str:
        return await e.llm_query(str(prompt))

    async def llm_query_batched(prompts: list[str]) -> list[str]:
        return await e.llm_query_batched(list(prompts))

    async def rlm_query(question: str, text: str | None = None) -> str:
        if e.depth + 1 > e.config.max_depth or text is None:
            return await e.llm_query(f"{text or ''}\n\nQuestion: {question}")
        from deepwell.rlm._runner import _nested

        return await _nested(e, question, text)

    host = {
        "search": search,
        "grep": grep,
        "read_range": read_range,
        "outline": outline,
        "records": records,
        "llm_query": llm_query,
        "llm_query_batched": llm_query_batched,
        "rlm_query": rlm_query,
        **(user_tools or {}),
    }
    limits = SandboxLimits(
        wall_seconds=min(60.0, e.config.max_seconds), max_output_chars=e.config.observation_chars
    )
    desc = json.dumps(e.ctx.describe(), ensure_ascii=False)[:800]
    history: list[dict[str, str]] = [
        {"role": "system", "content": _CODE_SYSTEM},
        {"role": "user", "content": f"Context: {desc}\nQuestion: {e.question}"},
    ]
    sandbox = SANDBOXES[e.config.sandbox or "process"]
    weak = bool(e.config.weak_sandbox)
    async with sandbox(limits, host_functions=host, inputs={"context": e.ctx.text}, allow_weak=weak) as box:
        e.trajectory.step("sandbox", {"layers": box.layers})
        while True:
            out = await e.root(_compact(history, e))
            history.append({"role": "assistant", "content": out})
            blocks = _FENCE.findall(out)
            if not blocks:
                e.budget.error()
                history.append(
                    {"role": "user", "content": "Write Python in a ```repl block, or set answer = {...}."}
                )
                continue
            code = "\n".join(blocks)
            step = e.trajectory.step("code", {"code": code})
            r = await box.execute(code)
            shown = r.notice + (r.stdout or "") + (f"\n{r.value}" if getattr(r, "value", None) else "")
            probe = await box.execute("try:\n    print(repr(answer)[:2000])\nexcept NameError:\n    pass")
            m = re.match(r"(.*)", probe.stdout.strip(), re.S) if probe.stdout.strip() else None
            if r.error:
                e.budget.error()
                shown += f"\nError: {r.error[-800:]}"
            e.trajectory.step(
                "result", {"stdout": shown, "error": r.error, "seconds": r.seconds}, parent=step
            )
            if m:
                found = _parse_answer(m.group(1))
                if found and _valid_answer(found, e.question):
                    return Found(found, [], "answer set by code")
                shown += (
                    '\nThe answer must be answer = {"content": "...", "ready": True} with non-empty content.'
                )
            history.append(
                {"role": "user", "content": "Output:\n" + _clip(shown, e.config.observation_chars)}
            )


def _parse_answer(raw: str) -> str | None:
    import ast

    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, dict) and value.get("ready") and str(value.get("content", "")).strip():
        return str(value["content"]).strip()
    return None


def _compact(history: list[dict[str, str]], e: Engine) -> list[dict[str, str]]:
    """Keep the root prompt inside the window: drop the oldest exchanges, saying so."""
    budget = int(e.llm.n_ctx * 0.7) - e.config.root_max_tokens
    msgs = list(history)
    while len(msgs) > 3 and sum(e.llm.count_tokens(m["content"]) for m in msgs) > budget:
        del msgs[2:4]
        msgs.insert(2, {"role": "user", "content": "(earlier steps were compacted to fit the window)"})
        if msgs[3]["content"].startswith("(earlier"):
            del msgs[3]
    return msgs
