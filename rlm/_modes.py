"""The two ways the root model works: constrained actions (small models) and code in the sandbox."""

from __future__ import annotations

import json
import re
from typing import Any

from deepwell.core.errors import DeepwellError
from deepwell.reasoning import Action, ActionLoop, InvalidAction, Message, clip_observation
from deepwell.rlm._engine import Engine
from deepwell.rlm._plan import execute_plan, fill_plan, fill_plan_with_model
from deepwell.rlm._strategies import Found, count_records
from deepwell.rlm.sandbox import SANDBOXES, SandboxLimits

__all__ = ["run_actions", "run_code"]

_KINDS = ("search", "grep", "read", "outline", "locate", "children", "entries", "fields", "answer")
_ACTION_SCHEMA = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": list(_KINDS)},
        "argument": {"type": "string", "maxLength": 120},
    },
    "required": ["action", "argument"],
}

_ACTION_SYSTEM = (
    "You answer a question about a long text you cannot see. Choose ONE action as JSON.\n"
    "search: argument = words to look for. grep: argument = a regular expression.\n"
    "read: argument = a character offset to read from.\n"
    "outline: argument = a depth (1, 2, 3): the sections with their ids and entry counts.\n"
    "locate: argument = a word or id; every match with the headings it sits under.\n"
    "children: argument = a node id such as 0.3. entries: argument = a node id, then optional words to "
    "filter by. fields: argument = a node id (version, author, date, credits, issue ids).\n"
    "answer: argument = the final answer, only if the results above contain it."
)


def _valid_answer(answer: str, question: str) -> bool:
    a = answer.strip()
    return (
        bool(a) and a.lower() != question.strip().lower() and a.upper() not in {"NONE", "N/A", "UNKNOWN", "?"}
    )


async def run_actions(e: Engine) -> Found | None:
    """A typed plan executed over the structure tree; the model's own constrained actions only when the
    plan found nothing to work on (no key term of the question is in the text)."""
    found = await run_plan(e)
    if found.status == "answered" or found.evidence or found.status == "not_found":
        return found
    e.trajectory.step("note", {"why": "the plan found nothing to work on; the model explores"})
    return await _explore(e) or found


async def run_plan(e: Engine) -> Found:
    """Fill the plan, run it, and record plan, execution and evidence in the trajectory."""
    tree = e.ctx.tree
    step = e.trajectory.step("plan", {"planner": e.config.planner})
    if e.config.planner == "model":
        plan, why = await fill_plan_with_model(e, e.question, tree)
    else:
        plan, why = fill_plan(e.question, tree, e.config.embedding_model)
    e.trajectory.step("plan", {"plan": plan.model_dump(), **why}, parent=step)
    if plan.op in ("count", "argmax", "argmin") and len(e.ctx.records()[1]) >= 2:
        rec = await count_records(e, e.question, plan.op)
        if rec is not None:
            return rec
    try:
        out = await execute_plan(e, plan, tree, e.question, step)
    except DeepwellError as exc:
        e.trajectory.step("error", {"plan": plan.op, "error": str(exc)}, parent=step)
        e.budget.error()
        return Found(
            f"The plan failed: {exc}",
            [{"error": str(exc), "plan": plan.model_dump()}],
            f"{plan.op} failed",
            "uncertain",
        )
    return Found(out.answer, out.evidence, out.how, out.status)


async def _explore(e: Engine) -> Found | None:
    """The root model's constrained actions; an answer is accepted only if a result it read holds it."""
    observations: list[str] = []  # what the model is shown, its mistakes included
    read: list[str] = []  # what the tools returned: the only place an answer may come from

    def on_error(message: str) -> None:  # recorded first: the budget raises once it runs out
        e.trajectory.step("error", {"error": message})
        e.budget.error()

    loop = ActionLoop(
        _ACTION_SCHEMA,
        read=_read_action,
        check=lambda a: None if a.name in _KINDS else f"There is no action {a.name!r}.",
        on_error=on_error,
        final=frozenset({"answer"}),
        observation_chars=e.config.observation_chars,
    )

    async def ask(schema: dict[str, Any]) -> str:
        desc = json.dumps(e.ctx.describe(), ensure_ascii=False)[:600]
        seen = "\n".join(observations[-3:])
        messages: list[Message] = [
            {"role": "system", "content": _ACTION_SYSTEM},
            {"role": "user", "content": f"Text: {desc}\nQuestion: {e.question}\n{seen}"},
        ]
        return await e.root(messages, json_schema=schema, max_tokens=64)

    while True:
        action = await loop.next_action(ask)
        if isinstance(action, InvalidAction):
            observations.append(f"Result: {action.message}")
            continue
        kind, arg = action.name, action.arguments["argument"]
        step = e.trajectory.step("action", {"action": kind, "argument": arg})
        try:
            if kind == "answer":
                if _valid_answer(arg, e.question) and any(arg.lower() in r.lower() for r in read):
                    return Found(arg, [], "answered by the root model from what it read")
                observations.append("Result: not accepted: the answer must come from a result above.")
                loop.error("the answer is not in what was read")
            else:
                read.append(await _observe(e, loop, kind, arg, step))
                observations.append(read[-1])
        except DeepwellError as exc:
            observations.append(f"Result: error: {exc}")
            loop.error(str(exc))


def _read_action(obj: dict[str, Any]) -> Action:
    """``{"action": kind, "argument": "..."}``: one short string argument, compared without case."""
    return Action(str(obj["action"]), {"argument": str(obj.get("argument", "")).strip()})


