"""``group_by`` and ``percentiles`` on ``stats_scope: "all"``: over real HTTP on both databases, with
figures computed by hand from the shared history (``tests/truth_table.py``: HISTORY and CONFIGS)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from clusterbook.store.executions import execution_values, insert_executions
from clusterbook.store.groups import MAX_GROUPS
from tests.api.helpers import assert_invalid, ok_list, post_list
from tests.factories import make_cluster
from tests.truth_table import T0, load_history


@pytest.fixture
def history(session_factory):
    return load_history(session_factory)


def groups_of(data: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {group["key"]: group["stats"] for group in data["groups"]}


def test_group_by_a_parameter_gives_the_contract_stats_per_value(http, history):
    data = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "config.params.n_clusters"})
    # a 3, h 4, e 5, c 8, f 12; b, d and g have no n_clusters (another algorithm, or no config): the null group
    assert [group["key"] for group in data["groups"]] == [3, 4, 5, 8, 12, None]
    groups = groups_of(data)
    assert groups[3] == {
        "total_executions": 1,
        "executions_by_status": {"completed": 1},
        "avg_execution_time_ms": 2000.0,
        "total_documents_clustered": 100,
        "avg_num_clusters": 3.0,
    }
    assert groups[None]["executions_by_status"] == {"completed": 1, "failed": 1, "canceled": 1}
    assert groups[None]["avg_execution_time_ms"] == pytest.approx(4000.0)  # b 5000, d 3000; canceled g not
    assert groups[None]["total_documents_clustered"] == 250 + 75
    assert groups[None]["avg_num_clusters"] == pytest.approx(5 / 3)
    # the contract's stats are exactly what they were without group_by
    assert data["stats"] == ok_list(http, history.cluster_id, {"stats_scope": "all"})["stats"]
    assert sum(g["total_executions"] for g in groups.values()) == data["stats"]["total_executions"] == 8


def test_group_by_status_and_algorithm_sum_to_the_stats(http, history):
    by_status = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "status"})
    assert {k: g["total_executions"] for k, g in groups_of(by_status).items()} == by_status["stats"][
        "executions_by_status"
    ]
    assert groups_of(by_status)["failed"]["avg_execution_time_ms"] == pytest.approx(2000.0)  # c 1000, d 3000
    by_algorithm = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "algorithm"})
    assert [g["key"] for g in by_algorithm["groups"]] == ["HDBSCAN", "kmeans", None]
    assert groups_of(by_algorithm)["kmeans"]["executions_by_status"] == {"completed": 2, "failed": 1}


def test_group_by_follows_the_filters_and_types_its_keys(http, history):
    body = {"stats_scope": "all", "group_by": "config.algorithm", "filters": {"status": "completed"}}
    data = ok_list(http, history.cluster_id, body)
    assert {k: g["total_executions"] for k, g in groups_of(data).items()} == {"hdbscan": 1, "kmeans": 2}
    flags = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "config.params.compute_full_tree"})
    assert {k: g["total_executions"] for k, g in groups_of(flags).items()} == {True: 1, None: 7}
    eps = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "config.params.eps"})
    assert [g["key"] for g in eps["groups"]] == [0.5, None]


def test_percentiles_of_execution_time_and_metrics(http, history):
    data = ok_list(http, history.cluster_id, {"stats_scope": "all", "percentiles": [50, 95]})
    # finished runs' execution times: c 1000, a 2000, d 3000, b 5000, h 10000 (canceled g not counted)
    assert data["percentiles"]["execution_time_ms"] == {"50": pytest.approx(3000.0), "95": pytest.approx(9000.0)}
    # silhouette of a 0.8, b 0.3, h -0.1; linear between ranks: p95 at rank 1.9 → 0.3 + 0.9 · 0.5
    assert data["percentiles"]["metrics.silhouette_score"] == {"50": pytest.approx(0.3), "95": pytest.approx(0.75)}
    assert data["percentiles"]["metrics.stability"] == {"50": None, "95": None}  # no run has one
    filtered = ok_list(
        http, history.cluster_id, {"stats_scope": "all", "percentiles": [0, 100], "filters": {"status": "failed"}}
    )
    assert filtered["percentiles"]["execution_time_ms"] == {"0": 1000.0, "100": 3000.0}
    assert data["stats"] == ok_list(http, history.cluster_id, {"stats_scope": "all"})["stats"]


def test_without_group_by_or_percentiles_the_response_has_neither(http, history):
    data = ok_list(http, history.cluster_id, {"stats_scope": "all"})
    # the contract's members and nothing more: a client of the original API sees its own shape
    assert set(data) == {"results", "pagination", "total_count", "stats"}


@pytest.mark.parametrize(
    ("body", "loc", "fragments"),
    [
        ({"group_by": "status"}, "body", ('stats_scope "all"',)),
        ({"percentiles": [50]}, "body", ('stats_scope "all"',)),
        ({"stats_scope": "all", "group_by": "run_name"}, "group_by", ("status, algorithm", "config.params.<name>")),
        ({"stats_scope": "all", "group_by": "config.paramz.k"}, "group_by", ("cannot group by",)),
        ({"stats_scope": "all", "percentiles": [50, 101]}, "percentiles", ("0 to 100",)),
        ({"stats_scope": "all", "group_by": "config.params." + "k" * 120}, "group_by", ("120",)),
        ({"stats_scope": "all", "percentiles": []}, "percentiles", ()),
        ({"stats_scope": "all", "percentiles": list(range(11))}, "percentiles", ()),
        ({"filters": {"config.random_state": "zero"}}, "filters.config.random_state", ("numeric",)),
        ({"filters": {"config.params.n_clusters": {"eq": {"a": 1}}}}, "filters.config.params.n_clusters.eq",
         ("a number, a string or true/false",)),
        ({"filters": {"config.params.init": {"gt": True}}}, "filters.config.params.init.gt", ("eq or ne",)),
        ({"filters": {"config.sample_size": {"contains": "1"}}}, "filters.config.sample_size.contains", ("numeric",)),
        ({"filters": {"config.bogus": 1}}, "filters.config.bogus", ("config.params.<name>",)),
        ({"sort": {"field": "config.params.n_clusters"}}, "sort.field", ("cannot sort",)),
    ],
)  # fmt: skip
def test_bad_config_requests_are_422_naming_the_place(http, history, body, loc, fragments):
    response = post_list(http, history.cluster_id, body)
    assert_invalid(response, loc, *fragments)


def test_at_most_max_groups_groups(http, session_factory):
    """A field with more distinct values than MAX_GROUPS is a 422 naming group_by, not a huge answer."""
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            status="completed",
            created_at=T0 + timedelta(seconds=i),
            config={"algorithm": "kmeans", "params": {"n_clusters": 2}, "random_state": i},
        )
        for i in range(MAX_GROUPS + 1)
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    too_many = post_list(http, cluster.cluster_id, {"stats_scope": "all", "group_by": "config.random_state"})
    assert_invalid(too_many, "group_by", f"more than {MAX_GROUPS} distinct values")
    narrowed = {
        "stats_scope": "all",
        "group_by": "config.random_state",
        "filters": {"config.random_state": {"lt": 100}},
    }
    assert len(ok_list(http, cluster.cluster_id, narrowed)["groups"]) == MAX_GROUPS
