"""The declared reduction (pca_components) and the optional hdbscan package: seeded, good on blobs,
metrics still scikit-learn's in the original space."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score
from sklearn.preprocessing import normalize

from clusterbook.engine.reduction import REDUCIBLE, reduce_dimensions
from clusterbook.errors import ClusteringFailed
from tests.engine.conftest import run


@pytest.fixture(scope="module")
def wide_blobs() -> tuple[np.ndarray, np.ndarray]:
    """1,500 points of 128 dimensions around 6 centres: the shape of an embedding collection."""
    X, y = make_blobs(n_samples=1_500, n_features=128, centers=6, cluster_std=1.0, random_state=4)
    return X.astype(np.float32), y


def test_the_reduction_is_seeded_and_keeps_the_variance(wide_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = wide_blobs
    Z, reduction = reduce_dimensions(X, 10, random_state=3)
    again, _ = reduce_dimensions(X, 10, random_state=3)
    assert Z.shape == (1_500, 10) and Z.dtype == np.float32 and np.array_equal(Z, again)
    assert reduction is not None and (reduction.from_dims, reduction.to_dims) == (128, 10)
    assert reduction.explained_variance > 0.8
    same, none = reduce_dimensions(X, 128, random_state=3)
    assert same is X and none is None  # nothing to reduce: the input itself


@pytest.mark.parametrize("algorithm", REDUCIBLE)
def test_density_algorithms_cluster_after_pca_and_measure_in_the_original_space(
    wide_blobs: tuple[np.ndarray, np.ndarray], algorithm: str
) -> None:
    X, y = wide_blobs
    params = {"hdbscan": {"min_cluster_size": 20}, "dbscan": {"eps": 0.3}, "optics": {"min_samples": 10}}
    result = run(X, algorithm=algorithm, params={**params[algorithm], "pca_components": 12}, random_state=5)
    again = run(X, algorithm=algorithm, params={**params[algorithm], "pca_components": 12}, random_state=5)
    assert np.array_equal(result.labels, again.labels)  # same seed, same run
    members = result.labels >= 0
    assert adjusted_rand_score(y[members], result.labels[members]) > 0.95 and members.mean() > 0.8
    assert result.effective_config["reduction"]["to_dims"] == 12
    assert result.effective_config["dimensions"] == 128  # what was measured
    assert "from 128 to 12 dimensions" in result.metric_notes["reduction"]
    assert "computed in the original space" in result.metric_notes["reduction"]
    Xn = normalize(X)  # the pipeline's space: normalize_features is on
    if "noise" not in result.metric_notes:
        labels = result.labels
        assert result.silhouette_score == pytest.approx(silhouette_score(Xn, labels), abs=1e-4)
        assert result.davies_bouldin_index == pytest.approx(davies_bouldin_score(Xn, labels), rel=1e-4)


def test_the_hdbscan_package_agrees_with_sklearn(wide_blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = wide_blobs
    params = {"min_cluster_size": 20, "pca_components": 12}
    plain = run(X, algorithm="hdbscan", params=params)
    fast = run(X, algorithm="hdbscan", params={**params, "implementation": "hdbscan"})
    again = run(X, algorithm="hdbscan", params={**params, "implementation": "hdbscan"})
    assert np.array_equal(fast.labels, again.labels)
    assert adjusted_rand_score(plain.labels, fast.labels) > 0.99
    assert adjusted_rand_score(y, fast.labels) > 0.95
    assert fast.effective_config["params"]["implementation"] == "hdbscan"


def test_a_missing_hdbscan_package_names_its_extra(
    wide_blobs: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "hdbscan", None)  # what Python does for a package that is not installed
    with pytest.raises(ClusteringFailed) as caught:
        run(wide_blobs[0], algorithm="hdbscan", params={"implementation": "hdbscan"})
    assert "pip install 'clusterbook[hdbscan]'" in caught.value.message
    assert "implementation 'sklearn' (the default, always available)" in caught.value.message
    plain = run(wide_blobs[0], algorithm="hdbscan", params={"min_cluster_size": 20})  # the plain path still runs
    assert plain.labels.max() >= 1
