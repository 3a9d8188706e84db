"""One Deepwell RLM task in a child process, so the benchmark can enforce its wall-clock cap by killing it.

``python -m bench.rlm._dw_worker`` reads ``{"question", "context", "mode", "timeout", "data_dir"}`` (and
optionally ``"context_path"``, a directory given to the RLM as a ``Path`` instead of the text) as JSON
on stdin and prints ``{"answer", "status", "run_id", "how", "mode", "error"}`` as the last stdout line.
The official library gets the same treatment (one killable process per task), so both are capped alike.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.rlm.contenders import Unavailable, _deepwell_rlm


def main() -> None:
    req = json.loads(sys.stdin.read())
    from deepwell.core.settings import Settings

    settings = Settings(data_dir=Path(req["data_dir"]))
    reply: dict[str, object] = {"answer": None, "error": None}
    try:
        context = Path(req["context_path"]) if req.get("context_path") else req["context"]
        result = _deepwell_rlm(req["question"], context, req["mode"], req["timeout"], settings=settings)
        reply.update(answer=result.answer, status=result.status, run_id=result.run_id, how=result.how)
        reply["rlm_mode"] = result.mode
    except Unavailable as exc:
        reply["error"] = f"unavailable: {exc}"
    except Exception as exc:  # the engine under test may fail in any way; report it as the outcome
        reply["error"] = f"{type(exc).__name__}: {exc}"[:500]
    print("\n" + json.dumps(reply, default=str))


if __name__ == "__main__":
    main()
