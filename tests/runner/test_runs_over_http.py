"""Real executions end to end over HTTP: upload documents, create a cluster, execute, poll, read the
history, the members and the projection; failures with their reasons; cancel; a killed process."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from clusterbook.api.background import BackgroundServer
from clusterbook.store.tables import executions
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for


def blob_documents(n: int, dims: int = 8, centres: int = 3, seed: int = 0) -> list[dict[str, Any]]:
    """Vectors around ``centres`` well separated points, with the true group in metadata."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 10, size=(centres, dims))
    docs = []
    for i in range(n):
        group = i % centres
        vector = means[group] + rng.normal(0, 0.5, size=dims)
        docs.append({"document_id": f"d{i:05d}", "vector": vector.round(5).tolist(), "metadata": {"group": group}})
    return docs


def test_a_text_collection_runs_to_completion_with_labels_members_and_projection(api: httpx.Client) -> None:
    from clusterbook.demo.corpus import demo_documents

    documents = demo_documents(per_topic=25)
    upload_collection(api, "articles", documents)
    cluster = create_cluster(
        api,
        "topics",
        "articles",
        vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 6, "random_state": 3}},
    )
    submitted = execute(api, cluster["cluster_id"], {"run_name": "first try"})
    assert submitted["status"] == "pending" and submitted["run_name"] == "first try"
    assert submitted["algorithm"] == "kmeans" and submitted["config"]["params"]["n_clusters"] == 6

    run = wait_for(api, cluster["cluster_id"], submitted["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    assert run["num_points"] == len(documents) and run["num_clusters"] == 6
    metrics = run["metrics"]
    assert 0 < metrics["silhouette_score"] <= 1 and metrics["davies_bouldin_index"] > 0
    assert metrics["calinski_harabasz_score"] > 0
    sizes = [c["num_members"] for c in run["centroids"]]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(documents)
    assert [c["cluster_id"] for c in run["centroids"]] == [f"cl_{i}" for i in range(6)]
    assert all(c["keywords"] and c["label"] for c in run["centroids"])
    assert run["started_at"] >= run["created_at"] and run["completed_at"] >= run["started_at"]
    assert run["duration_ms"] > 0 and run["attempts"] == 1
    config = run["config"]
    assert config["num_documents"] == len(documents) and config["random_state"] == 3
    assert config["embedder"] == "tfidf-svd" and "scikit-learn" in config["versions"]

    history = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/list", json={}))
    assert [r["run_id"] for r in history["results"]] == [run["run_id"]]
    assert history["stats"]["executions_by_status"] == {"completed": 1}
    keyword = run["centroids"][0]["keywords"][0]
    searched = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/list", json={"search": keyword}))
    assert searched["total_count"] == 1
    by_algorithm = ok(
        api.post(
            f"/v1/clusters/{cluster['cluster_id']}/executions/list",
            json={"filters": {"algorithm": "kmeans"}, "sort": {"field": "algorithm", "direction": "asc"}},
        )
    )
    assert by_algorithm["total_count"] == 1

    members_path = f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}/members/list"
    first = ok(api.post(members_path, json={}, params={"page_size": 50}))
    assert first["total_count"] == len(documents) and len(first["results"]) == 50
    distances = [m["distance"] for m in first["results"]]
    assert distances == sorted(distances), "members come closest first"
    everyone: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = ok(api.post(members_path, json={}, params={"page_size": 40, **({"cursor": cursor} if cursor else {})}))
        everyone.extend(page["results"])
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            break
    assert sorted(m["document_id"] for m in everyone) == sorted(d["document_id"] for d in documents)
    smallest = run["centroids"][-1]
    only = ok(
        api.post(members_path, json={"filters": {"cluster_id": smallest["cluster_id"]}}, params={"page_size": 100})
    )
    assert only["total_count"] == smallest["num_members"]
    assert {m["cluster_id"] for m in only["results"]} == {smallest["cluster_id"]}

    projection = ok(api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}/projection"))
    assert projection["total"] == len(documents) and projection["sampled"] == len(projection["points"]) > 0
    assert {c["cluster_id"] for c in projection["centroids"]} == {c["cluster_id"] for c in run["centroids"]}


def test_a_run_records_the_config_it_ran_with_even_after_the_cluster_changes(api: httpx.Client) -> None:
    upload_collection(api, "blobs", blob_documents(90))
    cluster = create_cluster(
        api,
        "blobs-kmeans",
        "blobs",
        vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}},
    )
    first = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    ok(
        api.patch(
            f"/v1/clusters/{cluster['cluster_id']}",
            json={"vector_config": {"clustering_method": "dbscan", "algorithm_params": {"eps": 0.3}}},
        )
    )
    second = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert first["status"] == second["status"] == "completed"
    again = ok(api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{first['run_id']}"))
    assert again["algorithm"] == "kmeans" and again["config"]["params"]["n_clusters"] == 3
    assert second["algorithm"] == "dbscan" and second["config"]["params"]["eps"] == 0.3
    assert second["num_clusters"] == 3 and second["metrics"]["noise_points"] >= 0
    assert first["metrics"]["silhouette_score"] > 0.8, "three well separated blobs"


@pytest.mark.parametrize(
    ("documents", "vector_config", "message"),
    [
        (
            [{"document_id": "only", "text": "a lonely document about nothing"}],
            {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}},
            "Insufficient documents for clustering: 1 document, need at least 2",
        ),
        (
            [{"document_id": f"t{i}", "text": f"short text number {i} about cats"} for i in range(5)],
            {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 8}},
            "n_clusters",
        ),
    ],
    ids=["one-document", "more-clusters-than-documents"],
)
def test_runs_that_cannot_cluster_fail_with_cause_and_fix(
    api: httpx.Client, documents: list[dict[str, Any]], vector_config: dict[str, Any], message: str
) -> None:
    upload_collection(api, "small", documents)
    cluster = create_cluster(api, "doomed", "small", vector_config=vector_config)
    run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert run["status"] == "failed"
    assert message in run["error_message"]
    assert run["error_traceback"] is None  # an expected problem: the message says it all
    assert run["completed_at"] is not None and run["duration_ms"] >= 0
    failed = ok(
        api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/list", json={"filters": {"status": "failed"}})
    )
    assert failed["total_count"] == 1
    projection = api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}/projection")
    assert projection.status_code == 404 and "failed" in projection.json()["detail"]


