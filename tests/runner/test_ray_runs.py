"""The Ray runner end to end over HTTP, against one local Ray (``ray_cluster``): a run's results
equal the local runner's for the same seed, on SQLite and PostgreSQL, its stability resamples run as
Ray tasks, and the run records where it ran (``config.runner``, ``config.ray_node_id``), which the
history filters by."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.runner.conftest import FAST_RUNNER, create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents


def memberships(api: httpx.Client, cluster_id: str, run_id: str) -> dict[str, str | None]:
    path = f"/v1/clusters/{cluster_id}/executions/{run_id}/members/list"
    found: dict[str, str | None] = {}
    cursor = None
    while True:
        page = ok(api.post(path, json={}, params={"page_size": 100, **({"cursor": cursor} if cursor else {})}))
        found.update({m["document_id"]: m["cluster_id"] for m in page["results"]})
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found


def run_to_completion(settings: Settings, cluster_id: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """One run on a server with one worker of ``settings.runner``; creates the data on first use."""
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        if cluster_id is None:
            upload_collection(api, "blobs", blob_documents(300, centres=4, seed=5))
            params = {"n_clusters": 4, "random_state": 7}
            cluster_id = create_cluster(
                api, "blobs-k4", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": params}
            )["cluster_id"]
        run = wait_for(api, cluster_id, execute(api, cluster_id, body)["run_id"], timeout=120)
        assert run["status"] == "completed", run.get("error_message")
        run["members"] = memberships(api, cluster_id, run["run_id"])
        run["cluster"] = cluster_id
        by_runner = ok(
            api.post(
                f"/v1/clusters/{cluster_id}/executions/list",
                json={"filters": {"config.runner": {"eq": settings.runner}}},
            )
        )
        run["listed_by_runner"] = [r["run_id"] for r in by_runner["results"]]
        return run


def test_a_ray_run_equals_the_local_run_for_the_same_seed(db_url: str, ray_settings: Settings) -> None:
    local_settings = Settings(database_url=db_url, secret_key="test-signing-key", **FAST_RUNNER)  # type: ignore[arg-type]
    body = {"stability": {"resamples": 3, "fraction": 0.8}}
    local = run_to_completion(local_settings, None, body)
    on_ray = run_to_completion(ray_settings, local["cluster"], body)

    assert on_ray["members"] == local["members"] and len(on_ray["members"]) == 300
    assert [c["num_members"] for c in on_ray["centroids"]] == [c["num_members"] for c in local["centroids"]]
    assert on_ray["metrics"]["silhouette_score"] == pytest.approx(local["metrics"]["silhouette_score"])
    # the resamples ran as three Ray tasks and agree with the local processes' (same seeds)
    assert on_ray["config"]["stability_processes"] == 3
    assert on_ray["metrics"]["stability"] == pytest.approx(local["metrics"]["stability"])

    assert local["config"]["runner"] == "local" and "ray_node_id" not in local["config"]
    assert on_ray["config"]["runner"] == "ray"
    import ray

    assert on_ray["config"]["ray_node_id"] in {node["NodeID"] for node in ray.nodes()}
    assert on_ray["listed_by_runner"] == [on_ray["run_id"]] and local["listed_by_runner"] == [local["run_id"]]


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_local_and_a_ray_worker_on_one_postgresql_never_compute_a_run_twice(
    db_url: str, ray_settings: Settings
) -> None:
    from collections import Counter

    from clusterbook.runner.worker import make_pool
    from clusterbook.store.db import make_engine
    from tests.runner.test_crash_recovery import assert_each_run_written_once

    runs = 12
    with BackgroundServer(ray_settings) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        upload_collection(api, "blobs", blob_documents(60, centres=3, seed=2))
        cluster_id = create_cluster(api, "blobs", "blobs")["cluster_id"]
        run_ids = [execute(api, cluster_id)["run_id"] for _ in range(runs)]  # queued: no worker yet
        local_engine, ray_engine = make_engine(db_url), make_engine(db_url)
        local_settings = ray_settings.model_copy(update={"runner": "local"})
        with make_pool(local_engine, local_settings, workers=1), make_pool(ray_engine, ray_settings, workers=1):
            finished = [wait_for(api, cluster_id, run_id, timeout=180) for run_id in run_ids]
        local_engine.dispose()
        ray_engine.dispose()
        assert [r["status"] for r in finished] == ["completed"] * runs, [r.get("error_message") for r in finished]
        assert [r["attempts"] for r in finished] == [1] * runs, "a run was claimed (computed) more than once"
        by_runner = Counter(r["config"]["runner"] for r in finished)
        assert set(by_runner) == {"local", "ray"}, by_runner  # both really worked the one queue
        assert_each_run_written_once(server.engine, {r["run_id"]: 60 for r in finished})


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_gpu_run_on_a_cluster_without_gpus_waits_pending_with_its_reason(ray_settings: Settings) -> None:
    with BackgroundServer(ray_settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        upload_collection(api, "blobs", blob_documents(60, centres=3, seed=3))
        cluster_id = create_cluster(api, "blobs", "blobs")["cluster_id"]
        gpu_run = execute(api, cluster_id, {"gpus": 1})
        assert gpu_run["config"]["gpus"] == 1
        waiting = wait_for(api, cluster_id, gpu_run["run_id"], lambda r: r["error_message"] is not None, 90)
        assert waiting["status"] == "pending" and waiting["attempts"] is None, "no attempt charged"
        assert waiting["error_message"].startswith("Waiting for a GPU: this run asks for 1 GPU and no node")
        # the queue is not blocked behind it: a later CPU run is claimed and completes
        cpu_run = wait_for(api, cluster_id, execute(api, cluster_id)["run_id"], timeout=120)
        assert cpu_run["status"] == "completed" and "gpus" not in cpu_run["config"]
        still = ok(api.get(f"/v1/clusters/{cluster_id}/executions/{gpu_run['run_id']}"))
        assert still["status"] == "pending" and still["error_message"] == waiting["error_message"]
        canceled = ok(api.post(f"/v1/clusters/{cluster_id}/executions/{gpu_run['run_id']}/cancel"))
        assert canceled["status"] == "canceled", "not lost: it can still be canceled (or run once a GPU joins)"
    refused = ok_status(ray_settings, {"gpus": 0})
    assert refused == 422


def ok_status(settings: Settings, body: dict[str, Any]) -> int:
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        return api.post("/v1/clusters/blobs/execute", json=body).status_code
