"""Relative-score fusion and the document-mean blend, on numbers worked out by hand, then in a real search."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepwell.core.settings import Settings
from deepwell.retrieval.fusion import FUSIONS, relative
from deepwell.retrieval.indexes import DocumentMeans, Ranked
from deepwell.sdk import Deepwell


def _r(ids: list[int], scores: list[float]) -> Ranked:
    return Ranked(np.asarray(ids, np.int64), np.asarray(scores, np.float32))


def test_relative_fusion_divides_by_each_lists_best() -> None:
    dense = _r([1, 2], [0.8, 0.4])
    kw = _r([2, 3], [10.0, 5.0])
    fused = relative(dense, kw, dense_weight=0.7)
    assert fused[1] == pytest.approx(0.7)
    assert fused[2] == pytest.approx(0.7 * 0.5 + 0.3 * 1.0)
    assert fused[3] == pytest.approx(0.3 * 0.5)
    assert FUSIONS["relative"](dense, kw, 0.7) == fused
    assert relative(_r([], []), kw, dense_weight=0.7) == {2: pytest.approx(0.3), 3: pytest.approx(0.15)}


def test_document_means_blend_penalises_a_long_document_with_one_lucky_chunk() -> None:
    e = np.eye(3, dtype=np.float32)
    # document 7 has one chunk matching the query and three that do not; document 9 one close chunk
    chunk_ids = np.asarray([1, 2, 3, 4, 5])
    vectors = np.vstack([e[0], e[1], e[1], e[1], 0.9 * e[0] + 0.436 * e[2]])
    means = DocumentMeans.build(chunk_ids, vectors, np.asarray([7, 7, 7, 7, 9]), revision=1)
    q = e[0]
    ranked = _r([1, 5], [float(vectors[0] @ q), float(vectors[4] @ q)])
    assert ranked.ids.tolist() == [1, 5]
    blended = means.blend(q, ranked, 0.5)
    assert blended.ids.tolist() == [5, 1]
    assert blended.scores.tolist() == pytest.approx([0.9, 0.5 * 1.0 + 0.5 * 0.25])
    assert means.blend(q, ranked, 0.0) is ranked


@pytest.mark.model
def test_search_with_the_document_blend_and_relative_fusion(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=None, dense_doc_weight=0.3, fusion="relative")
    with Deepwell(settings) as dw:
        dw.ingest_texts(
            [
                ("tea", "Steep green tea for two minutes at 75 degrees; hotter water makes it bitter.", {}),
                ("bike", "Bicycle chains last longer when cleaned after wet rides and oiled sparingly.", {}),
            ],
            "t",
        )
        hits = dw.search("how long should green tea steep?", "t", k=2)
        assert [h.uri for h in hits] == ["tea", "bike"]
        assert dw.search("oiling a chain", "t", mode="dense", k=1)[0].uri == "bike"
        dw.ingest_texts([("tea", "Oolong is rolled and oxidised; rinse the leaves once.", {})], "t")
        assert dw.search("rolled oolong leaves", "t", mode="dense", k=1)[0].uri == "tea"