def test_bad_algorithm_parameters_are_refused_at_cluster_creation(api: httpx.Client) -> None:
    upload_collection(api, "c", blob_documents(10))
    response = api.post(
        "/v1/clusters",
        json={
            "cluster_name": "bad",
            "collection_ids": ["c"],
            "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 0}},
        },
    )
    assert response.status_code == 422, response.text
    assert "n_clusters" in response.json()["detail"]
    unknown = api.post(
        "/v1/clusters",
        json={"cluster_name": "bad2", "collection_ids": ["c"], "vector_config": {"clustering_method": "kmeens"}},
    )
    assert unknown.status_code == 422 and "kmeans" in unknown.json()["detail"]
    listed = ok(api.post("/v1/clusters/list", json={}))
    assert listed["total_count"] == 0, "nothing half-created"


def slow_cluster(api: httpx.Client) -> dict[str, Any]:
    """A cluster whose run takes several seconds even on a quiet machine: k-means with the most restarts
    allowed (100) over twelve thousand points."""
    upload_collection(api, "slow", blob_documents(SLOW_POINTS, dims=16, centres=4))
    params = {"n_clusters": 40, "n_init": 100, "random_state": 1}
    return create_cluster(
        api, "slow-kmeans", "slow", vector_config={"clustering_method": "kmeans", "algorithm_params": params}
    )


SLOW_POINTS = 12000


def compute_pid(server: BackgroundServer, run_id: str) -> int | None:
    """The process computing a run (the worker records 'host:server-pid:process-pid' on its lease)."""
    with server.engine.connect() as conn:
        worker = conn.execute(select(executions.c.worker_id).where(executions.c.run_id == run_id)).scalar()
    parts = (worker or "").split(":")
    return int(parts[2]) if len(parts) == 3 else None


