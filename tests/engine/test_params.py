"""Parameter validation: defaults filled, every bad value named with its accepted range."""

from __future__ import annotations

import pytest

from clusterbook.engine import ALGORITHMS, validate_algorithm_params
from clusterbook.engine.params import ALGORITHM_PARAMS
from clusterbook.errors import ErrorLocation, ValidationFailed


def test_defaults_are_filled_and_validation_is_idempotent() -> None:
    for algorithm in ALGORITHMS:
        params = validate_algorithm_params(algorithm, {})
        assert set(params) == {s.name for s in ALGORITHM_PARAMS[algorithm]} - {"random_state"}
        assert validate_algorithm_params(algorithm, params) == params


def test_given_values_are_kept() -> None:
    params = validate_algorithm_params("dbscan", {"eps": 0.25, "min_samples": 3, "metric": "cosine"})
    assert params == {"eps": 0.25, "min_samples": 3, "metric": "cosine", "pca_components": None}
    assert validate_algorithm_params("kmeans", {"n_clusters": "auto", "random_state": 5})["random_state"] == 5


@pytest.mark.parametrize(
    ("algorithm", "params", "message"),
    [
        ("kmeans", {"n_clusters": 0}, "algorithm_params.n_clusters must be an integer from 2 to 1000 or 'auto', got 0"),
        (
            "kmeans",
            {"n_clusters": 2.5},
            "algorithm_params.n_clusters must be an integer from 2 to 1000 or 'auto', got 2.5",
        ),
        (
            "kmeans",
            {"n_clusters": True},
            "algorithm_params.n_clusters must be an integer from 2 to 1000 or 'auto', got true",
        ),
        ("kmeans", {"k_min": 5, "k_max": 3}, "algorithm_params.k_max must be at least k_min (5), got 3"),
        ("dbscan", {"eps": 0}, "algorithm_params.eps must be a number greater than 0, got 0"),
        ("dbscan", {"eps": float("nan")}, "algorithm_params.eps must be a number greater than 0, got nan"),
        ("dbscan", {"metric": "hamming"}, "algorithm_params.metric must be one of 'euclidean', 'manhattan', 'cosine'"),
        (
            "hdbscan",
            {"min_cluster_size": 1},
            "algorithm_params.min_cluster_size must be an integer from 2 to 1000000, got 1",
        ),
        ("agglomerative", {"linkage": "centroid"}, "algorithm_params.linkage must be one of 'ward', 'complete'"),
        ("agglomerative", {"metric": "cosine"}, "algorithm_params.metric must be 'euclidean' with linkage 'ward'"),
        (
            "agglomerative",
            {"n_clusters": 3, "distance_threshold": 1.0},
            "give exactly one of n_clusters and distance_threshold",
        ),
        ("gaussian_mixture", {"covariance_type": "banded"}, "algorithm_params.covariance_type must be one of 'full'"),
        ("mean_shift", {"bandwidth": -1}, "algorithm_params.bandwidth must be a number greater than 0 or null, got -1"),
        ("optics", {"xi": 1.0}, "algorithm_params.xi must be a number greater than 0 and less than 1, got 1.0"),
        (
            "spectral",
            {"max_iter": 10},
            "algorithm_params.max_iter is not a parameter of spectral; accepted: n_clusters, ",
        ),
        (
            "kmeans",
            {"random_state": -1},
            "algorithm_params.random_state must be an integer from 0 to 4294967295 or null",
        ),
    ],
)
def test_bad_values_name_the_parameter_the_range_and_the_value(algorithm: str, params: dict, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_algorithm_params(algorithm, params)
    assert message in caught.value.message
    assert caught.value.errors[0].loc.startswith("algorithm_params.")


def test_unknown_parameter_lists_the_accepted_names() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_algorithm_params("kmeans", {"clusters": 3})
    assert caught.value.message == (
        "algorithm_params.clusters is not a parameter of kmeans; accepted: n_clusters, k_min, k_max, init, n_init, "
        "max_iter, tol, random_state"
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_algorithm_params("hdbscan", {"min_cluster_size": 0, "min_samples": "x", "colour": 1})
    assert [e.loc for e in caught.value.errors] == [
        "algorithm_params.colour",
        "algorithm_params.min_cluster_size",
        "algorithm_params.min_samples",
    ]
    assert all(isinstance(e, ErrorLocation) for e in caught.value.errors)


def test_unknown_algorithm_lists_the_algorithms() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_algorithm_params("kmedoids", {})
    assert caught.value.message == f"Unknown algorithm 'kmedoids'; accepted: {', '.join(ALGORITHMS)}"
    assert caught.value.errors[0].loc == "algorithm"


def test_a_threshold_replaces_the_default_cluster_count() -> None:
    params = validate_algorithm_params("agglomerative", {"distance_threshold": 1.5})
    assert params["n_clusters"] is None and params["distance_threshold"] == 1.5
