"""``POST /v1/clusters/{id}/executions/trends``: the history in hour/day/week buckets, aggregated in
the database with the listing's own filters and search; figures checked against hand-computed values
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_invalid, assert_problem, ok_list
from tests.factories import BASE_TIME, make_cluster, make_runs

T = BASE_TIME  # 2026-01-01 00:00 UTC, a Thursday


def run(
    status: str, at: timedelta, duration_ms: float | None = None, sil: float | None = None, k: int = 0, **extra: Any
):
    created = T + at
    fields: dict[str, Any] = {"status": status, "created_at": created, "num_clusters": k, "num_points": 100, **extra}
    if duration_ms is not None:
        fields["completed_at"] = created + timedelta(milliseconds=duration_ms)
        fields["duration_ms"] = duration_ms
    if sil is not None:
        fields["metrics"] = {"silhouette_score": sil, "davies_bouldin_index": 1.0, "calinski_harabasz_score": 10.0}
    return fields


HISTORY = [
    run(
        "completed",
        timedelta(hours=1),
        1000,
        0.5,
        3,
        centroids=[{"cluster_id": "cl_0", "num_members": 100, "label": "Billing"}],
    ),
    run("completed", timedelta(hours=2, minutes=30), 3000, 0.7, 5),
    run("failed", timedelta(hours=5), 2000, error_message="Out of memory"),
    run("canceled", timedelta(hours=6), 500),
    run("completed", timedelta(days=2, hours=23, minutes=30), 4000, 0.1, 2),
    run("pending", timedelta(days=2, hours=23, minutes=45)),
    run("failed", timedelta(days=5, hours=10), 6000, error_message="Timed out"),
]


@pytest.fixture
def cluster(session_factory):
    found = make_cluster(session_factory)
    make_runs(session_factory, found, HISTORY)
    return found


def trends(http: httpx.Client, cluster_id: str, body: Any = None) -> httpx.Response:
    return http.post(f"/v1/clusters/{cluster_id}/executions/trends", json={} if body is None else body)


def ok_trends(http: httpx.Client, cluster_id: str, body: Any = None) -> dict[str, Any]:
    response = trends(http, cluster_id, body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def by_start(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["start"]: b for b in data["buckets"]}


EMPTY = {
    "total": 0,
    "by_status": {},
    "avg_duration_ms": None,
    "p50_duration_ms": None,
    "avg_silhouette_score": None,
    "avg_num_clusters": None,
}


def test_daily_buckets_count_by_status_and_average_in_the_database(http, cluster):
    data = ok_trends(http, cluster.cluster_id, {"bucket": "day"})
    assert data["bucket"] == "day" and data["utc_offset_minutes"] == 0
    assert data["total_count"] == len(HISTORY)
    assert [b["start"] for b in data["buckets"]] == [f"2026-01-0{d}T00:00:00Z" for d in range(1, 7)]
    days = by_start(data)
    first = days["2026-01-01T00:00:00Z"]
    assert first["total"] == 4
    assert first["by_status"] == {"completed": 2, "failed": 1, "canceled": 1}
    # durations of completed and failed runs only (1000, 3000, 2000): the canceled 500 does not count
    assert first["avg_duration_ms"] == pytest.approx(2000.0)
    assert first["p50_duration_ms"] == pytest.approx(2000.0)
    assert first["avg_silhouette_score"] == pytest.approx(0.6)
    assert first["avg_num_clusters"] == pytest.approx(4.0)
    assert {k: v for k, v in days["2026-01-02T00:00:00Z"].items() if k != "start"} == EMPTY
    third = days["2026-01-03T00:00:00Z"]
    assert third["by_status"] == {"completed": 1, "pending": 1}
    assert third["avg_duration_ms"] == pytest.approx(4000.0)
    assert third["avg_silhouette_score"] == pytest.approx(0.1)
    last = days["2026-01-06T00:00:00Z"]
    assert last["by_status"] == {"failed": 1}
    assert last["p50_duration_ms"] == pytest.approx(6000.0)
    assert last["avg_silhouette_score"] is None and last["avg_num_clusters"] is None


def test_weekly_buckets_start_on_monday_and_the_median_of_an_even_count_is_the_mean_of_the_middle_two(http, cluster):
    data = ok_trends(http, cluster.cluster_id, {"bucket": "week"})
    assert [b["start"] for b in data["buckets"]] == ["2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"]
    week = data["buckets"][0]
    assert week["total"] == 6
    # finished durations 1000, 3000, 2000, 4000 → median (2000 + 3000) / 2
    assert week["p50_duration_ms"] == pytest.approx(2500.0)
    assert week["avg_duration_ms"] == pytest.approx(2500.0)
    assert data["buckets"][1]["by_status"] == {"failed": 1}


def test_hourly_buckets_fill_the_gaps_between_the_first_and_the_last_run(http, cluster):
    data = ok_trends(http, cluster.cluster_id, {"bucket": "hour"})
    starts = [b["start"] for b in data["buckets"]]
    assert starts[0] == "2026-01-01T01:00:00Z"
    assert starts[-1] == "2026-01-06T10:00:00Z"
    assert len(starts) == 5 * 24 + 10  # every hour from 01:00 on day one to 10:00 on day six
    hours = by_start(data)
    assert hours["2026-01-01T02:00:00Z"]["by_status"] == {"completed": 1}
    assert hours["2026-01-01T03:00:00Z"]["total"] == 0
    assert hours["2026-01-03T23:00:00Z"]["by_status"] == {"completed": 1, "pending": 1}
    assert sum(b["total"] for b in data["buckets"]) == len(HISTORY)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        # UTC+2: the two runs late on Jan 3 (UTC) fall on Jan 4
        (120, {"2026-01-01T00:00:00+02:00": 4, "2026-01-04T00:00:00+02:00": 2, "2026-01-06T00:00:00+02:00": 1}),
        # UTC-5: the runs at 01:00 and 02:30 UTC are still Dec 31
        (-300, {"2025-12-31T00:00:00-05:00": 2, "2026-01-01T00:00:00-05:00": 2, "2026-01-03T00:00:00-05:00": 2,
                "2026-01-06T00:00:00-05:00": 1}),
    ],
)  # fmt: skip
def test_days_begin_at_the_callers_midnight(http, cluster, offset, expected):
    data = ok_trends(http, cluster.cluster_id, {"bucket": "day", "utc_offset_minutes": offset})
    assert data["utc_offset_minutes"] == offset
    totals = {b["start"]: b["total"] for b in data["buckets"] if b["total"]}
    assert totals == expected


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"status": "completed"}},
        {"filters": {"operator": "AND", "conditions": [
            {"field": "created_at", "operator": "gte", "value": "2026-01-01T02:00:00Z"},
            {"field": "created_at", "operator": "lt", "value": "2026-01-04T00:00:00Z"}]}},
        {"filters": {"metrics.silhouette_score": {"gte": 0.5}}},
        {"search": "memory"},
        {"search": "billing"},
        {"filters": {"status": {"in": ["failed", "canceled"]}}, "search": "out"},
    ],
)  # fmt: skip
def test_trends_cover_exactly_the_runs_the_listing_shows(http, cluster, body):
    listing = ok_list(http, cluster.cluster_id, {**body, "stats_scope": "all"})
    data = ok_trends(http, cluster.cluster_id, {**body, "bucket": "day"})
    assert data["total_count"] == listing["total_count"] > 0
    merged: dict[str, int] = {}
    for bucket in data["buckets"]:
        for status, count in bucket["by_status"].items():
            merged[status] = merged.get(status, 0) + count
    assert merged == listing["stats"]["executions_by_status"]


def test_completed_filter_leaves_only_completed_runs_per_day(http, cluster):
    data = ok_trends(http, cluster.cluster_id, {"filters": {"status": "completed"}})
    assert [(b["start"], b["total"]) for b in data["buckets"]] == [
        ("2026-01-01T00:00:00Z", 2),
        ("2026-01-02T00:00:00Z", 0),
        ("2026-01-03T00:00:00Z", 1),
    ]


def test_a_cluster_without_runs_has_no_buckets(http, session_factory):
    empty = make_cluster(session_factory)
    assert ok_trends(http, empty.cluster_id) == {
        "bucket": "day",
        "utc_offset_minutes": 0,
        "buckets": [],
        "total_count": 0,
    }
    assert ok_trends(http, empty.cluster_id, {"search": "nothing"})["buckets"] == []


def test_a_span_too_long_for_the_bucket_asks_for_a_wider_one(http, session_factory):
    long = make_cluster(session_factory)
    make_runs(session_factory, long, [run("completed", timedelta(0), 10), run("completed", timedelta(days=300), 10)])
    assert_invalid(trends(http, long.cluster_id, {"bucket": "hour"}), "bucket", "wider bucket")
    assert len(ok_trends(http, long.cluster_id, {"bucket": "day"})["buckets"]) == 301


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        ({"bucket": "month"}, "bucket", "hour"),
        ({"utc_offset_minutes": 15 * 60}, "utc_offset_minutes", "840"),
        ({"sort": {"field": "created_at"}}, "body", "no sort"),
        ({"stats_scope": "all"}, "body", "unknown request body key 'stats_scope'"),
    ],
)
def test_bad_requests_name_the_problem(http, cluster, body, loc, fragment):
    assert_invalid(trends(http, cluster.cluster_id, body), loc, fragment)


def test_filters_are_checked_by_the_compiler(http, cluster):
    response = trends(
        http,
        cluster.cluster_id,
        {"filters": {"operator": "AND", "conditions": [{"field": "nope", "operator": "eq", "value": 1}]}},
    )
    assert_invalid(response, "filters.conditions[0].field", "unknown field 'nope'", code="invalid_filter")


def test_unknown_cluster_and_other_namespaces_are_not_found(http, cluster):
    assert_problem(trends(http, "clust_missing"), 404, "not_found")
    assert http.post("/v1/namespaces", json={"namespace_name": "other"}).status_code == 201
    response = http.post(
        f"/v1/clusters/{cluster.cluster_id}/executions/trends", json={}, headers={"X-Namespace": "other"}
    )
    assert_problem(response, 404, "not_found")
