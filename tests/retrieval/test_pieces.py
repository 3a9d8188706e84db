"""The piece index (each chunk scored with its best short piece too) and z-score fusion, on numbers worked
out by hand, then in a real search that rebuilds after an update."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepwell.core.settings import Settings
from deepwell.retrieval.fusion import FUSIONS, zscore
from deepwell.retrieval.indexes import PieceIndex, Ranked
from deepwell.sdk import Deepwell


def _r(ids: list[int], scores: list[float]) -> Ranked:
    return Ranked(np.asarray(ids, np.int64), np.asarray(scores, np.float32))


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, np.float32)
    return a / np.linalg.norm(a)


def test_a_chunk_scores_its_vector_blended_with_its_best_piece() -> None:
    e = np.eye(3, dtype=np.float32)
    chunk_vecs = np.vstack([_unit([0.6, 0.8, 0]), _unit([0.7, 0, 0.7])])
    texts = {10: "a. b.", 20: "short"}
    embedded: list[list[str]] = []

    def encode(t: list[str]) -> np.ndarray:
        embedded.append(t)
        return np.vstack([e[0], e[1]])  # chunk 10's two pieces: one on the query's axis

    idx = PieceIndex.build(
        np.asarray([10, 20]), chunk_vecs, texts, lambda t: t.split() if " " in t else [t], encode, revision=3
    )
    assert embedded == [["a.", "b."]]  # chunk 20 is one piece: its own vector is reused, not re-embedded
    r = idx.search(e[0], 5, weight=0.5)
    assert r.ids.tolist() == [10, 20]
    assert r.scores.tolist() == pytest.approx([0.5 * 0.6 + 0.5 * 1.0, 0.5 * 0.7071 + 0.5 * 0.7071], abs=1e-4)
    assert idx.search(e[0], 5, weight=0.0).ids.tolist() == [20, 10]  # chunk vectors alone
    assert idx.search(e[0], 5, allowed=np.asarray([20])).ids.tolist() == [20]

    def encode_new(t: list[str]) -> np.ndarray:
        embedded.append(t)
        return np.vstack([e[2], e[2]])

    again = PieceIndex.build(
        np.asarray([10, 20, 30]),
        np.vstack([chunk_vecs, e[2]]),
        {**texts, 30: "c. d."},
        lambda t: t.split(),
        encode_new,
        revision=4,
        previous=idx,
    )
    assert embedded[-1] == ["c.", "d."]  # only the new chunk is embedded; 10 and 20 keep their pieces
    np.testing.assert_allclose(again.pieces_of(10), np.vstack([e[0], e[1]]))


def test_piece_index_saves_and_loads(tmp_path: Path) -> None:
    v = np.eye(2, dtype=np.float32)
    idx = PieceIndex(np.asarray([1, 2]), v, np.asarray([0, 1]), np.vstack([v[0], v[1], v[0]]), 7, "m 48/12")
    idx.save(tmp_path / "p")
    back = PieceIndex.load(tmp_path / "p")
    assert back is not None and back.revision == 7 and back.config == "m 48/12"
    np.testing.assert_allclose(back.pieces_of(2), np.vstack([v[1], v[0]]))
    assert PieceIndex.load(tmp_path / "missing") is None


def test_zscore_fusion_standardises_each_list_and_floors_the_missing() -> None:
    dense = _r([1, 2, 3], [0.9, 0.6, 0.3])
    kw = _r([3, 4], [12.0, 2.0])
    fused = zscore(dense, kw, dense_weight=0.5)
    z = 1.224745  # (0.9 - 0.6) / std([0.9, 0.6, 0.3])
    assert fused[1] == pytest.approx(0.5 * z + 0.5 * -1.0, abs=1e-5)  # not in the keyword list: its floor
    assert fused[3] == pytest.approx(0.5 * -z + 0.5 * 1.0, abs=1e-5)
    assert fused[4] == pytest.approx(0.5 * -z + 0.5 * -1.0, abs=1e-5)
    assert FUSIONS["zscore"](dense, kw, 0.5) == fused
    assert zscore(_r([], []), kw, dense_weight=0.5) == {3: pytest.approx(0.5), 4: pytest.approx(-0.5)}


@pytest.mark.model
def test_search_uses_pieces_and_rebuilds_them_after_an_update(tmp_path: Path) -> None:
    with Deepwell(Settings(data_dir=tmp_path, database_url=None)) as dw:
        dw.ingest_texts(
            [
                ("tea", "Steep green tea for two minutes at 75 degrees; hotter water makes it bitter.", {}),
                ("bike", "Bicycle chains last longer when cleaned after wet rides and oiled sparingly.", {}),
            ],
            "t",
        )
        cid = dw.store.collection_id("t")
        assert dw.retriever.pieces(cid) is not None
        assert dw.search("how long should green tea steep?", "t", mode="dense", k=1)[0].uri == "tea"
        dw.ingest_texts([("tea", "Oolong is rolled and oxidised; rinse the leaves once.", {})], "t")
        pieces = dw.retriever.pieces(cid)
        assert pieces is not None and pieces.size == 2
        assert dw.search("rinse oolong leaves", "t", mode="dense", k=1)[0].uri == "tea"
    off = Settings(data_dir=tmp_path / "off", database_url=None)
    with Deepwell(off) as dw:
        dw.retriever.piece_tokens = 0
        dw.ingest_texts([("a", "Alpha text about compilers.", {})], "t")
        assert dw.retriever.pieces(dw.store.collection_id("t")) is None
        assert dw.search("compilers", "t", k=1)[0].uri == "a"
