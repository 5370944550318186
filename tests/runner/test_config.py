"""Cluster configuration → the frozen run configuration → the engine's RunConfig."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from clusterbook.engine import CentroidResult, EngineResult
from clusterbook.errors import ValidationFailed
from clusterbook.models.clusters import Cluster
from clusterbook.models.executions import ExecuteRequest
from clusterbook.runner.compute import outcome_of
from clusterbook.runner.config import engine_config, run_config_for, validate_cluster_config

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cluster(**fields: object) -> Cluster:
    base: dict[str, object] = {
        "cluster_id": "clust_x",
        "cluster_name": "x",
        "namespace_id": "ns_default",
        "collection_ids": ["col_a"],
        "cluster_type": "vector",
        "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 4, "random_state": 9}},
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Cluster.model_validate({**base, **fields})


def test_a_run_freezes_validated_parameters_with_its_overrides() -> None:
    config = run_config_for(
        cluster(filters={"metadata.lang": "en"}), ExecuteRequest(algorithm_params={"n_clusters": 7})
    )
    assert config["algorithm"] == "kmeans" and config["params"]["n_clusters"] == 7
    assert config["random_state"] == 9, "the cluster's seed is kept when the run does not override it"
    assert config["collection_ids"] == ["col_a"] and config["filters"] == {"metadata.lang": "en"}
    assert config["embedder"] == "tfidf-svd" and config["llm"] is None
    json.dumps(config)  # stored as JSON on the run
    assert run_config_for(cluster(), ExecuteRequest(random_state=3))["random_state"] == 3


def test_bad_overrides_are_refused_naming_the_parameter() -> None:
    with pytest.raises(ValidationFailed) as caught:
        run_config_for(cluster(), ExecuteRequest(algorithm_params={"n_clusters": -1}))
    assert "n_clusters" in caught.value.message


def test_attribute_clusters_run_attribute_based_grouping() -> None:
    config = run_config_for(
        cluster(cluster_type="attribute", vector_config=None, attribute_config={"attributes": ["topic", "year"]}),
        None,
    )
    assert config["algorithm"] == "attribute_based" and config["attributes"] == ["topic", "year"]
    assert engine_config(config, llm_base_url=None, llm_api_key=None).attributes == ("topic", "year")


def test_cluster_configs_no_run_could_use_are_refused() -> None:
    validate_cluster_config("vector", cluster().vector_config, None)
    for vector_config, fragment in [
        ({"clustering_method": "kmeans", "embedder": "word2vec"}, "tfidf-svd"),
        ({"clustering_method": "dbscan", "algorithm_params": {"eps": -1}}, "eps"),
        ({"clustering_method": "attribute_based"}, "cluster_type 'attribute'"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            validate_cluster_config("vector", cluster(vector_config=vector_config).vector_config, None)
        assert fragment in caught.value.message


def test_llm_settings_come_from_the_cluster_and_the_server_but_the_key_only_from_the_server() -> None:
    labeled = cluster(llm_labeling={"enabled": True, "model_name": "m1", "base_url": "http://llm.local/v1"})
    config = run_config_for(labeled, None)
    assert "api_key" not in json.dumps(config)
    run = engine_config(config, llm_base_url="http://default/v1", llm_api_key="sk-test")
    assert run.llm is not None and (run.llm.base_url, run.llm.model, run.llm.api_key) == (
        "http://llm.local/v1",
        "m1",
        "sk-test",
    )
    no_url = run_config_for(cluster(llm_labeling={"enabled": True, "model_name": "m1"}), None)
    assert engine_config(no_url, llm_base_url="http://default/v1", llm_api_key=None).llm.base_url == (  # type: ignore[union-attr]
        "http://default/v1"
    )
    assert engine_config(no_url, llm_base_url=None, llm_api_key=None).llm is None


def test_an_enabled_llm_without_endpoint_is_reported_not_fatal() -> None:
    result = EngineResult(
        labels=np.array([0, 0, 1, -1], dtype=np.int32),
        distances=np.array([0.1, 0.2, 0.0, np.nan], dtype=np.float32),
        centroids=[
            CentroidResult("cl_0", 2, "a / b", None, ["a", "b"]),
            CentroidResult("cl_1", 1, "c", None, ["c"]),
        ],
        silhouette_score=float("nan"),
        davies_bouldin_index=0.5,
        calinski_harabasz_score=None,
        metric_notes={"silhouette_score": "not computable"},
        noise_points=1,
        projection={"points": [], "centroids": [], "sampled": 0, "total": 4},
        llm_labeling_errors=[],
        effective_config={"algorithm": "dbscan"},
        timings_ms={"cluster": 1.0},
    )
    outcome = outcome_of(
        result, {"llm": {"model": "m"}, "collection_ids": ["col_a"]}, load_ms=2.0, llm_configured=False
    )
    assert outcome.member_clusters == ["cl_0", "cl_0", "cl_1", None]
    assert outcome.member_distances[3] is None and outcome.metrics["noise_points"] == 1
    assert outcome.metrics["silhouette_score"] is None, "NaN is stored as null"
    assert outcome.config["collection_ids"] == ["col_a"] and outcome.details["timings_ms"]["load"] == 2.0
    (error,) = outcome.llm_labeling_errors
    assert "no endpoint is configured" in json.loads(error)["error"]
