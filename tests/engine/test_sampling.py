"""Quadratic algorithms refuse inputs beyond their declared limit with the way out; sample_size fits a seeded sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine.limits import COSTS
from clusterbook.errors import ClusteringFailed, RunTooLarge
from tests.engine.conftest import run

QUADRATIC = sorted(name for name, cost in COSTS.items() if cost.n_power >= 2 and cost.max_documents <= 20_000)


def factor_for(algorithm: str, limit: int) -> float:
    """The size_limit_factor that brings ``algorithm``'s document limit down to ``limit``."""
    return limit / COSTS[algorithm].max_documents


@pytest.fixture(scope="module")
def six_hundred() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_blobs(n_samples=600, n_features=5, centers=3, cluster_std=0.8, random_state=2)
    return X.astype(np.float32), y


def test_the_quadratic_algorithms_have_limits() -> None:
    assert QUADRATIC == ["agglomerative", "mean_shift", "optics", "spectral"]
    assert all(5_000 <= COSTS[name].max_documents <= 20_000 for name in QUADRATIC)


@pytest.mark.parametrize("algorithm", QUADRATIC)
def test_above_the_limit_the_run_is_refused_with_the_way_out(
    six_hundred: tuple[np.ndarray, np.ndarray], algorithm: str
) -> None:
    with pytest.raises(RunTooLarge) as caught:
        run(six_hundred[0], algorithm=algorithm, size_limit_factor=factor_for(algorithm, 200))
    message = caught.value.message
    assert isinstance(caught.value, ClusteringFailed) and caught.value.code == "run_too_large"
    assert f"{algorithm} is limited to 200 documents per fit ({COSTS[algorithm].why}); this run has 600." in message
    assert "set sample_size to fit on a seeded sample" in message and "(sample_size at most 200)" in message
    assert "or use minibatch_kmeans, or hdbscan with pca_components" in message
    assert caught.value.extra["estimate"]["fit_documents"] == 600


def test_sample_size_fits_a_sample_and_assigns_the_rest(six_hundred: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = six_hundred
    small = factor_for("agglomerative", 200)
    result = run(
        X,
        algorithm="agglomerative",
        params={"n_clusters": 3},
        sample_size=150,
        normalize_features=False,
        size_limit_factor=small,
    )
    assert result.effective_config["fit_rows"] == 150 and result.effective_config["sample_size"] == 150
    assert (result.labels >= 0).all() and sum(c.num_members for c in result.centroids) == 600
    assert adjusted_rand_score(y, result.labels) > 0.95
    again = run(
        X,
        algorithm="agglomerative",
        params={"n_clusters": 3},
        sample_size=150,
        normalize_features=False,
        size_limit_factor=small,
    )
    assert np.array_equal(again.labels, result.labels)


def test_a_sample_above_the_limit_is_refused(six_hundred: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(RunTooLarge) as caught:
        run(six_hundred[0], algorithm="spectral", sample_size=300, size_limit_factor=factor_for("spectral", 200))
    assert caught.value.message.startswith(
        f"spectral is limited to 200 documents per fit ({COSTS['spectral'].why}); sample_size=300 fits 300. "
        "To run it, set sample_size to fit on a seeded sample"
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
