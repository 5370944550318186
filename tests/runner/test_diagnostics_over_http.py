"""Diagnostics, representatives, preprocessing and noise reassignment of real runs, end to end over HTTP:
the values land as declared measures (filterable and sortable), the reasons in ``metrics.notes``, the
effective steps in the run's config, and every representative is a member of its cluster."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents


def _run(api: httpx.Client, name: str, vector_config: dict[str, Any]) -> dict[str, Any]:
    cluster = create_cluster(api, name, "blobs", vector_config=vector_config)
    run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    return run


def test_density_runs_report_diagnostics_reassign_noise_and_keep_their_steps(api: httpx.Client) -> None:
    documents = blob_documents(300, dims=16, centres=3, seed=4)
    rng = np.random.default_rng(9)
    for i in range(6):  # far from every blob: noise, and beyond any sensible reassignment bound
        documents.append({"document_id": f"far{i}", "vector": (rng.normal(0, 1, 16) * 60).round(3).tolist()})
    centre = np.mean([d["vector"] for d in documents if d.get("metadata", {}).get("group") == 0], axis=0)
    for i in range(8):  # stragglers around blob 0: noise to the fit, within reach of its centre
        direction = rng.normal(0, 1, 16)
        vector = centre + 4.0 * direction / np.linalg.norm(direction)
        documents.append({"document_id": f"near{i}", "vector": vector.round(4).tolist()})
    upload_collection(api, "blobs", documents)
    steps = [{"step": "pca", "n_components": 4}, {"step": "normalize"}]
    base = {"clustering_method": "hdbscan", "algorithm_params": {"min_cluster_size": 15}, "normalize_features": False}
    plain = _run(api, "plain", {**base, "preprocessing": steps})
    density = {"clustering_method": "dbscan", "algorithm_params": {"eps": 2.5}, "normalize_features": False}
    kept = _run(api, "kept", density)
    moved = _run(api, "moved", {**density, "reassign_noise": {"max_distance": 5.0}})

    metrics = plain["metrics"]
    assert plain["num_clusters"] == 3 and metrics["degenerate"] == 0
    assert metrics["noise_ratio"] == plain["metrics"]["noise_points"] / len(documents) > 0
    assert 0.9 < metrics["cluster_size_entropy"] <= 1.0
    assert 0.3 <= metrics["largest_cluster_share"] < 0.4
    assert metrics["reassigned_points"] is None
    assert "original space" in metrics["notes"]["preprocessing"]
    config = plain["config"]
    assert [s["step"] for s in config["preprocessing"]] == ["pca", "normalize"]
    assert config["preprocessing"][0]["n_components"] == 4 and config["dimensions"] == 16

    members_path = f"/v1/clusters/{plain['cluster_id']}/executions/{plain['run_id']}/members/list"
    cluster_of: dict[str, str | None] = {}
    params: dict[str, Any] = {"page_size": 100}
    while True:
        page = ok(api.post(members_path, json={}, params=params))
        cluster_of.update({m["document_id"]: m["cluster_id"] for m in page["results"]})
        if not page["pagination"].get("next_cursor"):
            break
        params = {"page_size": 100, "cursor": page["pagination"]["next_cursor"]}
    assert len(cluster_of) == len(documents)
    for centroid in plain["centroids"]:
        assert 1 <= len(centroid["representative_ids"]) <= 5
        assert all(cluster_of[d] == centroid["cluster_id"] for d in centroid["representative_ids"])

    assert kept["metrics"]["reassigned_points"] is None and kept["metrics"]["noise_points"] >= 14
    assert moved["metrics"]["reassigned_points"] >= 8, "the stragglers join blob 0's cluster"
    assert moved["metrics"]["noise_points"] == kept["metrics"]["noise_points"] - moved["metrics"]["reassigned_points"]
    assert moved["metrics"]["noise_points"] == 6, "the far points stay noise"
    assert moved["metrics"]["noise_ratio"] < kept["metrics"]["noise_ratio"]
    assert "joined the nearest cluster" in moved["metrics"]["notes"]["reassigned_points"]
    assert moved["config"]["reassign_noise"] == {"max_distance": 5.0, "moved": moved["metrics"]["reassigned_points"]}

    degenerate = _run(api, "tiny-eps", {"clustering_method": "dbscan", "algorithm_params": {"eps": 1e-6}})
    assert degenerate["metrics"]["degenerate"] == 1 and degenerate["metrics"]["noise_ratio"] == 1.0
    assert "every document is noise" in degenerate["metrics"]["notes"]["degenerate"]

    for run, flag in ((plain, 0), (degenerate, 1)):
        listed = ok(
            api.post(
                f"/v1/clusters/{run['cluster_id']}/executions/list",
                json={
                    "filters": {"metrics.degenerate": {"eq": flag}},
                    "sort": {"field": "noise_ratio", "direction": "desc"},
                },
            )
        )
        assert [r["run_id"] for r in listed["results"]] == [run["run_id"]]


@pytest.mark.slow
def test_the_topics_preset_runs_umap_then_hdbscan_with_keyword_labels(api: httpx.Client) -> None:
    from clusterbook.demo.corpus import demo_documents

    documents = demo_documents(per_topic=40)
    upload_collection(api, "articles", documents)
    cluster = create_cluster(api, "topics", "articles", vector_config={"clustering_method": "topics"})
    submitted = execute(api, cluster["cluster_id"])
    assert submitted["algorithm"] == "hdbscan" and submitted["config"]["preset"] == "topics"
    run = wait_for(api, cluster["cluster_id"], submitted["run_id"], timeout=600)
    assert run["status"] == "completed", run.get("error_message")
    assert [s["step"] for s in run["config"]["preprocessing"]] == ["umap"]
    assert run["config"]["preprocessing"][0]["to_dims"] == 5
    truth = {d["document_id"]: d["metadata"]["topic"] for d in documents}
    assert run["num_clusters"] == len(set(truth.values()))
    assert all(c["keywords"] and c["label"] for c in run["centroids"])
    assert "umap" in run["metrics"]["notes"]["preprocessing"]
