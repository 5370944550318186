"""``NearestCentre`` and ``assign_documents``: nearest centre by cosine similarity with a threshold,
chunked, the same with faiss as with numpy; the share drift between two size distributions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from clusterbook.engine.assign import NearestCentre, assign_documents, share_drift
from clusterbook.errors import ClusteringFailed


def _data(n: int = 3_000, k: int = 7, d: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(k, d)).astype(np.float32)


def test_each_row_goes_to_the_centre_of_highest_cosine_similarity() -> None:
    X, centres = _data()
    expected = cosine_similarity(X, centres)
    estimator = NearestCentre(threshold=0.0, backend="numpy", chunk=257).fit(centres)
    labels = estimator.predict(X)
    ranked = np.sort(expected, axis=1)
    clear = ranked[:, -1] - ranked[:, -2] > 1e-5  # float32 may swap near-ties; those are not the point
    facing = ranked[:, -1] >= 0  # threshold 0: a row pointing away from every centre stays unassigned
    np.testing.assert_array_equal(labels[clear & facing], expected.argmax(axis=1)[clear & facing])
    assert (labels[~facing] == -1).all() and (~facing).any()
    np.testing.assert_allclose(estimator.similarity_, expected.max(axis=1), atol=1e-5)


def test_rows_below_the_threshold_are_unassigned() -> None:
    X, centres = _data()
    estimator = NearestCentre(threshold=0.4, backend="numpy").fit(centres)
    labels = estimator.predict(X)
    below = estimator.similarity_ < 0.4
    assert below.any() and (~below).any()
    assert (labels[below] == -1).all() and (labels[~below] >= 0).all()


def test_chunking_does_not_change_the_assignment() -> None:
    X, centres = _data()
    whole = NearestCentre(0.2, "numpy", chunk=100_000).fit(centres)
    pieces = NearestCentre(0.2, "numpy", chunk=13).fit(centres)
    np.testing.assert_array_equal(whole.predict(X), pieces.predict(X))
    np.testing.assert_allclose(whole.similarity_, pieces.similarity_, atol=1e-6)


def test_faiss_assigns_like_numpy() -> None:
    pytest.importorskip("faiss", reason="the faiss backend needs the extra clusterbook[assign]")
    X, centres = _data(n=5_000)
    with_numpy = NearestCentre(0.3, "numpy").fit(centres)
    with_faiss = NearestCentre(0.3, "faiss").fit(centres)
    assert with_faiss.backend_ == "faiss" and NearestCentre(0.3).fit(centres).backend_ == "faiss"
    labels = with_faiss.predict(X)
    np.testing.assert_array_equal(labels, with_numpy.predict(X))
    np.testing.assert_allclose(with_faiss.similarity_, with_numpy.similarity_, atol=1e-5)
    np.testing.assert_allclose(with_faiss.distance_, with_numpy.distance_, rtol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "centres", "words"),
    [
        ({"threshold": 1.5}, np.eye(2), "between 0 and 1"),
        ({"backend": "gpu"}, np.eye(2), "backend must be"),
        ({}, np.zeros((0, 3)), "non-empty"),
    ],
)
def test_bad_parameters_are_refused_at_fit(kwargs: dict[str, object], centres: np.ndarray, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        NearestCentre(**kwargs).fit(centres)  # type: ignore[arg-type]


def test_rows_of_another_dimension_are_a_clustering_failure() -> None:
    X, centres = _data(d=5)
    with pytest.raises(ClusteringFailed, match="have 4 dimensions but the source run's centres have 5"):
        assign_documents(np.ones((3, 4), np.float32), centres, np.ones(len(centres)), ["a", "b", "c"], threshold=0.1)


def test_assign_documents_measures_the_assigned_rows_and_the_share_drift() -> None:
    rng = np.random.default_rng(4)
    centres = np.eye(3, 8, dtype=np.float32) * 5
    X = np.vstack([centres[g] + rng.normal(0, 0.2, (40, 8)) for g in (0, 0, 1, 2)]).astype(np.float32)
    X = np.vstack([X, -np.ones((10, 8), np.float32)])  # opposite every centre: unassigned
    ids = [f"d{i}" for i in range(len(X))]
    result = assign_documents(X, centres, np.array([50, 50, 50]), ids, threshold=0.5)
    assert result.sizes.tolist() == [80, 40, 40]
    assert result.unassigned_ratio == pytest.approx(10 / 170)
    assert result.share_drift == pytest.approx(0.5 * (abs(0.5 - 1 / 3) + 2 * abs(0.25 - 1 / 3)))
    assert result.metrics.silhouette_score is not None and result.metrics.silhouette_score > 0.8
    assert np.isnan(result.distances[-10:]).all() and not np.isnan(result.distances[:-10]).any()
    assert result.projection["total"] == 170


def test_share_drift_is_zero_for_the_same_shares_and_one_for_disjoint_ones() -> None:
    assert share_drift(np.array([2.0, 2.0]), np.array([5.0, 5.0])) == 0.0
    assert share_drift(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == 1.0
    assert share_drift(np.array([0.0, 0.0]), np.array([1.0, 1.0])) is None


def test_distances_are_the_euclidean_distances_to_the_assigned_centre() -> None:
    X, centres = _data()
    estimator = NearestCentre(0.3, "numpy", chunk=501).fit(centres)
    labels = estimator.predict(X)
    kept = labels >= 0
    expected = np.linalg.norm(X[kept] - centres[labels[kept]], axis=1)
    np.testing.assert_allclose(estimator.distance_[kept], expected, rtol=1e-4)
    assert np.isnan(estimator.distance_[~kept]).all()
