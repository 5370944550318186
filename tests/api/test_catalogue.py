"""The walk of the catalogue (``engine/catalogue.py``, served at ``GET /v1/algorithms``): every algorithm's
served defaults create a cluster, every parameter and step says what it means, every preset expands into
something the server accepts, and every refused combination answers 422 with a message that says what to
change — over real HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clusterbook.engine import ALGORITHMS
from clusterbook.engine.params import ALGORITHM_PARAMS
from clusterbook.engine.preprocessing import STEP_PARAMS
from tests.api.helpers import assert_problem


@pytest.fixture
def catalogue(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/v1/algorithms")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_catalogue_lists_every_declared_algorithm_parameter_and_step(catalogue: dict[str, Any]) -> None:
    served = {a["name"]: a for a in catalogue["algorithms"]}
    assert list(served) == list(ALGORITHMS)
    for name, specs in ALGORITHM_PARAMS.items():
        params = {p["name"]: p for p in served[name]["params"]}
        assert list(params) == [s.name for s in specs]
        for spec in specs:
            p = params[spec.name]
            assert p["meaning"].strip() and p["meaning"] == spec.meaning, (name, spec.name)
            assert p["type"] == spec.kind and p["accepted"] == spec.describe()
            assert (p["minimum"], p["maximum"]) == (spec.low, spec.high)
            assert p["choices"] == list(spec.choices)
        assert served[name]["description"].strip()
    steps = {s["name"]: s for s in catalogue["preprocessing_steps"]}
    assert list(steps) == list(STEP_PARAMS)
    for name, specs in STEP_PARAMS.items():
        assert steps[name]["description"].strip()
        assert [p["name"] for p in steps[name]["params"]] == [s.name for s in specs]
        assert all(p["meaning"].strip() for p in steps[name]["params"])
    assert served["gaussian_mixture"]["defaults"]["n_clusters"] == 8
    assert "n_components" not in served["gaussian_mixture"]["defaults"]
    assert served["hdbscan"]["accepts_reassign_noise"] and not served["kmeans"]["accepts_reassign_noise"]
    assert not served["attribute_based"]["accepts_preprocessing"]


def test_every_served_default_and_preset_creates_a_cluster(http: httpx.Client, catalogue: dict[str, Any]) -> None:
    for algorithm in catalogue["algorithms"]:
        if algorithm["cluster_type"] != "vector":
            continue
        vector_config = {"clustering_method": algorithm["name"], "algorithm_params": algorithm["defaults"]}
        created = http.post(
            "/v1/clusters", json={"cluster_name": f"d-{algorithm['name']}", "vector_config": vector_config}
        )
        assert created.status_code == 201, (algorithm["name"], created.text)
        assert created.json()["vector_config"]["algorithm_params"] == algorithm["defaults"]
    for preset in catalogue["presets"]:
        vector_config = {"clustering_method": preset["name"], "algorithm_params": preset["algorithm_params"]}
        created = http.post(
            "/v1/clusters", json={"cluster_name": f"p-{preset['name']}", "vector_config": vector_config}
        )
        assert created.status_code == 201, (preset["name"], created.text)
        assert preset["cost"].strip() and preset["description"].strip()
    for step in catalogue["preprocessing_steps"]:  # each step with its defaults, on a density algorithm
        vector_config = {"clustering_method": "hdbscan", "preprocessing": [{"step": step["name"]}]}
        created = http.post("/v1/clusters", json={"cluster_name": f"s-{step['name']}", "vector_config": vector_config})
        assert created.status_code == 201, (step["name"], created.text)


@pytest.mark.parametrize(
    ("vector_config", "fragments"),
    [
        (
            {"clustering_method": "kmeans", "preprocessing": [{"step": "tsne"}]},
            ["preprocessing[0]", "'pca', 'normalize', 'umap'"],
        ),
        (
            {"clustering_method": "hdbscan", "preprocessing": [{"step": "umap", "n_components": 500}]},
            ["preprocessing[0].n_components", "from 2 to 100"],
        ),
        (
            {"clustering_method": "kmeans", "preprocessing": [{"step": "normalize"}, {"step": "normalize"}]},
            ["repeats the normalize step"],
        ),
        (
            {
                "clustering_method": "hdbscan",
                "preprocessing": [{"step": "umap", "n_components": 5}, {"step": "pca", "n_components": 20}],
            },
            ["must be less than the 5 dimensions"],
        ),
        (
            {
                "clustering_method": "dbscan",
                "algorithm_params": {"pca_components": 10},
                "preprocessing": [{"step": "pca"}],
            },
            ["pca_components", "remove pca_components"],
        ),
        (
            {"clustering_method": "kmeans", "reassign_noise": {"max_distance": 0.5}},
            ["reassign_noise", "density algorithms", "remove reassign_noise"],
        ),
        (
            {"clustering_method": "topics", "algorithm_params": {"n_clusters": 5}},
            ["n_clusters is not a parameter of hdbscan"],
        ),
    ],
)
def test_refused_combinations_answer_422_saying_what_to_change(
    http: httpx.Client, vector_config: dict[str, Any], fragments: list[str]
) -> None:
    response = http.post("/v1/clusters", json={"cluster_name": "refused", "vector_config": vector_config})
    body = assert_problem(response, 422, "validation_error", sent="cluster_selection")  # hdbscan's parameter names
    for fragment in fragments:
        assert fragment in body["detail"], (fragment, body["detail"])
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0, "nothing was created"


@pytest.mark.parametrize(
    "reassign",
    [{"max_distance": 0}, {"max_distance": -1}, {"max_distance": 1e7}, {"max_distance": "far"}, {"distance": 1}],
)
def test_reassign_noise_is_bounded(http: httpx.Client, reassign: dict[str, Any]) -> None:
    vector_config = {"clustering_method": "hdbscan", "reassign_noise": reassign}
    response = http.post("/v1/clusters", json={"cluster_name": "bounded", "vector_config": vector_config})
    body = assert_problem(response, 422)
    assert any("reassign_noise" in e["loc"] for e in body["errors"]), body


def test_preprocessing_lists_are_bounded(http: httpx.Client) -> None:
    vector_config = {"clustering_method": "kmeans", "preprocessing": [{"step": "normalize"}] * 17}
    response = http.post("/v1/clusters", json={"cluster_name": "long", "vector_config": vector_config})
    assert_problem(response, 422)
    vector_config["preprocessing"] = [{"step": "normalize"}] * 5
    response = http.post("/v1/clusters", json={"cluster_name": "long", "vector_config": vector_config})
    assert "at most 4 are accepted" in assert_problem(response, 422)["detail"]
