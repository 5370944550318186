"""``GET /metrics`` over real HTTP on both databases: it parses with prometheus_client's own text
parser and carries the right figures (runs by namespace and status, the execution-time histogram, the
queue, the workers' heartbeats, latency by route template), and it is protected once a key exists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from clusterbook.store.db import make_sessionmaker
from clusterbook.store.keys import create_api_key
from clusterbook.store.namespaces import ensure_namespace
from tests.api.helpers import assert_problem
from tests.factories import make_cluster, make_runs

LEASE_SECONDS = 30.0  # the Settings default the live server runs with


def scrape(http: Any, headers: dict[str, str] | None = None) -> dict[str, list[Any]]:
    """name → samples of every family, parsed by prometheus_client."""
    response = http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    matching = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, (name, labels, samples.get(name))
    return float(matching[0])


def finished(status: str, at: datetime, seconds: float) -> dict[str, Any]:
    return {"status": status, "created_at": at, "started_at": at, "completed_at": at + timedelta(seconds=seconds)}


def test_runs_durations_queue_and_workers_carry_the_right_values(http, session_factory):
    now = datetime.now(UTC)
    day = now - timedelta(days=1)
    mine = make_cluster(session_factory)
    other = make_cluster(session_factory, namespace="team-b")
    lease = now + timedelta(seconds=20)  # renewed 10 s ago with a 30 s lease
    make_runs(session_factory, mine, [
        finished("completed", day, 0.01), finished("completed", day, 2.0), finished("completed", day, 100.0),
        finished("failed", day, 0.5),
        {"status": "pending", "created_at": now - timedelta(hours=1)},
        {"status": "pending", "created_at": now - timedelta(minutes=5)},
        {"status": "processing", "created_at": day, "started_at": now, "worker_id": "hostA:41:900",
         "lease_expires_at": lease, "attempt_token": "t1"},
        {"status": "processing", "created_at": day, "started_at": now, "worker_id": "hostA:41:901",
         "lease_expires_at": lease - timedelta(seconds=5), "attempt_token": "t2"},
        {"status": "processing", "created_at": day, "started_at": now, "worker_id": "hostB:7",
         "lease_expires_at": now - timedelta(minutes=2), "attempt_token": "t3"},
    ])  # fmt: skip
    make_runs(session_factory, other, [finished("completed", day, 3.0), finished("canceled", day, 1.0)])

    m = scrape(http)
    assert value(m, "clusterbook_runs", namespace="default", status="completed") == 3
    assert value(m, "clusterbook_runs", namespace="default", status="failed") == 1
    assert value(m, "clusterbook_runs", namespace="default", status="pending") == 2
    assert value(m, "clusterbook_runs", namespace="default", status="processing") == 3
    assert value(m, "clusterbook_runs", namespace="team-b", status="completed") == 1
    assert value(m, "clusterbook_runs", namespace="team-b", status="canceled") == 1
    assert not [
        s for s in m["clusterbook_runs"] if s.labels["namespace"] == "team-b" and s.labels["status"] == "failed"
    ]

    hist = "clusterbook_execution_duration_seconds"
    assert value(m, f"{hist}_count", namespace="default") == 4  # the four finished runs have a duration
    assert value(m, f"{hist}_sum", namespace="default") == pytest.approx(102.51)
    assert value(m, f"{hist}_bucket", namespace="default", le="0.016") == 1  # 10 ms
    assert value(m, f"{hist}_bucket", namespace="default", le="0.256") == 1
    assert value(m, f"{hist}_bucket", namespace="default", le="0.512") == 2  # 0.5 s
    assert value(m, f"{hist}_bucket", namespace="default", le="1.024") == 2
    assert value(m, f"{hist}_bucket", namespace="default", le="2.048") == 3
    assert value(m, f"{hist}_bucket", namespace="default", le="65.536") == 3
    assert value(m, f"{hist}_bucket", namespace="default", le="131.072") == 4
    assert value(m, f"{hist}_bucket", namespace="default", le="+Inf") == 4
    assert value(m, f"{hist}_count", namespace="team-b") == 2

    assert value(m, "clusterbook_queue_depth") == 2
    assert 3600 <= value(m, "clusterbook_queue_oldest_pending_age_seconds") < 3600 + 120

    beat = "clusterbook_worker_last_heartbeat_timestamp_seconds"
    assert value(m, beat, worker="hostA:41") == pytest.approx(lease.timestamp() - LEASE_SECONDS, abs=0.01)
    assert value(m, "clusterbook_worker_runs", worker="hostA:41") == 2  # one pool, two runs in flight
    assert value(m, "clusterbook_worker_runs", worker="hostB:7") == 1
    assert value(m, "clusterbook_workers_busy") == 2
    assert value(m, "clusterbook_runs_lease_expired") == 1  # hostB stopped heartbeating


def test_an_empty_server_answers_zeros_not_errors(http):
    m = scrape(http)
    assert value(m, "clusterbook_queue_depth") == 0
    assert value(m, "clusterbook_queue_oldest_pending_age_seconds") == 0
    assert value(m, "clusterbook_workers_busy") == 0
    assert "clusterbook_runs" not in m


def test_request_latency_is_labelled_by_route_template(http, session_factory):
    clusters = [make_cluster(session_factory) for _ in range(3)]
    for cluster in clusters:
        assert http.get(f"/v1/clusters/{cluster.cluster_id}").status_code == 200
    assert http.get("/v1/clusters/clust_nothing").status_code == 404
    assert http.get("/no/such/path/at/all").status_code == 404
    m = scrape(http)
    name = "clusterbook_http_request_duration_seconds_count"
    assert value(m, name, method="GET", route="/v1/clusters/{cluster_id}", status="2xx") == 3
    assert value(m, name, method="GET", route="/v1/clusters/{cluster_id}", status="4xx") == 1
    assert value(m, name, method="GET", route="<unmatched>", status="4xx") == 1
    assert not [s for s in m[name] if clusters[0].cluster_id in s.labels["route"]]  # no raw paths
    buckets = [s for s in m["clusterbook_http_request_duration_seconds_bucket"] if s.labels["status"] == "2xx"]
    assert {s.labels["le"] for s in buckets} >= {"0.005", "1.0", "+Inf"}


def test_metrics_need_a_key_once_one_exists(http, session_factory):
    assert http.get("/metrics").status_code == 200  # open mode on loopback, like /v1
    with make_sessionmaker(session_factory.kw["bind"], writes=True)() as session, session.begin():
        ns = ensure_namespace(session, name="ops")
        _, secret = create_api_key(session, namespace_ids=[ns.namespace_id], name="prometheus")
    assert_problem(http.get("/metrics"), 401, "unauthorized")
    assert_problem(http.get("/metrics", headers={"Authorization": "Bearer cb_wrong"}), 401, "unauthorized")
    m = scrape(http, headers={"Authorization": f"Bearer {secret}"})
    assert "clusterbook_queue_depth" in m
