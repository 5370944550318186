"""The declared preprocessing steps: validation (defaults, bounds, order, combinations), seeding, and
that only the fit sees the reduced space."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import run_pipeline
from clusterbook.engine.catalogue import PRESETS, expand
from clusterbook.engine.params import validate_algorithm_params
from clusterbook.engine.preprocessing import MAX_STEPS, Preprocessor, validate_preprocessing
from clusterbook.errors import ValidationFailed
from tests.engine.conftest import demo_input, run


def test_defaults_are_filled_and_validation_is_idempotent() -> None:
    steps = validate_preprocessing([{"step": "pca"}, {"step": "umap"}, {"step": "normalize"}], "hdbscan")
    assert steps == [
        {"step": "pca", "n_components": 50},
        {"step": "umap", "n_components": 5, "n_neighbors": 15, "min_dist": 0.0, "metric": "cosine"},
        {"step": "normalize"},
    ]
    assert validate_preprocessing(steps, "hdbscan") == steps
    assert validate_preprocessing(None, "kmeans") == []


@pytest.mark.parametrize(
    ("steps", "algorithm", "params", "message"),
    [
        (
            [{"step": "tsne"}],
            "kmeans",
            {},
            "preprocessing[0] must be an object {\"step\": one of 'pca', 'normalize', 'umap'",
        ),
        (
            [{"step": "pca", "n_components": 1}],
            "kmeans",
            {},
            "preprocessing[0].n_components must be an integer from 2 to 4096, got 1",
        ),
        (
            [{"step": "pca", "components": 5}],
            "kmeans",
            {},
            "preprocessing[0].components is not a parameter of the pca step; accepted: n_components",
        ),
        (
            [{"step": "umap", "metric": "jaccard"}],
            "hdbscan",
            {},
            "preprocessing[0].metric must be one of 'cosine', 'euclidean', 'manhattan'",
        ),
        ([{"step": "normalize"}, {"step": "normalize"}], "kmeans", {}, "preprocessing[1] repeats the normalize step"),
        (
            [{"step": "umap", "n_components": 5}, {"step": "pca", "n_components": 10}],
            "hdbscan",
            {},
            "preprocessing[1].n_components must be less than the 5 dimensions the step before leaves, got 10",
        ),
        (
            [{"step": "pca"}],
            "hdbscan",
            {"pca_components": 20},
            "algorithm_params.pca_components and a pca preprocessing step both ask for a PCA",
        ),
        (
            [{"step": "normalize"}],
            "attribute_based",
            {},
            "attribute_based fits no vectors, so no preprocessing step applies",
        ),
        ([{"step": "normalize"}] * (MAX_STEPS + 1), "kmeans", {}, f"at most {MAX_STEPS} are accepted"),
        ({"step": "pca"}, "kmeans", {}, "preprocessing must be a list of steps, got dict"),
        ([{"step": ["pca"]}], "kmeans", {}, "preprocessing[0] must be an object"),
        (["pca"], "kmeans", {}, "preprocessing[0] must be an object"),
    ],
)
def test_bad_steps_are_refused_naming_the_step(steps, algorithm, params, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as raised:
        validate_preprocessing(steps, algorithm, params)
    assert message in raised.value.message


def test_the_topics_preset_expands_to_umap_then_hdbscan() -> None:
    topics = expand("topics", {}, None)
    assert topics.algorithm == "hdbscan" and topics.preset == "topics"
    assert topics.params["min_cluster_size"] == PRESETS["topics"].params["min_cluster_size"]
    assert topics.preprocessing == [
        {"step": "umap", "n_components": 5, "n_neighbors": 15, "min_dist": 0.0, "metric": "cosine"}
    ]
    mine = expand("topics", {"min_cluster_size": 3}, [{"step": "pca", "n_components": 10}])
    assert mine.params["min_cluster_size"] == 3 and mine.preprocessing == [{"step": "pca", "n_components": 10}]
    assert expand("kmeans", {}, None).preprocessing == [] and expand("kmeans", {}, None).preset is None


def test_steps_are_seeded_and_applied_in_order() -> None:
    X = np.random.default_rng(1).normal(size=(300, 40)).astype(np.float32)
    steps = validate_preprocessing([{"step": "pca", "n_components": 10}, {"step": "normalize"}], "kmeans")
    a = Preprocessor(steps, 4).fit_transform(X)
    b = Preprocessor(steps, 4).fit_transform(X)
    assert a.shape == (300, 10) and np.array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    assert X.shape == (300, 40), "the input is not modified"


def test_metrics_and_centroids_stay_in_the_original_space() -> None:
    X = np.random.default_rng(2).normal(size=(200, 30)).astype(np.float32)
    X[:100] += 4
    reduced = run(X, algorithm="kmeans", params={"n_clusters": 2}, normalize_features=False,
                  preprocessing=({"step": "pca", "n_components": 3},))  # fmt: skip
    plain = run(X, algorithm="kmeans", params={"n_clusters": 2}, normalize_features=False)
    assert adjusted_rand_score(plain.labels, reduced.labels) == 1.0
    assert reduced.effective_config["dimensions"] == 30
    assert reduced.silhouette_score == pytest.approx(plain.silhouette_score)
    np.testing.assert_allclose(reduced.distances, plain.distances, rtol=1e-5)


@pytest.mark.slow
def test_umap_then_hdbscan_recovers_the_demo_topics(demo_docs) -> None:  # type: ignore[no-untyped-def]
    """The topics preset's pipeline on the demo corpus (6 topics): ARI ≥ 0.8 against the true topics."""
    topics = expand("topics", {}, None)
    data = demo_input(demo_docs, topics.algorithm, params=topics.params, preprocessing=tuple(topics.preprocessing))
    result = run_pipeline(data)
    truth = [d["metadata"]["topic"] for d in demo_docs]
    ari = adjusted_rand_score(truth, result.labels)
    assert ari >= 0.8, (ari, len(result.centroids), result.noise_points)
    assert "umap" in result.metric_notes["preprocessing"]


def test_the_size_limit_counts_the_dimensions_the_steps_leave_and_names_the_step_to_lower() -> None:
    from clusterbook.engine.limits import estimate_run

    params = validate_algorithm_params("hdbscan", {})
    plain = estimate_run("hdbscan", params, documents=100_000, dimensions=384)
    assert plain.refused and "pca_components" in (plain.reason or "")
    pca16 = estimate_run(
        "hdbscan", params, documents=100_000, dimensions=384, preprocessing=[{"step": "pca", "n_components": 16}]
    )
    assert not pca16.refused and pca16.fit_dimensions == 16
    pca50 = estimate_run(
        "hdbscan", params, documents=100_000, dimensions=384, preprocessing=[{"step": "pca", "n_components": 50}]
    )
    assert pca50.refused and pca50.fit_dimensions == 50
    assert "lower the n_components of the last reducing preprocessing step to at most 20" in (pca50.reason or "")
    umap = estimate_run(
        "hdbscan",
        params,
        documents=100_000,
        dimensions=384,
        preprocessing=validate_preprocessing([{"step": "umap"}], "hdbscan"),
    )
    assert not umap.refused and umap.fit_dimensions == 5 and umap.estimated_seconds > pca16.estimated_seconds
