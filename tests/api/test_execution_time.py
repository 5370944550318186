"""A run's duration is its execution time (completed_at - started_at), not its time in the queue: the
listing's stats (page and ``stats_scope: "all"``) and the trends average it, and ``queue_ms`` carries the
wait beside it — on SQLite and PostgreSQL over real HTTP."""

from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import ok_list
from tests.factories import BASE_TIME, make_cluster, make_runs

# (queued s, ran s): the case is a 1.4 s DBSCAN run that waited almost two minutes
RUNS = [(110.6, 1.4), (5.0, 3.0), (0.0, 7.6)]


def _history(session_factory):  # noqa: ANN001, ANN202 - test helper
    cluster = make_cluster(session_factory)
    specs = []
    for n, (queued, ran) in enumerate(RUNS):
        created = BASE_TIME + timedelta(minutes=n)
        started = created + timedelta(seconds=queued)
        specs.append(
            {
                "run_id": f"run_Time{n:02d}",
                "status": "completed",
                "created_at": created,
                "started_at": started,
                "completed_at": started + timedelta(seconds=ran),
                "num_clusters": 2,
                "num_points": 10,
            }
        )
    # canceled before it started: no execution time, and canceled runs never count in the averages
    specs.append(
        {
            "run_id": "run_TimeCxl",
            "status": "canceled",
            "created_at": BASE_TIME,
            "completed_at": BASE_TIME + timedelta(hours=1),
        }
    )
    make_runs(session_factory, cluster, specs)
    return cluster


def test_the_listing_reports_execution_time_and_queue_time(http, session_factory) -> None:
    cluster = _history(session_factory)
    mean_ms = sum(ran for _, ran in RUNS) / len(RUNS) * 1000
    for scope in ("page", "all"):
        data = ok_list(http, cluster.cluster_id, {"stats_scope": scope})
        assert abs(data["stats"]["avg_execution_time_ms"] - mean_ms) < 1e-6, scope
    by_id = {r["run_id"]: r for r in ok_list(http, cluster.cluster_id)["results"]}
    assert abs(by_id["run_Time00"]["duration_ms"] - 1400) < 1e-6
    assert abs(by_id["run_Time00"]["queue_ms"] - 110_600) < 1e-6
    assert by_id["run_TimeCxl"]["duration_ms"] is None and by_id["run_TimeCxl"]["queue_ms"] is None
    one = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/run_Time00").json()
    assert (one["duration_ms"], one["queue_ms"]) == (
        by_id["run_Time00"]["duration_ms"],
        by_id["run_Time00"]["queue_ms"],
    )
    # the longest wait is not the longest run
    slowest = ok_list(http, cluster.cluster_id, {"sort": {"field": "duration", "direction": "desc"}})["results"]
    longest_wait = ok_list(http, cluster.cluster_id, {"sort": {"field": "queue_ms", "direction": "desc"}})["results"]
    assert [r["run_id"] for r in slowest] == ["run_Time02", "run_Time01", "run_Time00", "run_TimeCxl"]
    assert [r["run_id"] for r in longest_wait] == ["run_Time00", "run_Time01", "run_Time02", "run_TimeCxl"]


def test_trends_average_execution_time(http, session_factory) -> None:
    cluster = _history(session_factory)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/trends", json={"bucket": "day"})
    assert response.status_code == 200, response.text
    (bucket,) = [b for b in response.json()["buckets"] if b["avg_duration_ms"] is not None]
    assert abs(bucket["avg_duration_ms"] - sum(ran for _, ran in RUNS) / len(RUNS) * 1000) < 1e-6
    assert abs(bucket["p50_duration_ms"] - 3000) < 1e-6
