"""Show a recorded RLM run: a rich tree for the terminal, plain JSON, and a self-contained HTML page.

All three read a ``storage.RunRecord`` (or its ``to_dict()``), so any run in the store can be shown after
the fact — including one that crashed or was cancelled half-way, whose steps were persisted as they ran.
Steps nest by ``parent_seq``: sub-calls and tool calls appear under the step that made them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text
from rich.tree import Tree

from deepwell.core.status import canonical_status
from deepwell.storage import RunRecord

__all__ = ["render_html", "render_tree", "run_summary", "run_to_dict", "step_label"]

# the fields of a step worth showing, in the order a reader wants them; the rest is shown as key: value
_TEXT_FIELDS = (
    "question",
    "plan",
    "op",
    "status",
    "how",
    "terms",
    "evidence",
    "name",
    "strategy",
    "action",
    "argument",
    "arguments",
    "args",
    "tool",
    "prompt",
    "code",
    "output",
    "stdout",
    "result",
    "answer",
    "error",
)
_HIDDEN = {"depth"}

# a stored run, or its ``to_dict()`` (as read back from JSON)
Run = RunRecord | Mapping[str, Any]
_STATUS_STYLE = {
    "answered": "green",
    "not_found": "yellow",
    "uncertain": "yellow",
    "error": "red",
    "running": "cyan",
}


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def run_to_dict(run: Run) -> dict[str, Any]:
    """A JSON-ready dict of a run and its steps (accepts a ``RunRecord`` or an already plain dict)."""
    data = run.to_dict() if isinstance(run, RunRecord) else dict(run)
    return _plain(data)


def _steps(run: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[int | None, list[dict[str, Any]]]]:
    steps = sorted(run.get("steps") or [], key=lambda s: s["seq"])
    seqs = {s["seq"] for s in steps}
    children: dict[int | None, list[dict[str, Any]]] = {}
    for s in steps:
        parent = s.get("parent_seq")
        children.setdefault(parent if parent in seqs else None, []).append(s)
    return steps, children


def _short(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_style(status: str | None) -> str:
    """The colour of a status; a word older runs were stored with takes the colour of today's word."""
    status = canonical_status(status or "running")
    if status.startswith("budget_exhausted"):
        return "magenta"
    return _STATUS_STYLE.get(status, "white")


def step_label(step: Mapping[str, Any], limit: int = 90) -> str:
    """One line that says what a step did: its kind, then its most telling field.

    Accepts a stored step (fields under ``data``) or a flat progress event (fields at the top level).
    """
    data = step["data"] if isinstance(step.get("data"), dict) else step
    kind = str(step.get("kind", "step"))
    bits = [kind]
    for key in ("name", "strategy", "action", "tool", "op", "planner"):
        if key in data and data[key] not in (None, "") and str(data[key]) != kind:
            bits.append(str(data[key]))
            break
    for key in (
        "argument",
        "arguments",
        "args",
        "prompt",
        "code",
        "output",
        "answer",
        "result",
        "plan",
        "terms",
        "error",
    ):
        if key in data and data[key] not in (None, "", {}, []):
            bits.append(_short(data[key], limit))
            break
    return " · ".join(bits)


def _meta(step: Mapping[str, Any]) -> str:
    data = step.get("data") or {}
    parts = []
    if step.get("seconds"):
        parts.append(f"{float(step['seconds']):.2f}s")
    tokens = data.get("tokens")
    if tokens is None and ("prompt_tokens" in data or "completion_tokens" in data):
        tokens = int(data.get("prompt_tokens") or 0) + int(data.get("completion_tokens") or 0)
    if tokens:
        parts.append(f"{tokens} tok")
    if data.get("depth"):
        parts.append(f"depth {data['depth']}")
    return ", ".join(parts)


