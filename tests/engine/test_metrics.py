"""Metrics agree with scikit-learn's reference functions, exclude noise, and say why when absent.

The engine computes them itself (Davies-Bouldin and Calinski-Harabasz from the cluster means, silhouette
through a float32 distance kernel), so they equal scikit-learn's within ``REL`` rather than bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from clusterbook.engine import metrics
from tests.engine.conftest import run

REL = 1e-4  # the documented tolerance against scikit-learn's reference functions (float32 arithmetic)


def test_metrics_equal_sklearn_below_the_sampling_threshold(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    result = run(X, params={"n_clusters": 4}, normalize_features=False)
    assert result.silhouette_score == pytest.approx(float(silhouette_score(X, result.labels)), rel=REL)
    assert result.davies_bouldin_index == pytest.approx(float(davies_bouldin_score(X, result.labels)), rel=REL)
    assert result.calinski_harabasz_score == pytest.approx(float(calinski_harabasz_score(X, result.labels)), rel=REL)
    assert result.metric_notes == {}


def test_metrics_are_computed_in_the_normalised_space(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    result = run(X, params={"n_clusters": 4})
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert result.silhouette_score == pytest.approx(float(silhouette_score(unit, result.labels)), rel=1e-5)


def test_silhouette_is_sampled_above_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    X, _ = make_blobs(n_samples=3000, n_features=6, centers=5, random_state=3)
    X = X.astype(np.float32)
    monkeypatch.setattr(metrics, "SILHOUETTE_SAMPLE_LIMIT", 600)
    result = run(X, params={"n_clusters": 5}, normalize_features=False, random_state=11)
    assert result.metric_notes["silhouette_score"] == "silhouette sampled on 600 of 3,000 points (seed 11)"
    same_sample = silhouette_score(X, result.labels, sample_size=600, random_state=11)
    assert result.silhouette_score == pytest.approx(float(same_sample), rel=REL)
    assert result.silhouette_score == pytest.approx(float(silhouette_score(X, result.labels)), abs=0.02)
    # the linear metrics always use every point
    assert result.davies_bouldin_index == pytest.approx(float(davies_bouldin_score(X, result.labels)), rel=REL)
    assert result.calinski_harabasz_score == pytest.approx(float(calinski_harabasz_score(X, result.labels)), rel=REL)


def test_dbscan_noise_is_counted_and_left_out_of_the_metrics(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    outliers = np.array([[40.0] * 8, [-40.0] * 8, [40.0, -40.0] * 4], dtype=np.float32)
    data = np.vstack([X, outliers])
    result = run(data, algorithm="dbscan", params={"eps": 2.5}, normalize_features=False)
    assert result.noise_points == 3
    assert result.labels[-3:].tolist() == [-1, -1, -1] and (result.labels[:-3] >= 0).all()
    members = result.labels >= 0
    assert result.silhouette_score == pytest.approx(
        float(silhouette_score(data[members], result.labels[members])), rel=REL
    )
    assert result.davies_bouldin_index == pytest.approx(
        float(davies_bouldin_score(data[members], result.labels[members])), rel=REL
    )
    assert result.calinski_harabasz_score == pytest.approx(
        float(calinski_harabasz_score(data[members], result.labels[members])), rel=REL
    )
    assert result.metric_notes["noise"] == "metrics use the 240 clustered points; 3 noise points excluded"


def test_one_cluster_gives_null_metrics_with_the_reason(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    result = run(X, algorithm="attribute_based", metadata=[{"team": "a"}] * len(X), attributes=("team",))
    assert len(result.centroids) == 1
    assert result.silhouette_score is None and result.davies_bouldin_index is None
    assert result.calinski_harabasz_score is None
    assert result.metric_notes["silhouette_score"] == "only 1 cluster; metrics need at least 2 clusters"


def test_all_noise_and_singleton_clusters_give_null_metrics(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    noise = run(X, algorithm="dbscan", params={"eps": 1e-6}, normalize_features=False)
    assert noise.noise_points == len(X) and noise.centroids == []
    assert noise.metric_notes["davies_bouldin_index"] == "every document is noise; there are no clusters to score"
    assert np.isnan(noise.distances).all()

    few = X[:6]
    singletons = run(few, algorithm="agglomerative", params={"n_clusters": 6})
    assert len(singletons.centroids) == 6
    assert singletons.silhouette_score is None
    assert "every document is its own cluster" in singletons.metric_notes["silhouette_score"]


@pytest.mark.parametrize("noise", [False, True])
def test_metrics_equal_sklearn_on_overlapping_unit_vectors(noise: bool) -> None:
    """Unit vectors in 64 dimensions around overlapping centres (the shape of text embeddings), with an
    uneven clustering and optionally noise rows: the sampled silhouette on the same rows, both linear
    metrics on all members."""
    X, y = make_blobs(n_samples=4000, n_features=64, centers=7, cluster_std=6.0, random_state=5)
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    labels = y.astype(np.int32)
    if noise:
        labels[::9] = -1
    members = labels >= 0
    result = metrics.cluster_metrics(X, labels, random_state=3, sample_limit=1500)
    X_m, labels_m = X[members], labels[members]
    sampled = silhouette_score(X_m, labels_m, sample_size=1500, random_state=3)
    assert result.silhouette_score == pytest.approx(float(sampled), rel=REL)
    assert result.davies_bouldin_index == pytest.approx(float(davies_bouldin_score(X_m, labels_m)), rel=REL)
    assert result.calinski_harabasz_score == pytest.approx(float(calinski_harabasz_score(X_m, labels_m)), rel=REL)


def test_silhouette_kernel_scores_singletons_zero_as_sklearn() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 0.0]], dtype=np.float32)
    labels = np.array([0, 0, 1, 1, 2])
    assert metrics.silhouette(X, labels) == pytest.approx(float(silhouette_score(X, labels)), rel=REL)
