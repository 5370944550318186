"""Assign mode end to end over HTTP: cluster blobs, add points from the same blobs and far-away
outliers, assign them to the first run's centres; then a new blob appears and the cluster says to
re-cluster, until a full run clears it."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
from sklearn.metrics import adjusted_rand_score

from clusterbook.client import Client
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for

DIMS = 16


def _directions(seed: int = 0) -> np.ndarray:
    """Four orthonormal directions: three blobs, and the one a new blob appears along later."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(DIMS, DIMS)))
    return q[:, :4].T * 10.0


def _blob_points(means: np.ndarray, per_blob: int, prefix: str, rng: np.random.Generator) -> list[dict[str, Any]]:
    return [
        {
            "document_id": f"{prefix}{g}_{i:03d}",
            "vector": (means[g] + rng.normal(0, 0.6, DIMS)).round(5).tolist(),
            "metadata": {"blob": g},
        }
        for g in range(len(means))
        for i in range(per_blob)
    ]


def _outliers(means: np.ndarray, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Points orthogonal to every blob direction: cosine similarity near 0 with each centre."""
    basis, _ = np.linalg.qr(means.T)
    raw = rng.normal(0, 10, size=(n, DIMS))
    away = raw - (raw @ basis) @ basis.T
    return [{"document_id": f"out_{i:02d}", "vector": v.round(5).tolist()} for i, v in enumerate(away)]


def _members(api: httpx.Client, cluster_id: str, run_id: str) -> dict[str, str | None]:
    path = f"/v1/clusters/{cluster_id}/executions/{run_id}/members/list"
    found: dict[str, str | None] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        page = ok(api.post(path, json={"sort": {"field": "document_id", "direction": "asc"}}, params=params))
        found.update({m["document_id"]: m["cluster_id"] for m in page["results"]})
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found


def test_new_points_join_their_blob_outliers_stay_out_and_a_new_blob_asks_for_a_recluster(
    api: httpx.Client,
) -> None:
    directions = _directions()
    blobs, new_direction = directions[:3], directions[3:]
    rng = np.random.default_rng(1)
    upload_collection(api, "points", _blob_points(blobs, 100, "old", rng))
    cluster = create_cluster(
        api,
        "points",
        "points",
        vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3, "random_state": 0}},
    )
    cid = cluster["cluster_id"]
    source = wait_for(api, cid, execute(api, cid)["run_id"])
    assert source["status"] == "completed", source.get("error_message")
    source_members = _members(api, cid, source["run_id"])
    # which source cluster each blob went to
    blob_cluster = {g: source_members[f"old{g}_000"] for g in range(3)}
    assert len(set(blob_cluster.values())) == 3

    new_points = _blob_points(blobs, 20, "new", rng)
    outliers = _outliers(blobs, 6, rng)
    ok(api.post("/v1/collections/points/documents", json={"documents": new_points + outliers}))
    submitted = execute(api, cid, {"mode": "assign", "assignment_threshold": 0.8, "run_name": "incoming"})
    assert submitted["mode"] == "assign" and submitted["source_run_id"] == source["run_id"]
    assert submitted["baseline_run_id"] == source["run_id"]
    run = wait_for(api, cid, submitted["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    # only the documents added since the source run, assigned to its clusters
    assert run["num_points"] == len(new_points) + len(outliers)
    assert run["config"]["num_documents"] == 66 and run["config"]["documents"] == "changed"
    members = _members(api, cid, run["run_id"])
    assert set(members) == {d["document_id"] for d in new_points + outliers}
    truth = [blob_cluster[d["metadata"]["blob"]] for d in new_points]
    found = [members[d["document_id"]] for d in new_points]
    assert adjusted_rand_score(truth, found) >= 0.95
    assert found == truth  # the same cluster ids as the source run, not renumbered
    assert all(members[d["document_id"]] is None for d in outliers)
    assert run["metrics"]["unassigned_ratio"] == 6 / 66
    assert run["metrics"]["silhouette_score"] > 0.5  # over the assigned documents
    assert "6 unassigned" in run["metrics"]["notes"]["unassigned"]
    assert sum(c["num_members"] for c in run["centroids"]) == 60
    assert {c["cluster_id"]: c["label"] for c in run["centroids"]} == {
        c["cluster_id"]: c["label"] for c in source["centroids"]
    }
    assert run["should_recluster"] is False and run["recluster_reason"] is None
    assert ok(api.get(f"/v1/clusters/{cid}"))["should_recluster"] is False

    # a blob the source run never saw: nothing of it is near a centre
    ok(api.post("/v1/collections/points/documents", json={"documents": _blob_points(new_direction, 40, "blob4_", rng)}))
    drifted = wait_for(api, cid, execute(api, cid, {"mode": "assign", "assignment_threshold": 0.8})["run_id"])
    assert drifted["status"] == "completed", drifted.get("error_message")
    assert drifted["source_run_id"] == run["run_id"]  # the latest completed run: the first assign run
    assert drifted["num_points"] == 40 and drifted["metrics"]["unassigned_ratio"] == 1.0
    assert drifted["should_recluster"] is True and "unassigned" in drifted["recluster_reason"]
    after = ok(api.get(f"/v1/clusters/{cid}"))
    assert after["should_recluster"] is True and after["recluster_run_id"] == drifted["run_id"]
    assert "max_unassigned_ratio" in after["recluster_reason"]
    history = ok(api.post(f"/v1/clusters/{cid}/executions/list", json={}))["results"]
    by_id = {r["run_id"]: r for r in history}
    assert by_id[drifted["run_id"]]["should_recluster"] is True and by_id[drifted["run_id"]]["mode"] == "assign"
    assert by_id[source["run_id"]]["mode"] == "cluster" and by_id[source["run_id"]]["should_recluster"] is None

    # every document, against the first run's centres: the old blobs come back whole
    everything = wait_for(
        api,
        cid,
        execute(api, cid, {"mode": "assign", "source_run_id": source["run_id"], "documents": "all"})["run_id"],
    )
    assert everything["num_points"] == 300 + 66 + 40
    again = _members(api, cid, everything["run_id"])
    assert all(again[doc] == cluster_id for doc, cluster_id in source_members.items())
    assert everything["metrics"]["agreement_ari"] == 1.0  # over the 300 documents both runs placed

    full = wait_for(api, cid, execute(api, cid, {"algorithm_params": {"n_clusters": 4}})["run_id"])
    assert full["status"] == "completed"
    assert ok(api.get(f"/v1/clusters/{cid}"))["should_recluster"] is False


def test_a_cluster_whose_shares_drift_asks_for_a_recluster(api: httpx.Client) -> None:
    """All new points from one blob: none unassigned, but the cluster shares are far from the source's."""
    blobs = _directions(seed=3)[:3]
    rng = np.random.default_rng(2)
    upload_collection(api, "drift", _blob_points(blobs, 50, "old", rng))
    cid = create_cluster(
        api,
        "drift",
        "drift",
        vector_config={
            "clustering_method": "kmeans",
            "algorithm_params": {"n_clusters": 3},
            "recluster": {"max_unassigned_ratio": 0.5, "max_drift": 0.4},
        },
    )["cluster_id"]
    assert wait_for(api, cid, execute(api, cid)["run_id"])["status"] == "completed"
    ok(api.post("/v1/collections/drift/documents", json={"documents": _blob_points(blobs[:1], 30, "one", rng)}))
    with Client(base_url=str(api.base_url)) as client:  # the SDK submits assign runs too
        typed = client.clusters.execute(cid, mode="assign", assignment_threshold=0.5, wait=True, timeout=120)
        assert typed.mode == "assign" and typed.metrics is not None and typed.metrics.unassigned_ratio == 0.0
        assert typed.config is not None and typed.config["share_drift"] > 0.6  # 1/3 before, all of them now
        assert typed.should_recluster is True and typed.recluster_reason and "drifted" in typed.recluster_reason
        cluster = client.clusters.get(cid)
        assert cluster.should_recluster and cluster.recluster_reason and "max_drift" in cluster.recluster_reason
