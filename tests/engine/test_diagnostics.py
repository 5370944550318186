"""Diagnostics of a partition (noise share, size evenness, largest share, degenerate with its reason),
representative members, and the reassignment of density noise within a distance bound."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clusterbook.engine.diagnostics import diagnose, reassign_noise, representative_rows
from tests.engine.conftest import run


def test_an_even_partition_with_some_noise() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2, -1, -1], dtype=np.int32)
    d = diagnose(labels)
    assert d.noise_ratio == pytest.approx(0.25)
    assert d.cluster_size_entropy == pytest.approx(1.0)
    assert d.largest_cluster_share == pytest.approx(0.25)
    assert d.degenerate == 0 and "degenerate" not in d.notes


def test_uneven_sizes_lower_the_entropy_towards_zero() -> None:
    even = diagnose(np.repeat([0, 1], [50, 50]))
    skewed = diagnose(np.repeat([0, 1], [85, 15]))
    extreme = diagnose(np.repeat([0, 1], [99, 1]))
    assert even.cluster_size_entropy == pytest.approx(1.0)
    assert 0.0 < extreme.cluster_size_entropy < skewed.cluster_size_entropy < 1.0  # type: ignore[operator]
    p = np.array([0.85, 0.15])
    assert skewed.cluster_size_entropy == pytest.approx(-(p * np.log(p)).sum() / np.log(2))


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (np.repeat([0, 1], [91, 9]), "one cluster holds 91.0% of the documents"),
        (np.full(10, -1), "every document is noise"),
        (np.arange(6), "every cluster is a single document (6 clusters of 1)"),
        (np.array([0, 1, 2, -1, -1]), "every cluster is a single document (3 clusters of 1)"),
    ],
)
def test_degenerate_partitions_are_flagged_with_the_reason(labels: np.ndarray, reason: str) -> None:
    d = diagnose(labels.astype(np.int32))
    assert d.degenerate == 1
    assert reason in d.notes["degenerate"]


def test_ninety_percent_exactly_is_not_degenerate_and_one_cluster_has_no_entropy() -> None:
    assert diagnose(np.repeat([0, 1], [90, 10])).degenerate == 0
    single = diagnose(np.zeros(5, dtype=np.int32))
    assert single.degenerate == 1 and single.largest_cluster_share == 1.0
    assert single.cluster_size_entropy is None and "needs at least 2" in single.notes["cluster_size_entropy"]


def test_representatives_are_the_members_nearest_the_centre_at_most_five() -> None:
    labels = np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0, -1], dtype=np.int32)
    distances = np.array([0.5, 0.9, 0.1, 0.2, 0.3, 0.8, 0.7, 0.6, 0.4, 0.05, np.nan], dtype=np.float32)
    assert representative_rows(labels, distances, 2) == [[9, 2, 4, 8, 7], [3, 0]]


def test_noise_within_the_bound_joins_the_nearest_centre_and_far_noise_stays() -> None:
    X = np.array([[0.0, 0.0], [0.2, 0.0], [10.0, 0.0], [10.1, 0.0], [0.0, 0.5], [9.0, 0.0], [5.0, 5.0]])
    labels = np.array([0, 0, 1, 1, -1, -1, -1], dtype=np.int32)
    means = np.array([[0.1, 0.0], [10.05, 0.0]])
    moved_labels, moved = reassign_noise(X, labels, means, max_distance=1.1)
    assert moved == 2
    assert moved_labels.tolist() == [0, 0, 1, 1, 0, 1, -1]
    assert labels.tolist() == [0, 0, 1, 1, -1, -1, -1], "the input is not modified"


def test_a_density_run_reports_diagnostics_representatives_and_reassigned_noise() -> None:
    X, y = make_blobs(n_samples=300, n_features=5, centers=3, cluster_std=0.5, random_state=3)
    X = X.astype(np.float32)
    params = {"eps": 0.6, "min_samples": 8}
    plain = run(X, algorithm="dbscan", params=params, normalize_features=False)
    assert plain.noise_points > 0 and plain.reassigned_points is None
    assert plain.noise_ratio == pytest.approx(plain.noise_points / len(X))
    assert plain.degenerate == 0 and plain.largest_cluster_share is not None
    for c in plain.centroids:
        rows = [int(r.removeprefix("doc-")) for r in c.representative_ids]
        assert 1 <= len(rows) <= 5
        members = np.flatnonzero(plain.labels == int(c.cluster_id.removeprefix("cl_")))
        nearest = members[np.argsort(plain.distances[members], kind="stable")[: len(rows)]]
        assert sorted(rows) == sorted(nearest.tolist())
    moved = run(X, algorithm="dbscan", params=params, normalize_features=False, reassign_noise_max_distance=3.0)
    assert moved.reassigned_points == plain.noise_points - moved.noise_points > 0
    assert moved.noise_ratio < plain.noise_ratio  # type: ignore[operator]
    assert "joined the nearest cluster within distance 3" in moved.metric_notes["reassigned_points"]
    assert moved.effective_config["reassign_noise"] == {"max_distance": 3.0, "moved": moved.reassigned_points}
    # the members the fit found stay together (clusters may be renumbered by their new sizes); only noise moved
    kept = plain.labels >= 0
    pairs = set(zip(plain.labels[kept].tolist(), moved.labels[kept].tolist(), strict=True))
    assert len(pairs) == len(plain.centroids) == len(moved.centroids)


def test_a_degenerate_run_says_why() -> None:
    X = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    result = run(X, algorithm="dbscan", params={"eps": 0.01, "min_samples": 5}, normalize_features=False)
    assert result.noise_ratio == 1.0 and result.degenerate == 1
    assert "every document is noise" in result.metric_notes["degenerate"]
