"""implementation 'knn': HDBSCAN over the nearest-neighbour graph agrees with scikit-learn's exact HDBSCAN on
the same reduced array, is seeded, works without faiss, and lets a full 100k PCA(50) run through the limits."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import knn_hdbscan, validate_algorithm_params
from clusterbook.engine.knn_hdbscan import KnnHDBSCAN
from clusterbook.engine.limits import estimate_run
from clusterbook.engine.preprocessing import validate_preprocessing
from clusterbook.errors import ClusteringFailed
from tests.engine.conftest import run


@pytest.fixture(scope="module")
def reduced_blobs() -> tuple[np.ndarray, np.ndarray]:
    """3,000 points around 8 centres in 50 dimensions, plus 150 uniform noise points (label -1)."""
    X, y = make_blobs(n_samples=3_000, n_features=50, centers=8, cluster_std=1.0, random_state=2)
    rng = np.random.default_rng(2)
    noise = rng.uniform(X.min(), X.max(), size=(150, 50))
    return np.vstack([X, noise]).astype(np.float32), np.concatenate([y, np.full(150, -1)])


def test_knn_agrees_with_sklearns_exact_hdbscan(reduced_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = reduced_blobs
    exact = HDBSCAN(min_cluster_size=30, copy=True).fit_predict(X)
    model = KnnHDBSCAN(min_cluster_size=30)
    knn = model.fit_predict(X)
    assert model.backend_ == "faiss" and model.n_neighbors_ == 30  # max(min_samples, 16) neighbours
    assert adjusted_rand_score(exact, knn) > 0.99
    assert adjusted_rand_score(y, knn) > 0.99
    assert (knn[-150:] == -1).mean() > 0.9  # the uniform points stay noise


def test_the_approximate_search_beyond_exact_rows_is_seeded(
    reduced_blobs: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = reduced_blobs
    monkeypatch.setattr(knn_hdbscan, "EXACT_ROWS", 500)  # the inverted-file path, on a small array
    first = KnnHDBSCAN(min_cluster_size=30, random_state=4).fit_predict(X)
    again = KnnHDBSCAN(min_cluster_size=30, random_state=4).fit_predict(X)
    assert np.array_equal(first, again)
    assert adjusted_rand_score(y, first) > 0.99


def test_without_faiss_the_neighbours_are_sklearns(
    reduced_blobs: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = reduced_blobs
    with_faiss = KnnHDBSCAN(min_cluster_size=30).fit_predict(X)
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss → ImportError
    model = KnnHDBSCAN(min_cluster_size=30)
    assert adjusted_rand_score(with_faiss, model.fit_predict(X)) > 0.99 and model.backend_ == "sklearn"


def test_a_pipeline_run_with_a_pca_step_and_knn(reduced_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = reduced_blobs
    wide = np.hstack([X, np.random.default_rng(0).normal(0, 0.1, (len(X), 78)).astype(np.float32)])
    params = {"min_cluster_size": 30, "implementation": "knn"}
    steps = tuple(validate_preprocessing([{"step": "pca", "n_components": 20}], "hdbscan", params))
    result = run(wide, algorithm="hdbscan", params=params, preprocessing=steps, random_state=3)
    again = run(wide, algorithm="hdbscan", params=params, preprocessing=steps, random_state=3)
    assert np.array_equal(result.labels, again.labels)
    blob = y >= 0
    assert adjusted_rand_score(y[blob], result.labels[blob]) > 0.99
    with pytest.raises(ClusteringFailed, match="metric 'euclidean'"):
        run(wide, algorithm="hdbscan", params={**params, "metric": "manhattan"})


def _estimate(implementation: str, documents: int):  # type: ignore[no-untyped-def]
    params = validate_algorithm_params("hdbscan", {"min_cluster_size": 50, "implementation": implementation})
    steps = validate_preprocessing([{"step": "pca", "n_components": 50}], "hdbscan", params)
    return estimate_run("hdbscan", params, documents=documents, dimensions=384, preprocessing=steps)


def test_a_full_100k_pca50_hdbscan_is_allowed_with_knn_and_still_bounded() -> None:
    assert not _estimate("knn", 100_000).refused
    assert _estimate("knn", 100_000).estimated_seconds < 60
    refused = _estimate("sklearn", 100_000)
    assert refused.refused and "implementation to 'knn'" in (refused.reason or "")
    too_big = _estimate("knn", 2_000_000)  # no algorithm runs away: knn has its own limit
    assert too_big.refused and "1,000,000 documents" in (too_big.reason or "")