def run_summary(run: Run) -> dict[str, Any]:
    """Where the time and tokens went: steps per kind, model seconds and tokens, errors, wall time."""
    data = run_to_dict(run)
    by_kind: dict[str, int] = {}
    model_seconds = 0.0
    tokens = errors = 0
    for s in data.get("steps") or []:
        kind = str(s.get("kind"))
        by_kind[kind] = by_kind.get(kind, 0) + 1
        sd = s.get("data") or {}
        if kind in ("sub_call", "subcall", "root"):
            model_seconds += float(s.get("seconds") or 0.0)
        t = sd.get("tokens")
        if t is None:
            t = int(sd.get("prompt_tokens") or 0) + int(sd.get("completion_tokens") or 0)
        tokens += int(t or 0)
        errors += int(kind == "error" or bool(sd.get("error")))
    # invalid actions and code without a block count against the budget but leave no error step
    errors = max(errors, int(((data.get("info") or {}).get("usage") or {}).get("errors") or 0))
    wall = None
    start, end = data.get("created_at"), data.get("finished_at")
    if start and end:
        wall = round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 2)
    return {
        "steps": sum(by_kind.values()),
        "by_kind": by_kind,
        "model_seconds": round(model_seconds, 2),
        "tokens": tokens,
        "errors": errors,
        "wall_seconds": wall,
    }


def _summary_line(summary: dict[str, Any]) -> str:
    kinds = ", ".join(f"{k} {n}" for k, n in summary["by_kind"].items())
    wall = f"{summary['wall_seconds']:.1f}s wall · " if summary["wall_seconds"] is not None else ""
    return (
        f"{summary['steps']} steps ({kinds}) · {wall}{summary['model_seconds']:.1f}s of model calls · "
        f"{summary['tokens']:,} tokens · {summary['errors']} errors"
    )


# terminal -------------------------------------------------------------------------------------------------
def _detail(key: str, value: Any, limit: int) -> Any:
    if key == "code" and isinstance(value, str):
        code = value if len(value) <= limit * 4 else value[: limit * 4] + "\n# …"
        return Panel(Syntax(code, "python", theme="ansi_dark", word_wrap=True), title="code", expand=False)
    style = "red" if key == "error" else "dim"
    return Text.assemble((f"{key}: ", "bold"), (_short(value, limit), style))


def render_tree(run: Run, *, detail_chars: int = 300, details: bool = True) -> Tree:
    """A rich ``Tree``: the run, then every step under its parent, with the telling fields of each."""
    data = run_to_dict(run)
    status = data.get("status") or "running"
    head = Text.assemble(
        ("run ", "bold"),
        (str(data.get("id")), "bold cyan"),
        f"  {data.get('kind', '')}  ",
        (status, _status_style(status)),
    )
    tree = Tree(head)
    tree.add(Text.assemble(("question: ", "bold"), str(data.get("question", ""))))
    _, children = _steps(data)

    def add(node: Tree, step: dict[str, Any]) -> None:
        meta = _meta(step)
        label = Text.assemble(
            (f"#{step['seq']} ", "dim"),
            (escape(step_label(step)), "bold" if step.get("kind") in ("answer", "final") else ""),
            (f"  ({meta})" if meta else "", "dim"),
        )
        child = node.add(label)
        if details:
            sd = step.get("data") or {}
            in_label = {
                k
                for k in ("name", "strategy", "action", "tool", "op", "planner")
                if str(sd.get(k)) in step_label(step)
            }
            shown = [
                k for k in _TEXT_FIELDS if k in sd and sd[k] not in (None, "", [], {}) and k not in in_label
            ]
            rest = [k for k in sd if k not in _TEXT_FIELDS and k not in _HIDDEN and sd[k] not in (None, "")]
            for key in shown + rest[:6]:
                child.add(_detail(key, sd[key], detail_chars))
        for sub in children.get(step["seq"], []):
            add(child, sub)

    for top in children.get(None, []):
        add(tree, top)
    info = data.get("info") or {}
    usage = info.get("usage")
    if usage:
        tree.add(Text.assemble(("usage: ", "bold"), _short(usage, 300)))
    tree.add(Text.assemble(("spent: ", "bold"), _summary_line(run_summary(data))))
    answer = data.get("answer")
    tree.add(
        Text.assemble(
            ("answer ", "bold"),
            (f"({status})", _status_style(status)),
            (": ", "bold"),
            str(answer) if answer is not None else "(none)",
        )
    )
    return tree


