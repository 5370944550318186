"""``group_by`` on ``POST …/executions/trends``: the same buckets per value of status, algorithm or a
``config.*`` field, aligned with the overall buckets, over real HTTP on SQLite and PostgreSQL, with
figures written by hand; the contract's shape is unchanged when ``group_by`` is absent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clusterbook.store.executions import execution_values, insert_executions
from clusterbook.store.groups import MAX_GROUPS
from clusterbook.store.trends import MAX_GROUP_CELLS
from tests.api.helpers import assert_invalid
from tests.api.test_trends_routes import EMPTY, T, ok_trends, run, trends
from tests.factories import make_cluster, make_runs


def kmeans(k: int) -> dict[str, Any]:
    return {"algorithm": "kmeans", "config": {"algorithm": "kmeans", "params": {"n_clusters": k}, "random_state": 0}}


HDBSCAN = {"algorithm": "hdbscan", "config": {"algorithm": "hdbscan", "params": {"min_cluster_size": 5}}}
HISTORY = [
    run("completed", timedelta(hours=1), 1000, 0.5, 3, **kmeans(3)),  # Jan 1
    run("completed", timedelta(hours=2, minutes=30), 3000, 0.7, 5, **kmeans(5)),  # Jan 1
    run("failed", timedelta(hours=5), 2000, **kmeans(3)),  # Jan 1
    run("completed", timedelta(days=2, hours=23, minutes=30), 4000, 0.1, 2, **HDBSCAN),  # Jan 3
    run("pending", timedelta(days=2, hours=23, minutes=45)),  # Jan 3: no algorithm, no config
    run("failed", timedelta(days=5, hours=10), 6000, **kmeans(5)),  # Jan 6
]
DAYS = [f"2026-01-0{d}T00:00:00Z" for d in range(1, 7)]


@pytest.fixture
def cluster(session_factory):
    found = make_cluster(session_factory)
    make_runs(session_factory, found, HISTORY)
    return found


def groups_of(data: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {g["key"]: g for g in data["groups"]}


def test_without_group_by_the_trends_keep_the_contract_shape(http, cluster):
    data = ok_trends(http, cluster.cluster_id)
    assert set(data) == {"bucket", "utc_offset_minutes", "buckets", "total_count"}


def test_group_by_a_parameter_splits_each_bucket(http, cluster):
    data = ok_trends(http, cluster.cluster_id, {"group_by": "config.params.n_clusters"})
    assert set(data) == {"bucket", "utc_offset_minutes", "buckets", "total_count", "groups"}
    assert [g["key"] for g in data["groups"]] == [3, 5, None]  # nulls last: runs without n_clusters
    groups = groups_of(data)
    for group in data["groups"]:  # every group on the overall time axis
        assert [b["start"] for b in group["buckets"]] == DAYS == [b["start"] for b in data["buckets"]]
    three = groups[3]["buckets"]
    assert three[0] == {
        "start": DAYS[0],
        "total": 2,
        "by_status": {"completed": 1, "failed": 1},
        "avg_duration_ms": 1500.0,
        "p50_duration_ms": 1500.0,
        "avg_silhouette_score": 0.5,
        "avg_num_clusters": 3.0,
    }
    assert all(b == {"start": b["start"], **EMPTY} for b in three[1:])
    assert groups[3]["total_count"] == 2
    five = groups[5]["buckets"]
    assert (five[0]["total"], five[0]["avg_duration_ms"], five[0]["avg_num_clusters"]) == (1, 3000.0, 5.0)
    assert five[5]["by_status"] == {"failed": 1} and five[5]["avg_duration_ms"] == 6000.0
    none = groups[None]["buckets"][2]
    assert none["by_status"] == {"completed": 1, "pending": 1}
    assert (none["avg_duration_ms"], none["avg_silhouette_score"]) == (4000.0, pytest.approx(0.1))
    # the overall buckets are exactly those without group_by
    assert data["buckets"] == ok_trends(http, cluster.cluster_id)["buckets"]
    assert sum(g["total_count"] for g in data["groups"]) == data["total_count"] == 6


@pytest.mark.parametrize("group_by", ["status", "algorithm", "config.algorithm"])
def test_each_group_is_the_trend_of_its_value(http, cluster, group_by):
    """A group's buckets equal the trends filtered to its value (where the filtered trends have a bucket)."""
    data = ok_trends(http, cluster.cluster_id, {"group_by": group_by})
    expected_keys = {
        "status": ["completed", "failed", "pending"],
        "algorithm": ["hdbscan", "kmeans", None],
        "config.algorithm": ["hdbscan", "kmeans", None],
    }[group_by]
    assert [g["key"] for g in data["groups"]] == expected_keys
    for group in data["groups"]:
        if group["key"] is None:
            continue
        alone = ok_trends(http, cluster.cluster_id, {"filters": {group_by: group["key"]}})
        assert group["total_count"] == alone["total_count"]
        mine = {b["start"]: b for b in group["buckets"]}
        for b in alone["buckets"]:
            assert mine[b["start"]] == b


def test_group_by_follows_the_filters_and_the_bucket(http, cluster):
    body = {"group_by": "algorithm", "bucket": "week", "filters": {"status": "completed"}}
    data = ok_trends(http, cluster.cluster_id, body)
    assert [b["start"] for b in data["buckets"]] == ["2025-12-29T00:00:00Z"]  # the Monday before Jan 1
    assert {g["key"]: g["buckets"][0]["by_status"] for g in data["groups"]} == {
        "hdbscan": {"completed": 1},
        "kmeans": {"completed": 2},
    }


def test_no_runs_no_groups(http, session_factory):
    empty = make_cluster(session_factory)
    assert ok_trends(http, empty.cluster_id, {"group_by": "status"})["groups"] == []


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"group_by": "run_name"}, ("status, algorithm", "config.params.<name>")),
        ({"group_by": "config.nope"}, ("cannot group by",)),
        ({"group_by": 3}, ()),
    ],
)
def test_bad_group_by_is_a_422_naming_it(http, cluster, body, fragments):
    assert_invalid(trends(http, cluster.cluster_id, body), "group_by", *fragments)


def test_groups_and_cells_are_bounded(http, session_factory):
    """More than MAX_GROUPS values, or more than MAX_GROUP_CELLS groups × buckets: a 422 naming group_by."""
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            status="completed",
            created_at=T + timedelta(days=i),
            config={"algorithm": "kmeans", "params": {"n_clusters": i % 10 + 2}, "random_state": i},
        )
        for i in range(MAX_GROUPS + 1)
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    assert_invalid(trends(http, cluster.cluster_id, {"group_by": "config.random_state"}), "group_by", "more than")
    # ten groups over 100 days: fine as days, too many group-hours (yet few enough hours without groups)
    assert 10 * (100 * 24 + 1) > MAX_GROUP_CELLS >= 10 * 101
    by_day = ok_trends(http, cluster.cluster_id, {"group_by": "config.params.n_clusters"})
    assert [g["total_count"] for g in by_day["groups"]] == [11] + [10] * 9
    assert len(ok_trends(http, cluster.cluster_id, {"bucket": "hour"})["buckets"]) == 100 * 24 + 1
    hourly = {"group_by": "config.params.n_clusters", "bucket": "hour"}
    assert_invalid(trends(http, cluster.cluster_id, hourly), "group_by", f"{MAX_GROUP_CELLS} group-hours")
