"""End to end: the scheduler beside a live server's worker pool fires a due schedule created over
HTTP, the worker computes the run it started, and the run, the schedule's firing log and the
history filter all say what started it. Time passes by moving the schedule's slot into the past
(the one write a clock would make), not by sleeping an interval."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from clusterbook.store.tables import schedules
from tests.client.conftest import blobs
from tests.runner.conftest import FAST_RUNNER, create_cluster, ok, upload_collection, wait_for


@pytest.fixture
def scheduling_server(db_url: str) -> Iterator[BackgroundServer]:
    settings = Settings(database_url=db_url, secret_key="test", scheduler_seconds=0.2, **FAST_RUNNER)  # type: ignore[arg-type]
    with BackgroundServer(settings, workers=1) as server:
        yield server


def test_a_due_schedule_runs_the_cluster_through_the_worker(scheduling_server: BackgroundServer) -> None:
    with httpx.Client(base_url=scheduling_server.url, timeout=60) as api:
        collection = upload_collection(api, "points", blobs(60))
        cluster = create_cluster(api, "points", collection, vector_config={"algorithm_params": {"n_clusters": 3}})
        cid = cluster["cluster_id"]
        made = ok(api.post(f"/v1/clusters/{cid}/schedules", json={"interval_seconds": 3600,
                                                                   "execute": {"run_name": "hourly"}}), 201)  # fmt: skip
        sid = made["schedule_id"]
        time.sleep(0.6)  # a few scheduler ticks: nothing is due yet
        assert ok(api.get(f"/v1/clusters/{cid}/schedules/{sid}/firings"))["total_count"] == 0

        with scheduling_server.engine.begin() as conn:  # an hour passes
            conn.execute(update(schedules).values(next_fire_at=datetime.now(UTC) - timedelta(seconds=1)))
        deadline = time.monotonic() + 30
        while not (firings := ok(api.get(f"/v1/clusters/{cid}/schedules/{sid}/firings"))["results"]):
            assert time.monotonic() < deadline, "the scheduler never fired the due schedule"
            time.sleep(0.1)
        [firing] = firings
        run = wait_for(api, cid, firing["run_id"])
        assert run["status"] == "completed", run
        assert run["trigger"] == f"schedule:{sid}" and run["run_name"] == "hourly" and run["num_clusters"] == 3
        listed = ok(api.post(f"/v1/clusters/{cid}/executions/list", json={"filters": {"trigger": f"schedule:{sid}"}}))
        assert [r["run_id"] for r in listed["results"]] == [run["run_id"]]
        after = ok(api.get(f"/v1/clusters/{cid}/schedules/{sid}"))
        assert after["last_run_id"] == run["run_id"]
        assert datetime.fromisoformat(after["next_fire_at"]) > datetime.now(UTC) + timedelta(minutes=50)