def test_canceling_a_processing_run_ends_its_process_within_seconds(
    api: httpx.Client, runner_server: BackgroundServer
) -> None:
    cluster = slow_cluster(api)
    run_id = execute(api, cluster["cluster_id"])["run_id"]
    wait_for(api, cluster["cluster_id"], run_id, lambda r: compute_pid(runner_server, run_id) is not None, 60)
    pid = compute_pid(runner_server, run_id)
    assert pid is not None
    canceled = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/{run_id}/cancel"))
    assert canceled["status"] == "canceled" and canceled["completed_at"] is not None
    deadline = time.monotonic() + 10
    while _alive(pid):
        assert time.monotonic() < deadline, "the canceled run's process is still computing"
        time.sleep(0.1)
    time.sleep(0.5)
    after = ok(api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{run_id}"))
    assert after["status"] == "canceled" and after["metrics"] is None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_run_process_is_retried_and_completes(api: httpx.Client, runner_server: BackgroundServer) -> None:
    cluster = slow_cluster(api)
    run_id = execute(api, cluster["cluster_id"])["run_id"]
    wait_for(api, cluster["cluster_id"], run_id, lambda r: compute_pid(runner_server, run_id) is not None, 60)
    pid = compute_pid(runner_server, run_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # ProcessLookupError here would mean the "slow" run already ended
    run = wait_for(api, cluster["cluster_id"], run_id, timeout=180)
    assert run["status"] == "completed", run.get("error_message")
    assert run["attempts"] == 2 and run["num_points"] == SLOW_POINTS


def test_a_pending_run_is_canceled_at_once(db_url: str) -> None:
    from clusterbook.settings import Settings

    with (
        BackgroundServer(Settings(database_url=db_url, secret_key="k")) as server,
        httpx.Client(base_url=server.url) as api,
    ):  # no workers: the run stays pending
        upload_collection(api, "c", blob_documents(10))
        cluster = create_cluster(api, "idle", "c")
        run = execute(api, cluster["cluster_id"])
        canceled = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}/cancel"))
        assert canceled["status"] == "canceled" and canceled["completed_at"] is not None


def test_a_run_over_the_time_limit_is_stopped_and_failed(db_url: str) -> None:
    from clusterbook.settings import Settings
    from tests.runner.conftest import FAST_RUNNER

    settings = Settings(database_url=db_url, secret_key="k", run_timeout_seconds=1.0, **FAST_RUNNER)  # type: ignore[arg-type]
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        cluster = slow_cluster(api)
        run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"], timeout=120)
        pid = compute_pid(server, run["run_id"])
    assert run["status"] == "failed" and run["attempts"] == 1
    assert "exceeded the time limit of 1 s" in run["error_message"]
    assert pid is not None and not _alive(pid), "the run's process was ended"


def test_stopping_the_workers_puts_a_running_run_back_without_charging_an_attempt(db_url: str) -> None:
    from clusterbook.settings import Settings
    from clusterbook.store.db import make_engine
    from tests.runner.conftest import FAST_RUNNER

    settings = Settings(database_url=db_url, secret_key="k", **FAST_RUNNER)  # type: ignore[arg-type]
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        cluster = slow_cluster(api)
        run_id = execute(api, cluster["cluster_id"])["run_id"]
        wait_for(api, cluster["cluster_id"], run_id, lambda r: compute_pid(server, run_id) is not None, 60)
        pid = compute_pid(server, run_id)
    # the server and its workers have stopped: the run waits in the queue for the next worker
    engine = make_engine(db_url)
    with engine.connect() as conn:
        status, attempts, token = conn.execute(
            select(executions.c.status, executions.c.attempts, executions.c.attempt_token).where(
                executions.c.run_id == run_id
            )
        ).one()
    engine.dispose()
    assert (status, attempts, token) == ("pending", 0, None)
    assert pid is not None and not _alive(pid)
