"""The one shared conformance test every algorithm passes: shapes, numbering, distances, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clusterbook.engine import ALGORITHMS, EngineResult
from tests.engine.conftest import run

# Parameters that make each algorithm find the 4 blobs (defaults are tuned for unit vectors).
PARAMS: dict[str, dict[str, Any]] = {
    "kmeans": {"n_clusters": 4},
    "minibatch_kmeans": {"n_clusters": 4},
    "dbscan": {"eps": 2.0},  # leaves 2 points as noise
    "hdbscan": {"min_cluster_size": 10},
    "agglomerative": {"n_clusters": 4},
    "spectral": {"n_clusters": 4},
    "gaussian_mixture": {"n_clusters": 4},
    "mean_shift": {"bandwidth": 3.0},
    "optics": {"min_samples": 10},
    "attribute_based": {},
}


def _run(blobs: tuple[np.ndarray, np.ndarray], algorithm: str, seed: int = 0) -> EngineResult:
    X, y = blobs
    metadata = [{"blob": int(v)} for v in y]
    return run(
        X,
        metadata=metadata,
        algorithm=algorithm,
        params=PARAMS[algorithm],
        random_state=seed,
        normalize_features=False,
        attributes=("blob",),
    )


def test_every_algorithm_is_covered() -> None:
    assert set(PARAMS) == set(ALGORITHMS)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_algorithm_conformance(blobs: tuple[np.ndarray, np.ndarray], algorithm: str) -> None:
    X, _ = blobs
    n = len(X)
    result = _run(blobs, algorithm)
    labels = result.labels

    assert labels.shape == (n,) and labels.dtype == np.int32
    k = len(result.centroids)
    assert k >= 2, "each algorithm finds the blobs with these parameters"
    assert set(np.unique(labels)) <= set(range(-1, k))

    # cl_<n> numbering: every cluster present, ordered by size desc, ties by first member's row
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    assert [c.cluster_id for c in result.centroids] == [f"cl_{i}" for i in range(k)]
    assert [c.num_members for c in result.centroids] == sizes.tolist()
    assert all(sizes > 0)
    first_rows = [int(np.flatnonzero(labels == c)[0]) for c in range(k)]
    assert sorted(range(k), key=lambda c: (-sizes[c], first_rows[c])) == list(range(k))
    assert sum(c.num_members for c in result.centroids) == n - result.noise_points
    assert result.noise_points == int((labels == -1).sum())

    # distances: to the own cluster's mean, NaN exactly for noise
    assert result.distances.shape == (n,) and result.distances.dtype == np.float32
    assert np.array_equal(np.isnan(result.distances), labels == -1)
    for c in range(k):
        members = labels == c
        expected = np.linalg.norm(X[members] - X[members].mean(axis=0), axis=1)
        np.testing.assert_allclose(result.distances[members], expected, rtol=1e-4, atol=1e-5)

    # projection: every point (N < 2,000) and every centre, cluster ids matching the labels
    projection = result.projection
    assert projection["sampled"] == n and projection["total"] == n
    assert len(projection["points"]) == n and len(projection["centroids"]) == k
    point = projection["points"][5]
    assert set(point) == {"document_id", "x", "y", "cluster_id"}
    assert point["cluster_id"] == (f"cl_{labels[5]}" if labels[5] >= 0 else None)
    assert all(np.isfinite([p["x"] for p in projection["points"]]))

    # record of what ran
    config = result.effective_config
    assert config["algorithm"] == algorithm and config["num_documents"] == n and config["dimensions"] == X.shape[1]
    assert set(config["versions"]) == {"numpy", "scikit-learn", "scipy", "clusterbook"}
    assert set(result.timings_ms) == {"embed", "cluster", "metrics", "label", "project"}

    # determinism: the same seed gives the same run
    again = _run(blobs, algorithm)
    assert np.array_equal(again.labels, labels)
    np.testing.assert_array_equal(again.distances, result.distances)
    assert again.centroids == result.centroids
    assert again.projection == projection
    assert again.silhouette_score == result.silhouette_score
