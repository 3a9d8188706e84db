"""Remote mode against a real ``deepwell serve`` subprocess (streamable HTTP, bearer token): the same calls
return the same typed results as the local SDK over the same store; a wrong token, a missing server and a
failing tool each raise a DeepwellError that says what to do."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepwell.core.errors import AuthError, DeepwellError, RemoteError
from deepwell.core.settings import Settings
from deepwell.retrieval import IngestReport, SearchHit
from deepwell.sdk import AsyncDeepwell, Deepwell, RunInfo
from deepwell.storage import RunRecord
from tests.mcp_servers.conftest import DOCS, serve_http

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    root = tmp_path_factory.mktemp("remote")
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text)
    settings = Settings(data_dir=root / "data", allowed_roots=[docs])
    server = serve_http(settings)
    yield next(server), settings
    server.close()


def test_remote_ingest_search_and_runs_match_the_local_sdk(served: tuple[str, Settings]) -> None:
    url, settings = served
    docs = settings.allowed_roots[0]
    seen: list[tuple[str, int, int]] = []
    with Deepwell.connect(url, token="s3cret") as remote:
        report = remote.ingest(
            [str(docs)], "kb", progress=lambda item, done, total: seen.append((item, done, total))
        )
        assert isinstance(report, IngestReport) and report.added == 2 and report.chunks >= 2
        assert seen and seen[-1][1:] == (2, 2)
        hits = remote.search("API key rotation", "kb", k=2)
        assert all(isinstance(h, SearchHit) for h in hits)
        with Deepwell(settings) as local:
            mine = local.search("API key rotation", "kb", k=2)
            run_id = local.store.runs.start("ask", "How often are keys rotated?", {"method": "single"})
            local.store.runs.add_step(run_id, "retrieve", {"k": 2})
            local.store.runs.finish(run_id, "answered", "Every 90 days [1].")
            expected = local.store.runs.get(run_id)
        assert [(h.chunk_id, h.citation, h.headings) for h in hits] == [
            (h.chunk_id, h.citation, h.headings) for h in mine
        ]
        assert [h.score for h in hits] == pytest.approx([h.score for h in mine])
        listed = remote.runs(limit=5)
        assert isinstance(listed[0], RunInfo) and listed[0].id == run_id and listed[0].kind == "ask"
        got = remote.run(run_id[:6])
        assert isinstance(got, RunRecord) and got.answer == expected.answer
        assert [(s.seq, s.kind, s.data) for s in got.steps] == [
            (s.seq, s.kind, s.data) for s in expected.steps
        ]
        with pytest.raises(RemoteError, match=r"search failed on the server: .*missing"):
            remote.search("x", "missing")


async def test_async_remote_client_holds_one_session_for_a_block(served: tuple[str, Settings]) -> None:
    url, _ = served
    async with AsyncDeepwell.connect(url + "/mcp/", token="s3cret") as dw:
        a = await dw.search("green tea", "kb", k=1)
        b = await dw.search("leave days", "kb", k=1, mode="keyword")
    assert a[0].uri.endswith("tea.md") and b[0].uri.endswith("handbook.md")


def test_a_wrong_or_missing_token_says_so(
    served: tuple[str, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = served
    monkeypatch.delenv("DEEPWELL_AUTH_TOKEN", raising=False)
    with (
        Deepwell.connect(url, token="nope") as dw,
        pytest.raises(AuthError, match="refused the bearer token"),
    ):
        dw.search("keys", "kb")
    with Deepwell.connect(url) as dw, pytest.raises(AuthError, match=r"requires one.*DEEPWELL_AUTH_TOKEN"):
        dw.search("keys", "kb")


def test_a_server_that_is_not_there_says_how_to_start_one() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        Deepwell.connect(f"http://127.0.0.1:{port}", token="t", timeout=5) as dw,
        pytest.raises(RemoteError, match=r"Cannot reach a Deepwell server .*deepwell serve"),
    ):
        dw.search("keys", "kb")
    with pytest.raises(DeepwellError, match="not an http"):
        Deepwell.connect("127.0.0.1:8765")


def test_remote_clients_have_no_local_engine(served: tuple[str, Settings], tmp_path: Path) -> None:
    url, _ = served
    dw = AsyncDeepwell.connect(url, token="s3cret")
    with pytest.raises(DeepwellError, match="no local engine"):
        _ = dw.engine
