"""Unusable input becomes ClusteringFailed with the cause and the fix, before any fitting."""

from __future__ import annotations

import numpy as np
import pytest

from clusterbook.engine import EngineInput, RunConfig, run_pipeline
from clusterbook.errors import ERROR_CLASSES, ClusteringFailed
from tests.engine.conftest import make_input, run


def _fails(data: EngineInput) -> str:
    with pytest.raises(ClusteringFailed) as caught:
        run_pipeline(data)
    return caught.value.message


def test_clustering_failed_is_in_the_error_table() -> None:
    assert ERROR_CLASSES["clustering_failed"] is ClusteringFailed
    assert ClusteringFailed.status == 422


def test_too_few_documents() -> None:
    one = make_input(np.ones((1, 3), dtype=np.float32))
    assert _fails(one) == "Insufficient documents for clustering: 1 document, need at least 2"
    none = make_input(np.ones((0, 3), dtype=np.float32))
    assert _fails(none) == "Insufficient documents for clustering: 0 documents, need at least 2"


def test_non_finite_vectors_are_counted_and_named() -> None:
    X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    X[2, 1] = np.nan
    X[7, 0] = np.inf
    message = _fails(make_input(X, params={"n_clusters": 2}))
    assert message.startswith("Vectors of 2 documents contain NaN or infinity (doc-2, doc-7)")


def test_more_clusters_than_documents() -> None:
    X = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    message = _fails(make_input(X, params={"n_clusters": 8}))
    assert message == "n_clusters=8 is more than the 5 documents; lower n_clusters or add documents"


def test_documents_without_vectors_or_text() -> None:
    texts: list[str | None] = ["the telescope saw a comet", None, "   ", "a galaxy far away", None, None]
    message = _fails(make_input(texts=texts, params={"n_clusters": 2}))
    assert message.startswith("Documents have neither vectors nor text: 4 of 6 (e.g. doc-1, doc-2, doc-4)")


def test_texts_without_words() -> None:
    message = _fails(make_input(texts=["the and of", "is it a", "on to by"], params={"n_clusters": 2}))
    assert "have no words to embed" in message


def test_config_problems_are_clustering_failures() -> None:
    X = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    base = make_input(X, params={"n_clusters": 2})
    bad_params = EngineInput(base.document_ids, base.texts, base.metadata, X, RunConfig("kmeans", {"n_clusters": 0}))
    assert _fails(bad_params).startswith("algorithm_params.n_clusters must be an integer from 2 to 1000")
    unknown = make_input(texts=["a comet", "a star", "a moon"], embedder="word2vec", params={"n_clusters": 2})
    assert _fails(unknown) == "Unknown embedder 'word2vec'; accepted: tfidf-svd, minilm"
    no_attributes = make_input(X, algorithm="attribute_based")
    assert "set attributes" in _fails(no_attributes)


def test_identical_points_are_a_note_not_a_failure() -> None:
    X = np.ones((12, 3), dtype=np.float32)
    result = run(X, params={"n_clusters": 3})
    assert any("ConvergenceWarning" in note for note in result.effective_config["fit_notes"])
    assert result.silhouette_score is None
