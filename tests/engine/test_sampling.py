"""Quadratic algorithms refuse large inputs with the way out; sample_size fits a seeded sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import algorithms
from clusterbook.engine.algorithms import QUADRATIC_LIMITS
from clusterbook.errors import ClusteringFailed
from tests.engine.conftest import run


@pytest.fixture(scope="module")
def six_hundred() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=600, n_features=5, centers=3, cluster_std=0.8, random_state=2)
    return X.astype(np.float32), y


def test_the_quadratic_algorithms_have_limits() -> None:
    assert set(QUADRATIC_LIMITS) == {"agglomerative", "spectral", "optics", "mean_shift"}
    assert all(5_000 <= limit <= 20_000 for limit in QUADRATIC_LIMITS.values())


@pytest.mark.parametrize("algorithm", sorted(QUADRATIC_LIMITS))
def test_above_the_limit_the_run_is_refused_with_the_way_out(
    monkeypatch: pytest.MonkeyPatch, six_hundred: tuple[np.ndarray, np.ndarray], algorithm: str
) -> None:
    monkeypatch.setitem(algorithms.QUADRATIC_LIMITS, algorithm, 200)
    with pytest.raises(ClusteringFailed) as caught:
        run(six_hundred[0], algorithm=algorithm)
    message = caught.value.message
    assert f"{algorithm} needs time and memory quadratic" in message
    assert "limited to 200 documents; this run has 600" in message
    assert "Use minibatch_kmeans or hdbscan" in message
    assert "set sample_size (at most 200)" in message


def test_sample_size_fits_a_sample_and_assigns_the_rest(
    monkeypatch: pytest.MonkeyPatch, six_hundred: tuple[np.ndarray, np.ndarray]
) -> None:
    monkeypatch.setitem(algorithms.QUADRATIC_LIMITS, "agglomerative", 200)
    X, y = six_hundred
    result = run(X, algorithm="agglomerative", params={"n_clusters": 3}, sample_size=150, normalize_features=False)
    assert result.effective_config["fit_rows"] == 150 and result.effective_config["sample_size"] == 150
    assert (result.labels >= 0).all() and sum(c.num_members for c in result.centroids) == 600
    assert adjusted_rand_score(y, result.labels) > 0.95
    again = run(X, algorithm="agglomerative", params={"n_clusters": 3}, sample_size=150, normalize_features=False)
    assert np.array_equal(again.labels, result.labels)


def test_a_sample_above_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch, six_hundred: tuple[np.ndarray, np.ndarray]
) -> None:
    monkeypatch.setitem(algorithms.QUADRATIC_LIMITS, "spectral", 200)
    with pytest.raises(ClusteringFailed) as caught:
        run(six_hundred[0], algorithm="spectral", sample_size=300)
    assert caught.value.message == (
        "sample_size=300 is above spectral's limit of 200 documents; lower sample_size to at most 200 or use "
        "minibatch_kmeans or hdbscan."
    )


def test_sampling_works_for_any_algorithm(six_hundred: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = six_hundred
    result = run(X, params={"n_clusters": 3}, sample_size=100, normalize_features=False)
    assert result.effective_config["fit_rows"] == 100
    assert adjusted_rand_score(y, result.labels) > 0.95
    with pytest.raises(ClusteringFailed, match="n_clusters=5 is more than the 4 sampled documents"):
        run(X, params={"n_clusters": 5}, sample_size=4)


def test_a_sample_as_large_as_the_input_is_no_sample(six_hundred: tuple[np.ndarray, np.ndarray]) -> None:
    result = run(six_hundred[0], params={"n_clusters": 3}, sample_size=600)
    assert "fit_rows" not in result.effective_config
