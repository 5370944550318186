"""Agreement with a baseline, end to end over HTTP: real runs computed by a real worker, each compared
with its baseline when it completes (ARI/AMI, matching, Jaccard, the baseline's labels), the baseline
chosen by default or named in the execute body, and refused when it is not a completed run."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from clusterbook.api.background import BackgroundServer
from tests.cli.test_remote_cli import cli
from tests.cli.test_remote_cli import ok as cli_ok
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents

AGREEMENT = ("agreement_ari", "agreement_ami", "matched_fraction", "moved_documents")
DOCUMENTS = 240


def completed(api: httpx.Client, cluster_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    run = wait_for(api, cluster_id, execute(api, cluster_id, body)["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    return run


def memberships(api: httpx.Client, cluster_id: str, run_id: str) -> dict[str, str | None]:
    """Every document's cluster in a run, read back page by page from the members endpoint."""
    path = f"/v1/clusters/{cluster_id}/executions/{run_id}/members/list"
    found: dict[str, str | None] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        page = ok(api.post(path, json={}, params=params))
        found.update({m["document_id"]: m["cluster_id"] for m in page["results"]})
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            return found


def listed(api: httpx.Client, cluster_id: str, filters: dict[str, Any]) -> list[str]:
    page = ok(api.post(f"/v1/clusters/{cluster_id}/executions/list", json={"filters": filters}))
    return [r["run_id"] for r in page["results"]]


@pytest.fixture
def blobs(api: httpx.Client) -> str:
    """A cluster of kmeans with k=4 over four well separated blobs."""
    upload_collection(api, "blobs", blob_documents(DOCUMENTS, centres=4, seed=11))
    cluster = create_cluster(
        api, "blobs-k4", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 4}}
    )
    return str(cluster["cluster_id"])


def test_two_seeds_on_separable_blobs_agree_and_k2_against_k4_agrees_less(
    api: httpx.Client, runner_server: BackgroundServer, blobs: str
) -> None:
    first = completed(api, blobs, {"random_state": 1})
    assert first["baseline_run_id"] is None and first["config"]["baseline_run_id"] is None
    assert all(first["metrics"][name] is None for name in AGREEMENT)
    assert all("no baseline" in first["metrics"]["notes"][name] for name in AGREEMENT)
    assert all(c["baseline_cluster_id"] is None and c["jaccard"] is None for c in first["centroids"])

    second = completed(api, blobs, {"random_state": 7})
    assert second["baseline_run_id"] == first["run_id"] == second["config"]["baseline_run_id"]
    metrics = second["metrics"]
    assert metrics["agreement_ari"] >= 0.95 and metrics["agreement_ami"] >= 0.95
    assert metrics["matched_fraction"] >= 0.95 and metrics["moved_documents"] <= 0.05 * DOCUMENTS
    assert not set(AGREEMENT) & set(metrics.get("notes") or {})
    assert second["timings_ms"]["agreement"] >= 0
    labels = {c["cluster_id"]: c["label"] for c in first["centroids"]}
    matched = [c["baseline_cluster_id"] for c in second["centroids"]]
    assert sorted(matched) == sorted(labels), "a one-to-one matching of all four clusters"
    for centroid in second["centroids"]:
        assert centroid["jaccard"] >= 0.9, centroid
        assert centroid["baseline_label"] == labels[centroid["baseline_cluster_id"]]

    # the stored values are scikit-learn's, on the labels the members endpoint returns
    a, b = memberships(api, blobs, first["run_id"]), memberships(api, blobs, second["run_id"])
    shared = sorted(set(a) & set(b))
    assert len(shared) == DOCUMENTS
    left = [a[d] or "noise" for d in shared]
    right = [b[d] or "noise" for d in shared]
    assert metrics["agreement_ari"] == pytest.approx(adjusted_rand_score(left, right), abs=1e-12)
    assert metrics["agreement_ami"] == pytest.approx(adjusted_mutual_info_score(left, right), abs=1e-12)

    coarse = completed(api, blobs, {"algorithm_params": {"n_clusters": 2}, "random_state": 1})
    assert coarse["baseline_run_id"] == second["run_id"], "the latest completed run is the default baseline"
    worse = coarse["metrics"]
    assert worse["agreement_ari"] < 0.8 and worse["agreement_ari"] < metrics["agreement_ari"] - 0.2
    assert worse["agreement_ami"] < metrics["agreement_ami"] - 0.1
    assert worse["matched_fraction"] <= 0.75 and worse["moved_documents"] >= DOCUMENTS // 4
    assert all(c["baseline_cluster_id"] is not None for c in coarse["centroids"])
    assert min(c["jaccard"] for c in coarse["centroids"]) < 0.9, "a cluster holding several blobs matches one"

    # the CLI's executions show: the baseline, the agreement and each cluster's match
    shown = cli_ok(cli(runner_server, "executions", "show", second["run_id"], "--cluster", "blobs-k4"))
    assert re.search(rf"^baseline +{first['run_id']}", shown, re.M) and "agreement (ari)" in shown
    assert "baseline match" in shown and f"{centroid['baseline_cluster_id']} ({centroid['baseline_label']})" in shown
    alone = cli_ok(cli(runner_server, "executions", "show", first["run_id"], "--cluster", "blobs-k4"))
    assert re.search(r"^baseline +none", alone, re.M) and re.search(r"^agreement +no baseline", alone, re.M)
    assert "baseline match" not in alone

    # filterable and sortable like every declared metric
    assert listed(api, blobs, {"metrics.agreement_ari": {"gte": 0.95}}) == [second["run_id"]]
    assert listed(api, blobs, {"metrics.agreement_ari": {"is_null": True}}) == [first["run_id"]]
    assert listed(api, blobs, {"baseline_run_id": second["run_id"]}) == [coarse["run_id"]]
    assert set(listed(api, blobs, {"baseline_run_id": {"is_null": True}})) == {first["run_id"]}


