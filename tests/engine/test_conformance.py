"""The one shared conformance test every algorithm passes: shapes, numbering, distances, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from clusterbook.engine import ALGORITHMS, EngineResult, run_pipeline
from clusterbook.engine.preprocessing import STEP_PARAMS, validate_preprocessing
from clusterbook.errors import ClusteringFailed, ValidationFailed
from tests.engine.conftest import make_input, run

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


# One instance of each preprocessing step for the 8-dimensional blobs, and the parameters that find the
# blobs in the space a step leaves (UMAP packs each blob into a small, dense patch).
STEPS: dict[str, dict[str, Any]] = {
    "pca": {"step": "pca", "n_components": 3},
    "normalize": {"step": "normalize"},
    "umap": {"step": "umap", "n_components": 2, "n_neighbors": 15, "metric": "euclidean"},
}
PARAMS_AFTER: dict[str, dict[str, dict[str, Any]]] = {
    "normalize": {"dbscan": {"eps": 0.3}, "mean_shift": {"bandwidth": 0.5}},
    "umap": {"dbscan": {"eps": 1.0}, "mean_shift": {"bandwidth": 2.0}},
}


def _run(blobs: tuple[np.ndarray, np.ndarray], algorithm: str, seed: int = 0, step: str | None = None) -> EngineResult:
    X, y = blobs
    metadata = [{"blob": int(v)} for v in y]
    params = PARAMS_AFTER.get(step or "", {}).get(algorithm, PARAMS[algorithm])
    return run(
        X,
        metadata=metadata,
        algorithm=algorithm,
        params=params,
        random_state=seed,
        normalize_features=False,
        attributes=("blob",),
        preprocessing=() if step is None else (validate_preprocessing([STEPS[step]], algorithm, params)[0],),
    )


def test_every_algorithm_and_step_is_covered() -> None:
    assert set(PARAMS) == set(ALGORITHMS)
    assert set(STEPS) == set(STEP_PARAMS)


def _allowed(algorithm: str, step: str) -> bool:
    try:
        validate_preprocessing([STEPS[step]], algorithm, PARAMS[algorithm])
    except ValidationFailed:
        return False
    return True


COMBINATIONS = [
    # UMAP compiles its numba kernels on first use (15-40 s in a fresh process), so its cases are slow
    pytest.param(a, s, id=f"{a}+{s}", marks=[pytest.mark.slow] if s == "umap" else [])
    for a in ALGORITHMS
    for s in STEP_PARAMS
]


@pytest.mark.parametrize(("algorithm", "step"), COMBINATIONS)
def test_every_allowed_algorithm_and_step_conforms_and_the_rest_are_refused(
    blobs: tuple[np.ndarray, np.ndarray], algorithm: str, step: str
) -> None:
    if not _allowed(algorithm, step):
        assert algorithm == "attribute_based", "only an algorithm that fits no vectors refuses every step"
        with pytest.raises(ClusteringFailed, match="fits no vectors, so no preprocessing step applies"):
            run_pipeline(
                make_input(
                    blobs[0],
                    metadata=[{"blob": 1}] * len(blobs[0]),
                    algorithm=algorithm,
                    attributes=("blob",),
                    preprocessing=(STEPS[step],),
                )
            )
        return
    result = check_conformance(blobs, algorithm, step)
    done = result.effective_config["preprocessing"]
    assert [d["step"] for d in done] == [step] and done[0]["from_dims"] == blobs[0].shape[1]
    assert "original space" in result.metric_notes["preprocessing"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_algorithm_conformance(blobs: tuple[np.ndarray, np.ndarray], algorithm: str) -> None:
    check_conformance(blobs, algorithm)


def check_conformance(blobs: tuple[np.ndarray, np.ndarray], algorithm: str, step: str | None = None) -> EngineResult:
    """Run ``algorithm`` (after ``step``) on the blobs and check every part of the contract; the result."""
    X, _ = blobs
    n = len(X)
    result = _run(blobs, algorithm, step=step)
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
    again = _run(blobs, algorithm, step=step)
    assert np.array_equal(again.labels, labels)
    np.testing.assert_array_equal(again.distances, result.distances)
    assert again.centroids == result.centroids
    assert again.projection == projection
    assert again.silhouette_score == result.silhouette_score
    return result