async def _observe(e: Engine, loop: ActionLoop, kind: str, arg: str, step: int) -> str:
    """Run one exploring action and say what it found, clipped to the observation budget."""
    if kind == "search":
        ps = (await e.tool("search", parent=step, query=arg or e.question, k=3))["passages"]
        return "Result: " + loop.clip(" | ".join(p["text"][:300] for p in ps))
    if kind == "grep":
        g = await e.tool("grep", parent=step, pattern=arg or ".", max_matches=5)
        return f"Result: {g['total']} matches: " + loop.clip(" | ".join(m["context"] for m in g["matches"]))
    if kind == "read":
        start = int(re.sub(r"\D", "", arg) or 0)
        return "Result: " + loop.clip(e.ctx.read(start, start + 1500))
    return "Result: " + loop.clip(await _tree_action(e, kind, arg, step))


async def _tree_action(e: Engine, kind: str, arg: str, step: int) -> str:
    """Run one structure tool for action mode and render its result as a few short lines."""
    if kind == "outline":
        depth = int(re.sub(r"\D", "", arg) or 2)
        r = await e.tool("outline", parent=step, depth=min(depth, 6), max_items=40)
        rows = [
            f"{n['id']} {n['kind']} {n['title'][:80]} ({n.get('entries', 0)} entries)" for n in r["nodes"]
        ]
        return f"{r['structure']}\n" + "\n".join(rows)
    if kind == "locate":
        r = await e.tool("locate", parent=step, pattern=arg or e.question[:60], limit=8)
        rows = [f"{m['node']} {' > '.join(m['path'])}: {m['line'][:160]}" for m in r["matches"]]
        more = " (more not shown)" if r["truncated"] else ""
        return f"{r['count']} matches{more}:\n" + "\n".join(rows)
    node, _, rest = (arg or "0").partition(" ")
    if kind == "children":
        r = await e.tool("children", parent=step, node=node, max_items=40)
        rows = [
            f"{c['id']} {c['kind']} {c['title'][:80]} ({c.get('entries', 0)} entries)" for c in r["children"]
        ]
        return f"{r['count']} children of {node}:\n" + "\n".join(rows)
    if kind == "entries":
        r = await e.tool("entries", parent=step, node=node, filter=rest.strip() or None, max_items=10)
        rows = [f"{x['id']}: {x['text'][:160]}" for x in r["entries"]]
        return f"{r['count']} entries under {node}:\n" + "\n".join(rows)
    r = await e.tool("fields", parent=step, node=node)
    where = " > ".join(r["path"][:-1]) or "the top"
    return f"{r['kind']} {r['title'][:80]} under {where}: {r.get('fields', {})}"


_CODE_SYSTEM = """You answer a question about a long text held in the variable `context` (a str) of a REPL.
You cannot see it; explore it with code. Write code in ```repl blocks; you will see what it prints.
Functions: llm_query(prompt) -> str asks a language model about a piece of text (pieces < 4000 chars);
llm_query_batched(prompts) -> list[str]; search(query, k=5) -> list of passages {"doc","text"};
grep(pattern) -> {"total", "matches": [{"doc","context"}]}; records() -> {"fields","records"}; SHOW_VARS().
Structure (sections, releases, files, classes, entries; nodes have ids like "0.3.2"): outline(depth=2);
locate(pattern) -> {"matches": [{"node","path","line","fields"}]} with the headings enclosing each match;
children(node="0") -> {"children": [{"id","title","entries"}]}; entries(node, filter=None); fields(node).
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

    async def outline_(depth: int = 2) -> dict[str, Any]:
        return await e.tool("outline", depth=int(depth))

    async def locate(pattern: str, regex: bool = False, limit: int = 50) -> dict[str, Any]:
        return await e.tool("locate", pattern=str(pattern), regex=bool(regex), limit=int(limit))

    async def children(node: str = "0") -> dict[str, Any]:
        return await e.tool("children", node=str(node))

    async def entries(node: str = "0", filter: str | None = None) -> dict[str, Any]:
        return await e.tool("entries", node=str(node), filter=None if filter is None else str(filter))

    async def fields(node: str) -> dict[str, Any]:
        return await e.tool("fields", node=str(node))

    async def llm_query(prompt: str) -> str:
        return await e.llm_query(str(prompt))

    async def llm_query_batched(prompts: list[str]) -> list[str]:
        return await e.llm_query_batched(list(prompts))

    async def rlm_query(question: str, text: str | None = None) -> str:
        if e.depth + 1 > e.config.max_depth or text is None or e.session is None:
            return await e.llm_query(f"{text or ''}\n\nQuestion: {question}")
        return str(await e.session.nested(e, question, text))

    host = {
        "search": search,
        "grep": grep,
        "read_range": read_range,
        "outline": outline_,
        "records": records,
        "locate": locate,
        "children": children,
        "entries": entries,
        "fields": fields,
        "llm_query": llm_query,
        "llm_query_batched": llm_query_batched,
        "rlm_query": rlm_query,
        **(user_tools or {}),
    }
    limits = SandboxLimits(
        wall_seconds=min(60.0, e.config.max_seconds), max_output_chars=e.config.observation_chars
    )
    desc = json.dumps(e.ctx.describe(), ensure_ascii=False)[:800]
    history: list[Message] = [
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
                {"role": "user", "content": "Output:\n" + clip_observation(shown, e.config.observation_chars)}
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


def _compact(history: list[Message], e: Engine) -> list[Message]:
    """Keep the root prompt inside the window: drop the oldest exchanges, saying so."""
    budget = int(e.llm.n_ctx * 0.7) - e.config.root_max_tokens
    msgs = list(history)
    while len(msgs) > 3 and sum(e.llm.count_tokens(m["content"]) for m in msgs) > budget:
        del msgs[2:4]
        msgs.insert(2, {"role": "user", "content": "(earlier steps were compacted to fit the window)"})
        if msgs[3]["content"].startswith("(earlier"):
            del msgs[3]
    return msgs
