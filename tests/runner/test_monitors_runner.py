"""When monitors are evaluated: by the worker as soon as a real run ends, and by the timer beside the
worker pool (with an injected clock, and as a real thread), on both databases."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.models.monitors import MAX_MONITORS_PER_CLUSTER, MonitorCreate
from clusterbook.runner.monitors import BATCH, MonitorTimer
from clusterbook.settings import Settings
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import create_monitor, list_monitors
from tests.factories import make_cluster, make_runs
from tests.runner.conftest import FAST_RUNNER, create_cluster, execute, ok, upload_collection, wait_for

QUIET = {"kind": "no_completed_run", "for_seconds": 3600}


@pytest.fixture
def no_timer_server(db_url: str) -> Iterator[BackgroundServer]:
    """Workers whose timer never ticks during the test: only a run's end can evaluate monitors."""
    settings = Settings(
        database_url=db_url,
        secret_key="test-signing-key",
        monitor_interval_seconds=3600,
        **FAST_RUNNER,  # type: ignore[arg-type]
    )
    with BackgroundServer(settings, workers=1) as server:
        yield server


def test_a_real_run_ending_evaluates_its_clusters_monitors_at_once(no_timer_server):
    with httpx.Client(base_url=no_timer_server.url, timeout=60) as api:
        upload_collection(api, "tiny", [{"document_id": "only", "vector": [1.0, 2.0]}])
        cluster = create_cluster(
            api, "c", "tiny", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}}
        )
        cid = cluster["cluster_id"]
        rule = {"kind": "failure_rate", "last_runs": 3, "above": 0.5}
        monitor = ok(api.post(f"/v1/clusters/{cid}/monitors", json={"name": "failures", "rule": rule}), 201)
        run = wait_for(api, cid, execute(api, cid)["run_id"])
        assert run["status"] == "failed", run  # one document cannot make three clusters
        path = f"/v1/clusters/{cid}/monitors/{monitor['monitor_id']}"
        deadline = time.monotonic() + 20
        while ok(api.get(path))["state"] != "alerting":
            assert time.monotonic() < deadline, ok(api.get(path))
            time.sleep(0.1)
        alerts = ok(api.get(f"{path}/alerts"))["results"]
        assert [a["event"] for a in alerts] == ["triggered"]
        assert alerts[0]["run_id"] == run["run_id"] and alerts[0]["observed"]["failed_runs"] == 1


def test_the_timer_fires_no_completed_run_by_its_clock_in_batches(engine, session_factory):
    writes = make_sessionmaker(engine, writes=True)
    clusters = [make_cluster(session_factory) for _ in range(3)]  # 150 monitors: more than one batch
    assert 3 * MAX_MONITORS_PER_CLUSTER > BATCH
    created = datetime.now(UTC)
    with writes() as session, session.begin():
        for cluster in clusters:
            for i in range(MAX_MONITORS_PER_CLUSTER):
                data = MonitorCreate.model_validate({"name": f"quiet {i}", "rule": QUIET})
                create_monitor(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, data=data)
    clock = [created + timedelta(minutes=59)]
    timer = MonitorTimer(writes, interval=3600, clock=lambda: clock[0])
    assert timer.tick() == 0
    clock[0] = created + timedelta(minutes=61)
    assert timer.tick() == 150  # every monitor, across the batches, once
    assert timer.tick() == 0  # still quiet: no second alert
    # one cluster completes a run: its monitors recover, the others stay alerting
    done = created + timedelta(minutes=62)
    make_runs(session_factory, clusters[0], [{"status": "completed", "created_at": done, "completed_at": done}])
    clock[0] = done + timedelta(minutes=1)
    assert timer.tick() == 0
    with session_factory() as session:
        states = [{m.state for m in list_monitors(session, cluster_id=c.cluster_id)} for c in clusters]
    assert states == [{"ok"}, {"alerting"}, {"alerting"}]
    clock[0] = done + timedelta(minutes=61)
    assert timer.tick() == 50  # the relapse of the first cluster's monitors


def test_the_timer_thread_evaluates_without_any_run_ending(engine, session_factory):
    cluster = make_cluster(session_factory)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    make_runs(session_factory, cluster, [{"status": "completed", "created_at": long_ago, "completed_at": long_ago}])
    writes = make_sessionmaker(engine, writes=True)
    with writes() as session, session.begin():
        data = MonitorCreate.model_validate({"name": "quiet", "rule": QUIET})
        create_monitor(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, data=data)
    timer = MonitorTimer(writes, interval=0.1).start()
    try:
        deadline = time.monotonic() + 20
        while True:
            with session_factory() as session:
                (monitor,) = list_monitors(session, cluster_id=cluster.cluster_id)
            if monitor.state == "alerting":
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        timer.stop()
    assert monitor.last_values is not None and monitor.last_values["quiet_seconds"] > 7000


def test_runs_the_reaper_failed_evaluate_their_clusters(engine, session_factory):
    from clusterbook.runner.monitors import after_runs

    clusters = [make_cluster(session_factory) for _ in range(2)]
    writes = make_sessionmaker(engine, writes=True)
    rule = {"kind": "failure_rate", "last_runs": 1, "above": 0.0}
    failed = []
    with writes() as session, session.begin():
        for cluster in clusters:
            data = MonitorCreate.model_validate({"name": "failures", "rule": rule})
            create_monitor(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, data=data)
    now = datetime.now(UTC)
    for cluster in clusters:
        failed += make_runs(session_factory, cluster, [{"status": "failed", "created_at": now, "completed_at": now}])
    assert after_runs(writes, failed) == 2  # one transition per cluster
    assert after_runs(writes, failed) == 0
