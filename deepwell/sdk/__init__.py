"""The Python SDK: ``Deepwell`` (blocking) and ``AsyncDeepwell``, local or remote, with typed results.

    from deepwell import Deepwell
    with Deepwell.from_env() as dw:                      # or Deepwell.connect(url, token=...)
        dw.ingest(["docs/"], collection="docs")
        for hit in dw.search("how do I rotate keys?", collection="docs"):
            print(hit.citation, hit.score)
        print(dw.ask("How often are keys rotated?", "docs").answer)

Both classes share one implementation (``AsyncDeepwell`` over a local or remote backend); results are
``IngestReport``, ``SearchHit``, ``AskResult``, ``RLMResult``, ``RunInfo`` and ``RunRecord`` either way.
"""

from deepwell.sdk._async import AsyncDeepwell
from deepwell.sdk._strategy import STRATEGIES, Route, Strategy, route
from deepwell.sdk._sync import Deepwell
from deepwell.sdk._types import RunInfo

__all__ = ["STRATEGIES", "AsyncDeepwell", "Deepwell", "Route", "RunInfo", "Strategy", "route"]
