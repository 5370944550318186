"""Bootstrap stability: well-separated clusters come back in every resample, clusters that split a
true group do not; results are seeded (same seed, same numbers; serial or in processes) and the
Jaccard matching follows its definition on small hand-made labelings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clusterbook.engine import StabilityConfig
from clusterbook.engine.algorithms import Clusterer
from clusterbook.engine.params import validate_algorithm_params
from clusterbook.engine.stability import best_jaccard, bootstrap_stability, subsample_rows
from clusterbook.errors import ClusteringFailed
from tests.engine.conftest import make_input, run_pipeline


def fitted(X: np.ndarray, k: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    params = validate_algorithm_params("kmeans", {"n_clusters": k})
    return params, Clusterer("kmeans", params, seed).fit(X).labels_


def stability(X: np.ndarray, k: int, seed: int = 0, **config: object):
    params, labels = fitted(X, k, seed)
    return labels, bootstrap_stability(
        X, labels, algorithm="kmeans", params=params, random_state=seed, config=StabilityConfig(**config)
    )


def test_well_separated_clusters_all_score_at_least_0_9(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    for seed in (0, 1, 2):
        _, found = stability(X, 4, seed, resamples=5, fraction=0.8)
        assert len(found.per_cluster) == 4
        assert all(s is not None and s >= 0.9 for s in found.per_cluster), found.per_cluster
        assert found.mean is not None and found.mean >= 0.9
        assert found.note is None and found.resample_clusters == [4] * 5


def test_clusters_splitting_a_true_group_score_visibly_lower() -> None:
    """Two tight groups and a wide one, k=4: k-means splits the wide group, a different way in each
    subsample, so its two halves come back poorly while the tight groups come back whole."""
    X, truth = make_blobs(
        n_samples=600, n_features=8, centers=3, cluster_std=[0.5, 0.5, 1.5], center_box=(-20, 20), random_state=6
    )
    X = X.astype(np.float32)
    for seed in (0, 1):
        labels, found = stability(X, 4, seed, resamples=8, fraction=0.8)
        # a found cluster "splits" when its true group is shared with another found cluster
        owner = [int(np.bincount(truth[labels == c]).argmax()) for c in range(4)]
        split = [c for c in range(4) if owner.count(owner[c]) > 1]
        whole = [c for c in range(4) if c not in split]
        assert len(split) == 2 and len(whole) == 2, owner
        scores = found.per_cluster
        assert all(scores[c] >= 0.9 for c in whole), (scores, owner)
        assert max(scores[c] for c in split) < 0.75, (scores, owner)
        _, right = stability(X, 3, seed, resamples=8, fraction=0.8)
        assert right.mean >= 0.9 and found.mean < right.mean - 0.15


def test_same_seed_same_scores_and_another_seed_other_subsamples() -> None:
    X, _ = make_blobs(n_samples=400, n_features=6, centers=3, cluster_std=2.5, random_state=1)
    X = X.astype(np.float32)
    _, first = stability(X, 5, 3, resamples=4, fraction=0.7)
    _, again = stability(X, 5, 3, resamples=4, fraction=0.7)
    assert first.per_cluster == again.per_cluster and first.mean == again.mean
    assert not np.array_equal(subsample_rows(400, 0.7, 3, 0), subsample_rows(400, 0.7, 4, 0))
    assert not np.array_equal(subsample_rows(400, 0.7, 3, 0), subsample_rows(400, 0.7, 3, 1))
    rows = subsample_rows(400, 0.7, 3, 2)
    assert len(rows) == 280 and len(np.unique(rows)) == 280 and np.all(np.diff(rows) > 0)


def test_best_jaccard_by_hand() -> None:
    original = np.array([0, 0, 0, 0, 1, 1, -1, -1])
    # cluster 0 splits 3 + 1; cluster 1 lands in a cluster that also holds a noise point of the run
    resampled = np.array([0, 0, 0, 1, 2, 2, 2, -1])
    best = best_jaccard(original, resampled, 3)
    assert best[0] == pytest.approx(3 / 4)  # {0,1,2} vs {0,1,2}∪{3}
    assert best[1] == pytest.approx(2 / 3)  # {4,5} vs {4,5,6}
    assert np.isnan(best[2])  # cluster 2 has no rows here: not counted for this resample
    # a cluster the resample leaves as noise has no match: 0
    assert best_jaccard(np.array([0, 0, 1, 1]), np.array([-1, -1, 0, 0]), 2).tolist() == [0.0, 1.0]
    assert best_jaccard(np.array([0, 1]), np.array([-1, -1]), 2).tolist() == [0.0, 0.0]


def test_all_noise_and_impossible_resamples_are_null_with_a_reason(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    params = validate_algorithm_params("kmeans", {"n_clusters": 4})
    noise = np.full(len(X), -1, dtype=np.int32)
    none = bootstrap_stability(X, noise, algorithm="kmeans", params=params, random_state=0, config=StabilityConfig())
    assert none.mean is None and none.per_cluster == [] and "noise" in (none.note or "")
    # 5 documents, k=4: a subsample of 3 cannot hold 4 clusters
    small = X[:5]
    k4, labels = fitted(small, 4)
    failed = bootstrap_stability(
        small, labels, algorithm="kmeans", params=k4, random_state=0, config=StabilityConfig(3, 0.6)
    )
    assert failed.mean is None and failed.per_cluster == [None] * 4
    assert "3 of 3 resamples could not be clustered" in (failed.note or "") and "n_clusters=4" in (failed.note or "")
    for bad in (StabilityConfig(1, 0.8), StabilityConfig(51, 0.8), StabilityConfig(5, 0.4), StabilityConfig(5, 0.96)):
        with pytest.raises(ClusteringFailed, match=r"stability\.(resamples|fraction) must be"):
            bootstrap_stability(X, labels, algorithm="kmeans", params=k4, random_state=0, config=bad)


def test_the_pipeline_reports_stability_per_centroid_metric_timing_and_config(
    blobs: tuple[np.ndarray, np.ndarray],
) -> None:
    X, _ = blobs
    result = run_pipeline(make_input(X, params={"n_clusters": 4}, stability=StabilityConfig(5, 0.8)))
    assert result.stability is not None and result.stability >= 0.9
    assert all(c.stability is not None and c.stability >= 0.9 for c in result.centroids)
    assert result.stability == pytest.approx(np.mean([c.stability for c in result.centroids]))
    assert result.timings_ms["stability"] >= 0
    assert result.effective_config["stability"] == {"resamples": 5, "fraction": 0.8}
    plain = run_pipeline(make_input(X, params={"n_clusters": 4}))
    assert plain.stability is None and all(c.stability is None for c in plain.centroids)
    assert "stability" not in plain.timings_ms and plain.effective_config["stability"] is None
    # n_clusters='auto': the resamples re-fit the k that was chosen, and agree with it
    auto = run_pipeline(
        make_input(X, params={"n_clusters": "auto", "k_min": 2, "k_max": 6}, stability=StabilityConfig(3, 0.8))
    )
    assert auto.effective_config["chosen_n_clusters"] == 4 and auto.stability is not None and auto.stability >= 0.9


def test_attribute_groups_get_no_stability() -> None:
    metadata = [{"topic": t} for t in ["a", "b"] * 10]
    result = run_pipeline(
        make_input(metadata=metadata, algorithm="attribute_based", attributes=("topic",), stability=StabilityConfig())
    )
    assert result.stability is None and "attribute" in result.metric_notes["stability"]
