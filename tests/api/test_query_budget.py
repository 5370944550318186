"""The read budget over real HTTP on both databases: a query past CLUSTERBOOK_QUERY_TIMEOUT is
stopped with a 422 that names the expensive part, the server's connections stay usable, writes are
never cut short, and a client that disconnects stops its query."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from clusterbook.api.background import BackgroundServer
from clusterbook.models.clusters import Cluster
from clusterbook.settings import Settings
from tests.api.helpers import assert_problem, list_path
from tests.factories import completed_fields, make_cluster, make_collection, make_runs

BIG_TEXT = 200_000
"""Characters of each run's error message: 100 contains conditions then scan gigabytes per query
(tens of seconds unbudgeted on either database)."""
COUNT_TO = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT count(*) FROM c"
"""A statement of a million steps or so: interrupted at once on a connection left with a spent budget."""


def hostile_filter(count: int = 100) -> dict[str, Any]:
    """``count`` OR-ed contains on error_message that match nothing, yet every trigram of each is in
    every row (a word ending in 3 is never followed by one ending in other than 4): no index can
    rule a row out, so every row is scanned for each."""
    values = [f"3 zq{i:06d}" for i in range(10 * count) if i % 10 != 4][:count]
    return {"filters": {"OR": [{"field": "error_message", "operator": "contains", "value": v} for v in values]}}


@pytest.fixture
def heavy_cluster(session_factory) -> Cluster:
    cluster = make_cluster(session_factory)
    # distinct words that each begin like the conditions' values: every one is a partial match to
    # test, and none is deduplicated out of the search text
    text = " ".join(f"zq{j:06d}" for j in range(BIG_TEXT // 9))
    make_runs(session_factory, cluster, [completed_fields(i, status="failed", error_message=text) for i in range(100)])
    return cluster


def serve(db_url: str, **settings: Any) -> BackgroundServer:
    return BackgroundServer(Settings(database_url=db_url, secret_key="test-signing-key", **settings))


@pytest.fixture
def tight(db_url: str) -> Iterator[BackgroundServer]:
    with serve(db_url, query_timeout=0.5) as server:
        yield server


def test_a_query_past_the_budget_is_stopped_with_a_problem_naming_the_expensive_part(tight, heavy_cluster):
    with httpx.Client(base_url=tight.url, timeout=60) as http:
        response = http.post(list_path(heavy_cluster.cluster_id), json=hostile_filter())
        body = assert_problem(response, 422, "query_timeout")
        detail = body["detail"]
        assert "0.5 s" in detail and "CLUSTERBOOK_QUERY_TIMEOUT" in detail
        assert "100 text condition(s)" in detail and "error_message" in detail  # which part costs
        assert "created_at range" in detail and "fewer text conditions" in detail  # how to narrow it
        # the same for the trends, which take the listing's filters
        trends = http.post(f"/v1/clusters/{heavy_cluster.cluster_id}/executions/trends", json=hostile_filter())
        assert "error_message" in assert_problem(trends, 422, "query_timeout")["detail"]
        # a cheap read of the same history still answers within the budget
        cheap = http.post(
            list_path(heavy_cluster.cluster_id), json={"filters": {"status": "failed"}}, params={"page_size": 1}
        )
        assert cheap.status_code == 200 and cheap.json()["total_count"] == 100


def test_stats_scope_all_and_deep_offsets_are_named_when_they_cost(tight, heavy_cluster):
    with httpx.Client(base_url=tight.url, timeout=60) as http:
        body = {**hostile_filter(), "stats_scope": "all", "search": "zq000 zq"}
        response = http.post(list_path(heavy_cluster.cluster_id), json=body, params={"offset": 5000})
        detail = assert_problem(response, 422, "query_timeout")["detail"]
        assert "stats_scope 'all'" in detail and "use stats_scope 'page'" in detail
        assert "2 search term(s), 1 shorter than 3 characters" in detail
        assert "offset 5000" in detail and "pagination.next_cursor" in detail


def test_connections_are_clean_after_a_stopped_query(tight, heavy_cluster):
    with httpx.Client(base_url=tight.url, timeout=60) as http:
        for _ in range(3):
            assert_problem(http.post(list_path(heavy_cluster.cluster_id), json=hostile_filter()), 422, "query_timeout")
        for _ in range(20):  # more requests than the pool holds connections
            ok = http.post(list_path(heavy_cluster.cluster_id), json={}, params={"page_size": 2})
            assert ok.status_code == 200 and ok.json()["total_count"] == 100
    pool = tight.engine.pool
    held = [tight.engine.connect() for _ in range(max(pool.checkedin(), 1))]  # every pooled connection
    try:
        for conn in held:
            # a progress handler or statement_timeout left behind would stop this long statement
            assert conn.execute(sa.text(COUNT_TO)).scalar_one() == 200000
            if conn.dialect.name == "postgresql":
                assert conn.execute(sa.text("SHOW statement_timeout")).scalar_one() == "0"
            conn.rollback()
    finally:
        for conn in held:
            conn.close()


def test_writes_are_not_held_to_the_read_budget(db_url, session_factory):
    collection = make_collection(session_factory)
    documents = [{"document_id": f"d{i}", "text": f"document number {i} " * 20, "metadata": {"i": i}}
                 for i in range(3000)]  # fmt: skip
    with serve(db_url, query_timeout=0.001) as server, httpx.Client(base_url=server.url, timeout=120) as http:
        response = http.post(f"/v1/collections/{collection.collection_id}/documents", json={"documents": documents})
        assert response.status_code == 200, response.text
    with session_factory() as session:
        stored = session.execute(sa.text("SELECT count(*) FROM documents")).scalar_one()
    assert stored == 3000


def _running_listings(server: BackgroundServer) -> int:
    """Statements of the listing still running: on PostgreSQL as the server sees them, and on both
    databases as connections the app has not given back to its pool."""
    busy = server.engine.pool.checkedout()
    if server.engine.dialect.name != "postgresql":
        return int(busy)
    with server.engine.connect() as conn:
        active = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                "AND pid <> pg_backend_pid() AND query ILIKE '%error_message%'"
            )
        ).scalar_one()
    return int(active) + int(busy)


def test_a_client_that_disconnects_stops_its_query_and_health_keeps_answering(db_url, heavy_cluster):
    with serve(db_url, query_timeout=300) as server:  # only the disconnect can stop these queries
        gone: list[str] = []

        def impatient() -> None:
            try:
                httpx.post(server.url + list_path(heavy_cluster.cluster_id), json=hostile_filter(), timeout=1.0)
            except httpx.TimeoutException:
                gone.append("gave up")

        clients = [threading.Thread(target=impatient) for _ in range(3)]
        for client in clients:
            client.start()
        time.sleep(0.5)
        health = httpx.get(server.url + "/healthz", timeout=5)  # answers while the hostile queries run
        assert health.status_code == 200
        for client in clients:
            client.join()
        assert gone == ["gave up"] * 3
        stopped_at = time.monotonic() + 8  # a deadline to stop waiting, not a speed goal
        while _running_listings(server) and time.monotonic() < stopped_at:
            time.sleep(0.1)
        assert _running_listings(server) == 0
        ok = httpx.post(server.url + list_path(heavy_cluster.cluster_id), json={}, params={"page_size": 1}, timeout=30)
        assert ok.status_code == 200 and ok.json()["total_count"] == 100
