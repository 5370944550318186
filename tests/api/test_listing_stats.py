"""The listing's stats block: over the returned page by default (the contract), over the whole
filtered set with ``stats_scope: "all"``; the figures are checked against hand-computed values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import ZOO, assert_invalid, make_zoo, names, ok_list, post_list, zoo_value
from tests.factories import BASE_TIME, make_cluster, make_history, make_runs


def expected_stats(selected: list[str]) -> dict:
    """The contract's stats over some zoo runs, computed by hand from the zoo's values."""
    by_status: dict[str, int] = {}
    for name in selected:
        by_status[ZOO[name]["status"]] = by_status.get(ZOO[name]["status"], 0) + 1
    durations = [
        zoo_value(n, "duration") for n in selected if ZOO[n]["status"] in ("completed", "failed")
    ]  # canceled runs have a duration too, but do not count
    return {
        "total_executions": len(selected),
        "executions_by_status": by_status,
        "avg_execution_time_ms": sum(durations) / len(durations) if durations else 0.0,
        "total_documents_clustered": sum(ZOO[n]["num_points"] for n in selected),
        "avg_num_clusters": sum(ZOO[n]["num_clusters"] for n in selected) / len(selected) if selected else 0.0,
    }


def assert_stats(actual: dict, expected: dict) -> None:
    assert actual["total_executions"] == expected["total_executions"]
    assert actual["executions_by_status"] == expected["executions_by_status"]
    assert actual["total_documents_clustered"] == expected["total_documents_clustered"]
    assert actual["avg_execution_time_ms"] == pytest.approx(expected["avg_execution_time_ms"])
    assert actual["avg_num_clusters"] == pytest.approx(expected["avg_num_clusters"])


@pytest.fixture
def zoo_cluster(session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    return cluster


def test_stats_over_a_whole_page_with_every_status(http, zoo_cluster):
    data = ok_list(http, zoo_cluster.cluster_id)
    stats = data["stats"]
    assert stats == {
        "total_executions": 8,
        "executions_by_status": {"completed": 3, "failed": 2, "pending": 1, "processing": 1, "canceled": 1},
        # completed and failed only: alpha 2000, bravo 10000, charlie 1000, delta 30000, hotel 3000
        "avg_execution_time_ms": pytest.approx(9200.0),
        "total_documents_clustered": 50 + 150 + 500 + 1000 + 10 + 200 + 300 + 101,
        "avg_num_clusters": pytest.approx((3 + 5 + 2) / 8),
    }
    assert stats["total_executions"] == len(data["results"])


@pytest.mark.parametrize("page", [1, 2, 3])
def test_stats_cover_the_current_page_only(http, zoo_cluster, page):
    data = ok_list(http, zoo_cluster.cluster_id, page=page, page_size=3)
    shown = names(data)
    assert len(shown) == (3 if page < 3 else 2)
    assert data["total_count"] == 8
    assert data["stats"]["total_executions"] == len(data["results"])
    assert_stats(data["stats"], expected_stats(shown))
    assert set(data["stats"]["executions_by_status"]) == {ZOO[n]["status"] for n in shown}


def test_stats_respect_filters_and_search(http, zoo_cluster):
    data = ok_list(http, zoo_cluster.cluster_id, {"filters": {"status": ["failed", "canceled"]}})
    assert_stats(data["stats"], expected_stats(["charlie", "delta", "golf"]))
    assert data["stats"]["avg_execution_time_ms"] == pytest.approx(15500.0)
    data = ok_list(http, zoo_cluster.cluster_id, {"search": "refund"})
    assert_stats(data["stats"], expected_stats(["alpha", "hotel"]))


def test_stats_when_nothing_matches(http, zoo_cluster):
    data = ok_list(http, zoo_cluster.cluster_id, {"filters": {"num_points": {"gt": 10**6}}})
    assert data["stats"] == {
        "total_executions": 0,
        "executions_by_status": {},
        "avg_execution_time_ms": 0.0,
        "total_documents_clustered": 0,
        "avg_num_clusters": 0.0,
    }
    data = ok_list(http, zoo_cluster.cluster_id, {"filters": {"num_points": {"gt": 10**6}}, "stats_scope": "all"})
    assert data["stats"]["executions_by_status"] == {}
    assert data["stats"]["avg_execution_time_ms"] == 0.0
    assert data["stats"]["avg_num_clusters"] == 0.0


def test_average_time_is_zero_when_no_run_has_finished(http, zoo_cluster):
    for scope in ("page", "all"):
        data = ok_list(
            http,
            zoo_cluster.cluster_id,
            {"filters": {"status": ["pending", "processing", "canceled"]}, "stats_scope": scope},
        )
        assert data["stats"]["avg_execution_time_ms"] == 0.0
        assert data["stats"]["executions_by_status"] == {"pending": 1, "processing": 1, "canceled": 1}
        assert data["stats"]["total_documents_clustered"] == 10 + 200 + 300


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"filters": {"status": "completed"}},
        {"filters": {"NOT": [{"field": "status", "operator": "eq", "value": "failed"}]}},
        {"search": "run_"},
        {"search": "memory"},
        {"filters": {"num_points": {"lt": 0}}},
    ],
    ids=["all", "completed", "not-failed", "search-all", "search-one", "none"],
)
def test_stats_scope_all_gives_the_same_numbers_over_the_whole_filtered_set(http, zoo_cluster, body):
    whole = ok_list(http, zoo_cluster.cluster_id, body, page_size=100)
    everything = names(whole)
    paged = ok_list(http, zoo_cluster.cluster_id, {**body, "stats_scope": "all"}, page_size=2)
    assert paged["total_count"] == len(everything)
    assert paged["pagination"]["total"] == len(everything)
    assert names(paged) == everything[:2]
    assert_stats(paged["stats"], whole["stats"])
    assert_stats(paged["stats"], expected_stats(everything))
    explicit_page = ok_list(http, zoo_cluster.cluster_id, {**body, "stats_scope": "page"}, page_size=2)
    assert_stats(explicit_page["stats"], expected_stats(everything[:2]))


def test_stats_scope_all_over_a_larger_history(http, session_factory):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 40)
    make_runs(
        session_factory,
        cluster,
        [{"status": "failed", "num_points": 7, "error_message": "boom", "created_at": BASE_TIME + timedelta(hours=2),
          "started_at": BASE_TIME + timedelta(hours=2, seconds=1), "completed_at": BASE_TIME + timedelta(hours=2, seconds=4)}],
    )  # fmt: skip
    data = ok_list(http, cluster.cluster_id, {"stats_scope": "all"})
    everything = ok_list(http, cluster.cluster_id, page_size=100)
    stats = data["stats"]
    assert stats["total_executions"] == 41 == data["total_count"]
    assert len(data["results"]) == 10
    assert stats["executions_by_status"] == {"completed": 40, "failed": 1}
    assert stats["total_documents_clustered"] == sum(r["num_points"] for r in everything["results"])
    assert stats["avg_num_clusters"] == pytest.approx(sum(r["num_clusters"] for r in everything["results"]) / 41)
    durations = [r["duration_ms"] for r in everything["results"]]
    assert stats["avg_execution_time_ms"] == pytest.approx(sum(durations) / 41)


def test_bad_stats_scope(http, session_factory):
    cluster = make_cluster(session_factory)
    assert_invalid(post_list(http, cluster.cluster_id, {"stats_scope": "everything"}), "stats_scope", "page", "all")
