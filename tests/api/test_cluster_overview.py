"""``POST /v1/clusters/overview``: run counts by status, latest run and latest completed run of a page
of clusters (the dashboard's cluster list), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from tests.api.helpers import assert_invalid, assert_problem
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_runs


def overview(http, ids, headers=None):
    return http.post("/v1/clusters/overview", json={"cluster_ids": ids}, headers=headers)


def test_counts_latest_and_latest_completed_per_cluster(http, session_factory):
    busy = make_cluster(session_factory)
    idle = make_cluster(session_factory)
    run_ids = make_runs(
        session_factory,
        busy,
        [
            completed_fields(1),
            {**completed_fields(2), "status": "failed", "error_message": "boom", "metrics": None, "centroids": None},
            completed_fields(3, metrics={"silhouette_score": 0.62}),
            {"status": "pending", "created_at": BASE_TIME + timedelta(minutes=4)},
        ],
    )
    response = overview(http, [idle.cluster_id, busy.cluster_id])
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first == {
        "cluster_id": idle.cluster_id,
        "run_count": 0,
        "runs_by_status": {},
        "latest_run": None,
        "latest_completed_run": None,
    }
    assert second["cluster_id"] == busy.cluster_id
    assert second["run_count"] == 4
    assert second["runs_by_status"] == {"completed": 2, "failed": 1, "pending": 1}
    assert second["latest_run"]["run_id"] == run_ids[3]
    assert second["latest_run"]["status"] == "pending"
    assert second["latest_completed_run"]["run_id"] == run_ids[2]
    assert second["latest_completed_run"]["metrics"]["silhouette_score"] == pytest.approx(0.62)


def test_unknown_ids_and_other_namespaces_are_left_out_in_request_order(http, session_factory):
    mine = [make_cluster(session_factory) for _ in range(3)]
    theirs = make_cluster(session_factory, namespace="elsewhere")
    ids = [mine[2].cluster_id, "clust_unknown", theirs.cluster_id, mine[0].cluster_id, mine[2].cluster_id]
    results = overview(http, ids).json()["results"]
    assert [r["cluster_id"] for r in results] == [mine[2].cluster_id, mine[0].cluster_id]
    elsewhere = overview(http, ids, headers={"X-Namespace": "elsewhere"}).json()["results"]
    assert [r["cluster_id"] for r in elsewhere] == [theirs.cluster_id]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, "cluster_ids"),
        ({"cluster_ids": []}, "cluster_ids"),
        ({"cluster_ids": [f"clust_{i}" for i in range(101)]}, "cluster_ids"),
        ({"cluster_ids": [1, 2]}, "cluster_ids[0]"),
        ({"cluster_ids": ["clust_a"], "extra": True}, "extra"),
    ],
)
def test_bad_bodies_are_refused(http, body, loc):
    assert_invalid(http.post("/v1/clusters/overview", json=body), loc)


def test_unknown_namespace_is_not_found(http):
    assert_problem(overview(http, ["clust_a"], headers={"X-Namespace": "nope"}), 404, "not_found")


def test_the_cluster_named_overview_is_still_reachable(http, session_factory):
    named = make_cluster(session_factory, cluster_name="overview")
    assert http.get("/v1/clusters/overview").json()["cluster_id"] == named.cluster_id


def test_statements_do_not_grow_with_the_clusters_asked(http, live_server, session_factory):
    """A page of 100 clusters costs the same few statements as one (no probe per cluster)."""
    clusters = [make_cluster(session_factory) for _ in range(6)]
    for i, cluster in enumerate(clusters):
        make_runs(session_factory, cluster, [completed_fields(i + 1), {"status": "pending", "created_at": BASE_TIME}])
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    def statements_for(ids: list[str]) -> int:
        seen.clear()
        event.listen(live_server.engine, "before_cursor_execute", count)
        try:
            response = overview(http, ids)
        finally:
            event.remove(live_server.engine, "before_cursor_execute", count)
        assert response.status_code == 200, response.text
        assert [r["latest_completed_run"]["status"] for r in response.json()["results"]] == ["completed"] * len(ids)
        return len(seen)

    assert statements_for([c.cluster_id for c in clusters]) == statements_for([clusters[0].cluster_id])
