"""Run one task with the official ``rlms`` library; executed by the rlms venv's python, not imported.

Reads ``{"context", "question", "base_url", "model", "max_iterations", "max_timeout"}`` as JSON on
stdin and prints ``{"answer", "error", "seconds", "usage"}`` as the last line of stdout.
"""

import json
import sys
import time

sys.path[:] = [p for p in sys.path if not p.endswith("bench/rlm")]  # only the venv's `rlm` may load


def main() -> None:
    req = json.loads(sys.stdin.read())
    import rlm

    engine = rlm.RLM(
        backend="openai",
        backend_kwargs={"model_name": req["model"], "base_url": req["base_url"], "api_key": "local"},
        environment="local",
        max_iterations=req["max_iterations"],
        max_timeout=req["max_timeout"],
        sampling_args={"temperature": 0.0, "extra_body": {"max_tokens": 1024}},
        verbose=False,
    )
    t = time.perf_counter()
    answer, error, usage = None, None, None
    try:
        result = engine.completion(req["context"], root_prompt=req["question"])
        answer = result.response
        usage = result.usage_summary.to_dict()
    except Exception as exc:  # the library's limit errors carry the best answer so far
        answer = getattr(exc, "partial_answer", None)
        error = f"{type(exc).__name__}: {exc}"[:500]
    reply = {"answer": answer, "error": error, "seconds": time.perf_counter() - t, "usage": usage}
    print("\n" + json.dumps(reply, default=str))


if __name__ == "__main__":
    main()