# HTML -------------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:70rem;
padding:0 1rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.3rem;margin:.2rem 0}.muted{color:#6a7383}.status{padding:.1rem .5rem;border-radius:.6rem;
font-weight:600;color:#fff;background:#6a7383}.s-answered{background:#1a7f37}.s-not_found,.s-uncertain{background:#9a6700}
.s-error{background:#cf222e}.s-budget{background:#8250df}
.answer{border-left:4px solid #1a7f37;background:#fff;padding:.6rem 1rem;margin:1rem 0;white-space:pre-wrap}
details{margin:.15rem 0 .15rem 1.1rem;border-left:1px solid #d0d7de;padding-left:.6rem}
summary{cursor:pointer;list-style:none}summary::before{content:"▸ ";color:#6a7383}
details[open]>summary::before{content:"▾ "}.kind{font-weight:600}.meta{color:#6a7383;font-size:.85em}
.field{margin:.25rem 0}.field b{color:#57606a;font-weight:600}
pre{background:#f3f4f6;padding:.5rem .7rem;border-radius:6px;white-space:pre-wrap;word-break:break-word;
margin:.2rem 0;max-height:28rem;overflow:auto}.err pre{background:#ffebe9}
.k-answer>summary .kind,.k-final>summary .kind{color:#1a7f37}.k-error>summary .kind{color:#cf222e}
.k-sub_call>summary .kind,.k-subcall>summary .kind{color:#0969da}.k-code>summary .kind{color:#8250df}
#tools{margin:.5rem 0}button{margin-right:.4rem}input{padding:.2rem .4rem;width:16rem}
"""

_JS = """
function setAll(o){document.querySelectorAll('details').forEach(d=>d.open=o)}
function filt(q){q=q.toLowerCase();document.querySelectorAll('details.step').forEach(d=>{
d.style.display=!q||d.textContent.toLowerCase().includes(q)?'':'none'})}
"""


def _html_value(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1, default=str)
    cls = "field err" if key == "error" else "field"
    return f'<div class="{cls}"><b>{html.escape(key)}</b><pre>{html.escape(text)}</pre></div>'


def _embedded_json(data: dict[str, Any]) -> str:
    """The run as JSON inside a script tag: only ``</`` and ``<!--`` could end or confuse it there."""
    return json.dumps(data, default=str, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(run: Run) -> str:
    """One self-contained page (inline CSS and JS, no network) with collapsible steps and a filter box."""
    data = run_to_dict(run)
    status = str(data.get("status") or "running")
    canonical = canonical_status(status)
    scls = "s-budget" if canonical.startswith("budget") else f"s-{canonical}"
    _, children = _steps(data)

    def block(step: dict[str, Any]) -> str:
        sd = step.get("data") or {}
        keys = [k for k in _TEXT_FIELDS if k in sd] + [
            k for k in sd if k not in _TEXT_FIELDS and k not in _HIDDEN
        ]
        fields = "".join(_html_value(k, sd[k]) for k in keys if sd[k] not in (None, "", [], {}))
        subs = "".join(block(s) for s in children.get(step["seq"], []))
        meta = _meta(step)
        kind = html.escape(str(step.get("kind", "step")))
        label = html.escape(step_label(step, 140).removeprefix(str(step.get("kind", ""))).lstrip(" ·"))
        opened = " open" if step.get("kind") in ("answer", "final", "error") else ""
        return (
            f'<details class="step k-{kind}"{opened}><summary><span class="meta">#{step["seq"]}</span> '
            f'<span class="kind">{kind}</span> {label} <span class="meta">{html.escape(meta)}</span>'
            f"</summary>{fields}{subs}</details>"
        )

    steps_html = "".join(block(s) for s in children.get(None, []))
    info = data.get("info") or {}
    info_html = "".join(_html_value(k, v) for k, v in info.items())
    answer = data.get("answer")
    title = f"Deepwell RLM run {data.get('id')}"
    spent = _summary_line(run_summary(data))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style><script>{_JS}</script></head><body>
<div class="muted">Deepwell RLM run · {html.escape(str(data.get("kind", "")))} ·
started {html.escape(str(data.get("created_at", "")))} ·
finished {html.escape(str(data.get("finished_at") or "—"))}</div>
<h1>{html.escape(str(data.get("question", "")))}</h1>
<span class="status {html.escape(scls)}">{html.escape(status)}</span>
<span class="muted"> run {html.escape(str(data.get("id")))} · {html.escape(spent)}</span>
<div class="answer">{html.escape(str(answer) if answer is not None else "(no answer)")}</div>
<div id="tools"><button onclick="setAll(true)">expand all</button><button onclick="setAll(false)">collapse all
</button><input placeholder="filter steps…" oninput="filt(this.value)"></div>
{steps_html}
<details><summary><span class="kind">run info</span></summary>{info_html}</details>
<script type="application/json" id="run-data">{_embedded_json(data)}</script>
</body></html>
"""