def test_the_execute_body_names_the_baseline_or_none(api: httpx.Client, blobs: str) -> None:
    first = completed(api, blobs, {"random_state": 1})
    second = completed(api, blobs, {"random_state": 2})
    named = completed(api, blobs, {"random_state": 3, "baseline_run_id": first["run_id"]})
    assert named["baseline_run_id"] == first["run_id"] == named["config"]["baseline_run_id"]
    assert named["metrics"]["agreement_ari"] >= 0.95
    assert second["baseline_run_id"] == first["run_id"]

    alone = completed(api, blobs, {"random_state": 4, "baseline_run_id": None})
    assert alone["baseline_run_id"] is None and alone["config"]["baseline_run_id"] is None
    assert all(alone["metrics"][name] is None for name in AGREEMENT)
    assert "no baseline" in alone["metrics"]["notes"]["agreement_ari"]

    # a completed run of another cluster of the namespace is a valid baseline too
    other = create_cluster(
        api, "blobs-k2", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}}
    )
    across = completed(api, other["cluster_id"], {"baseline_run_id": first["run_id"]})
    assert across["baseline_run_id"] == first["run_id"] and across["metrics"]["agreement_ari"] < 0.8


def test_a_baseline_that_is_not_a_completed_run_of_the_namespace_is_refused(api: httpx.Client, blobs: str) -> None:
    pending = execute(api, blobs, {"random_state": 1})  # the worker may not have taken it yet
    ok(api.post(f"/v1/clusters/{blobs}/executions/{pending['run_id']}/cancel"))
    history = f"/v1/clusters/{blobs}/executions/list"
    before = ok(api.post(history, json={}))["total_count"]
    for bad, why in (
        ("run_doesNotExist0000000", "is not a run of this namespace"),
        (pending["run_id"], "is canceled, not completed"),
        ("", "is not a run of this namespace"),
    ):
        response = api.post(f"/v1/clusters/{blobs}/execute", json={"baseline_run_id": bad})
        assert response.status_code == 422, response.text
        problem = response.json()
        assert f"baseline_run_id {bad!r} {why}" in problem["detail"], problem
        assert "completed run" in problem["detail"]
    too_long = api.post(f"/v1/clusters/{blobs}/execute", json={"baseline_run_id": "run_" + "x" * 100})
    assert too_long.status_code == 422 and "baseline_run_id" in too_long.text
    assert ok(api.post(history, json={}))["total_count"] == before, "no run row was left behind"
