"""The listing's filter language over HTTP: three spellings, every operator on the contract's fields,
case sensitivity, and 422s that name the exact bad node and what is accepted.

Truth tables run against the zoo (tests/api/helpers.py); each table is one test that reports every
row that disagrees, so one server start checks many requests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import ZOO, assert_invalid, make_zoo, names, ok_list, post_list
from tests.factories import make_cluster

ALL = set(ZOO)
MISSING = object()


def cond(field: str, operator: str, value: Any = MISSING, **extra: Any) -> dict[str, Any]:
    node = {"field": field, "operator": operator, **extra}
    if value is not MISSING:
        node["value"] = value
    return node


def contract(*conditions: dict[str, Any], operator: str = "AND", **extra: Any) -> dict[str, Any]:
    return {"operator": operator, "conditions": list(conditions), **extra}


def check_table(http, cluster_id: str, table: list[tuple[Any, set[str]]]) -> None:
    """Run every (filters, expected names) row; fail once, listing every row that disagreed."""
    wrong = []
    for filters, expected in table:
        data = ok_list(http, cluster_id, {"filters": filters}, page_size=100)
        got = names(data)
        if set(got) != expected or data["total_count"] != len(expected) or len(got) != len(set(got)):
            wrong.append((filters, sorted(expected), sorted(got), data["total_count"]))
    assert not wrong, "\n".join(map(repr, wrong))


@pytest.fixture
def zoo_cluster(session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    return cluster


STATUS_TABLE = [
    (contract(cond("status", "eq", "completed")), {"alpha", "bravo", "hotel"}),
    (contract(cond("status", "==", "completed")), {"alpha", "bravo", "hotel"}),
    (contract(cond("status", "eq", "COMPLETED")), {"alpha", "bravo", "hotel"}),
    (contract(cond("status", "ne", "failed")), ALL - {"charlie", "delta"}),
    (contract(cond("status", "!=", "failed")), ALL - {"charlie", "delta"}),
    (contract(cond("status", "in", ["failed", "canceled"])), {"charlie", "delta", "golf"}),
    (contract(cond("status", "nin", ["completed", "pending"])), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(cond("status", "exists", True)), ALL),
    (contract(cond("status", "is_null", True)), set()),
    (contract(cond("status", "eq", "canceled")), {"golf"}),
    (contract(cond("status", "eq", "processing")), {"foxtrot"}),
]

NUMBER_TABLE = [
    (contract(cond("num_points", "gt", 150)), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(cond("num_points", ">", 150)), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(cond("num_points", "gte", 150)), {"bravo", "charlie", "delta", "foxtrot", "golf"}),
    (contract(cond("num_points", ">=", 150)), {"bravo", "charlie", "delta", "foxtrot", "golf"}),
    (contract(cond("num_points", "lt", 101)), {"alpha", "echo"}),
    (contract(cond("num_points", "<", 101)), {"alpha", "echo"}),
    (contract(cond("num_points", "lte", 101)), {"alpha", "echo", "hotel"}),
    (contract(cond("num_points", "<=", 101)), {"alpha", "echo", "hotel"}),
    (contract(cond("num_points", "eq", 1000)), {"delta"}),
    (contract(cond("num_points", "ne", 1000)), ALL - {"delta"}),
    (contract(cond("num_points", "nin", [10, 50])), ALL - {"echo", "alpha"}),
    (contract(cond("num_points", "lt", 100.5)), {"alpha", "echo"}),
    (contract(cond("num_clusters", "in", [2, 3])), {"alpha", "hotel"}),
    (contract(cond("num_clusters", "nin", [0])), {"alpha", "bravo", "hotel"}),
    (contract(cond("num_clusters", "gte", 3)), {"alpha", "bravo"}),
    (contract(cond("num_clusters", "eq", 0)), {"charlie", "delta", "echo", "foxtrot", "golf"}),
    (contract(cond("metrics.silhouette_score", "gt", 0.5)), {"alpha"}),
    (contract(cond("metrics.silhouette_score", "lt", 0.5)), {"bravo"}),
    # ne is null-safe: a run without the metric is "not equal" to it.
    (contract(cond("metrics.silhouette_score", "ne", 0.8)), ALL - {"alpha"}),
    (contract(cond("metrics.silhouette_score", "is_null", True)), ALL - {"alpha", "bravo"}),
    (contract(cond("metrics.silhouette_score", "exists", True)), {"alpha", "bravo"}),
    (contract(cond("metrics.silhouette_score", "exists", False)), ALL - {"alpha", "bravo"}),
    (contract(cond("metrics.silhouette_score", "is_null", False)), {"alpha", "bravo"}),
    (contract(cond("metrics.silhouette_score", "eq", None)), ALL - {"alpha", "bravo"}),
    (contract(cond("metrics.davies_bouldin_index", "lte", 1.5)), {"alpha", "bravo"}),
    (contract(cond("metrics.davies_bouldin_index", "gt", 1.5)), {"hotel"}),
    (contract(cond("metrics.calinski_harabasz_score", "gte", 100)), {"alpha", "bravo"}),
    (contract(cond("metrics.calinski_harabasz_score", "in", [50, 300])), {"alpha", "hotel"}),
    (contract(cond("duration", "gt", 5000)), {"bravo", "delta"}),
    (contract(cond("duration", "gte", 5000)), {"bravo", "delta", "golf"}),
    (contract(cond("duration", "lte", 2000)), {"alpha", "charlie"}),
    (contract(cond("duration", "eq", 3000)), {"hotel"}),
    (contract(cond("duration", "is_null", True)), {"echo", "foxtrot"}),
    (contract(cond("duration", "nin", [1000, 2000])), ALL - {"alpha", "charlie"}),
]

TIME_TABLE = [
    (contract(cond("created_at", "gte", "2026-01-01T00:03:00Z")), {"delta", "echo", "foxtrot", "golf", "hotel"}),
    (contract(cond("created_at", "lt", "2026-01-01T00:02:00+00:00")), {"alpha", "bravo"}),
    (contract(cond("created_at", "eq", "2026-01-01T00:04:00Z")), {"echo"}),
    (contract(cond("created_at", "ne", "2026-01-01T00:04:00Z")), ALL - {"echo"}),
    (contract(cond("created_at", "gt", "2026-01-01")), ALL - {"alpha"}),
    (contract(cond("created_at", "lte", "2026-01-01T01:01:00+01:00")), {"alpha", "bravo"}),
    (contract(cond("created_at", "in", ["2026-01-01T00:00:00Z", "2026-01-01T00:07:00Z"])), {"alpha", "hotel"}),
    (contract(cond("created_at", "gt", "2026-01-02T00:00:00Z")), set()),
    (contract(cond("completed_at", "is_null", True)), {"echo", "foxtrot"}),
    (contract(cond("completed_at", "exists", True)), ALL - {"echo", "foxtrot"}),
    (contract(cond("completed_at", "exists", False)), {"echo", "foxtrot"}),
    (contract(cond("completed_at", "gt", "2026-01-01T00:03:00Z")), {"delta", "golf", "hotel"}),
    (contract(cond("completed_at", "lt", "2026-01-01T00:01:05Z")), {"alpha"}),
]

TEXT_TABLE = [
    (contract(cond("run_id", "eq", "run_alpha01")), {"alpha"}),
    (contract(cond("run_id", "starts_with", "RUN_C")), {"charlie"}),
    (contract(cond("run_id", "ends_with", "08")), {"hotel"}),
    (contract(cond("run_id", "contains", "ta0")), {"delta"}),
    (contract(cond("run_id", "in", ["run_Echo05", "RUN_GOLF07"])), {"echo", "golf"}),
    (contract(cond("run_id", "nin", ["run_echo05"])), ALL - {"echo"}),
    (contract(cond("run_id", "ne", "RUN_BRAVO02")), ALL - {"bravo"}),
    (contract(cond("error_message", "contains", "MEMORY")), {"charlie"}),
    (contract(cond("error_message", "starts_with", "worker")), {"delta"}),
    (contract(cond("error_message", "ends_with", "TIMES")), {"delta"}),
    (contract(cond("error_message", "exists", True)), {"charlie", "delta"}),
    (contract(cond("error_message", "is_null", True)), ALL - {"charlie", "delta"}),
    (contract(cond("error_message", "eq", "worker lost: heartbeat missed 3 times")), {"delta"}),
    (contract(cond("error_message", "ne", "Worker lost: heartbeat missed 3 times")), ALL - {"delta"}),
    (contract(cond("error_message", "contains", "%")), set()),
    (contract(cond("error_message", "contains", "_")), set()),
    (contract(cond("run_id", "contains", "_")), ALL),
]

NESTED_AND_KEYED_TABLE = [
    (
        contract(
            cond("status", "eq", "failed"),
            contract(cond("status", "eq", "completed"), cond("num_points", "gt", 100)),
            operator="OR",
        ),
        {"charlie", "delta", "bravo", "hotel"},
    ),
    (contract(cond("status", "eq", "completed"), cond("status", "eq", "failed"), operator="NOT"),
     {"echo", "foxtrot", "golf"}),
    (contract(contract(contract(cond("num_points", "gt", 400), operator="OR"))), {"charlie", "delta"}),
    (contract(), ALL),
    ({}, ALL),
    ({"AND": [cond("status", "in", ["completed", "failed"]), cond("num_points", "gt", 100)]},
     {"bravo", "charlie", "delta", "hotel"}),
    ({"OR": [cond("status", "eq", "pending"), cond("num_points", "gte", 1000)]}, {"echo", "delta"}),
    ({"NOT": [cond("status", "eq", "completed")]}, ALL - {"alpha", "bravo", "hotel"}),
    ({"NOT": [cond("status", "eq", "completed"), cond("num_points", "lt", 250)]}, {"charlie", "delta", "golf"}),
    ({"AND": [cond("status", "in", ["completed", "failed"])], "NOT": [cond("error_message", "contains", "memory")]},
     {"alpha", "bravo", "delta", "hotel"}),
    ({"AND": [cond("num_points", "gt", 100)], "OR": [cond("status", "eq", "failed"), cond("status", "eq", "canceled")]},
     {"charlie", "delta", "golf"}),
    # NOT means "none of": a run without the field does not match the inner condition, so it stays
    ({"NOT": [cond("metrics.silhouette_score", "gt", 0.5)]}, ALL - {"alpha"}),
    ({"NOT": [cond("error_message", "starts_with", "worker")]}, ALL - {"delta"}),
    ({"NOT": [cond("completed_at", "lt", "2026-01-01T00:03:00Z")]}, {"delta", "echo", "foxtrot", "golf", "hotel"}),
    (contract(cond("duration", "gte", 3000), cond("metrics.davies_bouldin_index", "in", [0.5]), operator="NOT"),
     {"charlie", "echo", "foxtrot"}),
    (contract(cond("status", "eq", "pending"), contract(cond("error_message", "contains", "lost"), operator="NOT")),
     {"echo"}),
    ({"OR": [{"AND": [cond("status", "eq", "completed"), cond("num_clusters", "gte", 3)]},
             contract(cond("status", "eq", "pending"))]},
     {"alpha", "bravo", "echo"}),
    # the shorthand, alone and beside logical keys
    ({"status": "completed"}, {"alpha", "bravo", "hotel"}),
    ({"num_points": {"gt": 100}}, {"bravo", "charlie", "delta", "foxtrot", "golf", "hotel"}),
    ({"num_points": {"gt": 100, "lt": 400}}, {"bravo", "foxtrot", "golf", "hotel"}),
    ({"num_points": {">=": 1000}}, {"delta"}),
    ({"status": ["failed", "canceled"]}, {"charlie", "delta", "golf"}),
    ({"error_message": None}, ALL - {"charlie", "delta"}),
    ({"metrics.silhouette_score": {"gte": 0.2}}, {"alpha", "bravo"}),
    ({"status": "completed", "num_clusters": {"lt": 5}}, {"alpha", "hotel"}),
    ({"status": "completed", "NOT": [cond("num_points", "lt", 100)]}, {"bravo", "hotel"}),
    ({"run_id": {"starts_with": "run_d"}}, {"delta"}),
]  # fmt: skip

CASE_TABLE = [
    ({"case_sensitive": True, "AND": [cond("error_message", "contains", "out")]}, set()),
    ({"case_sensitive": True, "AND": [cond("error_message", "contains", "Out")]}, {"charlie"}),
    ({"case_sensitive": True, "AND": [cond("error_message", "ends_with", "TIMES")]}, set()),
    ({"case_sensitive": True, "AND": [cond("error_message", "starts_with", "Worker")]}, {"delta"}),
    ({"case_sensitive": False, "AND": [cond("error_message", "contains", "out")]}, {"charlie"}),
    (contract(cond("run_id", "eq", "run_alpha01"), case_sensitive=True), set()),
    (contract(cond("run_id", "eq", "run_Alpha01"), case_sensitive=True), {"alpha"}),
    (contract(cond("run_id", "starts_with", "run_c", case_sensitive=True)), set()),
    (contract(cond("run_id", "starts_with", "run_C", case_sensitive=True)), {"charlie"}),
    (contract(cond("run_id", "starts_with", "RUN_c")), {"charlie"}),
    (contract(cond("run_id", "in", ["run_echo05", "run_Golf07"]), case_sensitive=True), {"golf"}),
    (contract(cond("run_id", "ne", "run_golf07"), case_sensitive=True), ALL),
    ({"case_sensitive": True, "run_id": "run_alpha01"}, set()),
    ({"case_sensitive": True, "run_id": "run_Alpha01"}, {"alpha"}),
    # an inner node overrides what it inherits
    (contract(cond("run_id", "eq", "RUN_ALPHA01", case_sensitive=False), case_sensitive=True), {"alpha"}),
    (contract(contract(cond("run_id", "eq", "RUN_ALPHA01")), case_sensitive=True), set()),
    # wildcard characters in text operators are literal, also case-sensitively
    ({"case_sensitive": True, "AND": [cond("run_id", "contains", "*")]}, set()),
    ({"case_sensitive": True, "AND": [cond("run_id", "contains", "?")]}, set()),
    ({"case_sensitive": True, "AND": [cond("run_id", "starts_with", "run_[A]")]}, set()),
]


@pytest.mark.parametrize(
    "table",
    [STATUS_TABLE, NUMBER_TABLE, TIME_TABLE, TEXT_TABLE, NESTED_AND_KEYED_TABLE, CASE_TABLE],
    ids=["status", "numbers", "timestamps", "text", "nested-keyed-shorthand", "case-sensitivity"],
)
def test_filter_truth_table(http, zoo_cluster, table):
    check_table(http, zoo_cluster.cluster_id, table)


def test_filters_combine_with_sort_and_paging(http, zoo_cluster):
    data = ok_list(
        http,
        zoo_cluster.cluster_id,
        {"filters": {"num_points": {"gt": 100}}, "sort": {"field": "num_points", "direction": "asc"}},
        page_size=2,
        page=2,
    )
    assert names(data) == ["foxtrot", "golf"]
    assert data["total_count"] == 6
    assert data["pagination"]["total_pages"] == 3


# --------------------------------------------------------------------------- errors

ERROR_TABLE = [
    (contract(cond("status", "eq", "completed"), cond("bogus", "eq", 1)),
     "filters.conditions[1].field", ["'bogus'", "accepted", "num_points", "metrics.silhouette_score"]),
    (contract(cond("status", "like", "completed")),
     "filters.conditions[0].operator", ["'like'", "accepted", "starts_with", "is_null", "nin"]),
    (contract(cond("status", "eq", "completed"), cond("num_points", "gt", "many")),
     "filters.conditions[1].value", ["num_points", "number"]),
    (contract(cond("num_points", "eq", True)), "filters.conditions[0].value", ["number"]),
    (contract(cond("status", "eq", "done")),
     "filters.conditions[0].value", ["'done'", "pending", "processing", "completed", "failed", "canceled"]),
    (contract(cond("created_at", "gt", "yesterday")), "filters.conditions[0].value", ["ISO 8601"]),
    (contract(cond("created_at", "gt", 1700000000)), "filters.conditions[0].value", ["ISO 8601"]),
    (contract(cond("run_id", "eq", 5)), "filters.conditions[0].value", ["string"]),
    (contract(cond("num_points", "in", 5)), "filters.conditions[0].value", ["list"]),
    (contract(cond("num_points", "in", [])), "filters.conditions[0].value", ["list"]),
    (contract(cond("num_points", "in", [1, "x"])), "filters.conditions[0].value[1]", ["number"]),
    (contract(cond("num_points", "contains", 5)),
     "filters.conditions[0].operator", ["'contains'", "accepted", "gt"]),
    (contract(cond("status", "gt", "completed")), "filters.conditions[0].operator", ["accepted", "eq", "in"]),
    (contract(cond("completed_at", "exists", "yes")), "filters.conditions[0].value", ["true or false"]),
    (contract(cond("num_points", "gt")), "filters.conditions[0].value", ["missing"]),
    (contract({"field": "status", "op": "eq", "value": "failed"}),
     "filters.conditions[0].op", ["accepted", "field, operator, value"]),
    (contract(cond("status", "eq", "failed"), "status"), "filters.conditions[1]", ["expected an object"]),
    (contract(operator="XOR"), "filters.operator", ["AND", "OR"]),
    ({"operator": "AND", "conditions": {"field": "status"}}, "filters.conditions", ["list"]),
    ({"operator": "AND", "conditions": [], "case_sensitive": "yes"}, "filters.case_sensitive", ["true or false"]),
    ({"AND": [cond("status", "eq", "failed"), cond("num_points", "gt", "x")]}, "filters.AND[1].value", ["number"]),
    ({"NOT": [{"OR": [cond("zzz", "eq", 1)]}]}, "filters.NOT[0].OR[0].field", ["'zzz'", "accepted"]),
    ({"OR": cond("status", "eq", "failed")}, "filters.OR", ["list"]),
    ({"bogus": 1}, "filters.bogus", ["'bogus'", "accepted", "status"]),
    ({"num_points": {"gtx": 1}}, "filters.num_points.gtx", ["'gtx'", "accepted", "gte"]),
    ({"num_points": {"gt": "x"}}, "filters.num_points.gt", ["number"]),
    ({"num_points": {}}, "filters.num_points", ["empty"]),
    ({"status": "completed", "AND": [contract(cond("duration", "lt", "fast"))]},
     "filters.AND[0].conditions[0].value", ["number"]),
]  # fmt: skip


@pytest.mark.parametrize(("filters", "loc", "fragments"), ERROR_TABLE, ids=[row[1] for row in ERROR_TABLE])
def test_bad_filter_names_the_node_and_what_is_accepted(http, session_factory, filters, loc, fragments):
    cluster = make_cluster(session_factory)
    response = post_list(http, cluster.cluster_id, {"filters": filters})
    assert_invalid(response, loc, *fragments, code="invalid_filter")


def nest(levels: int, leaf: dict[str, Any]) -> dict[str, Any]:
    node = leaf
    for _ in range(levels):
        node = {"operator": "AND", "conditions": [node]}
    return node


def test_depth_limit_is_eight_levels(http, session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    leaf = cond("status", "eq", "failed")
    # seven groups around a condition: eight levels, accepted
    data = ok_list(http, cluster.cluster_id, {"filters": nest(7, leaf)})
    assert set(names(data)) == {"charlie", "delta"}
    # eight groups around it: nine levels, refused at the node that is too deep
    response = post_list(http, cluster.cluster_id, {"filters": nest(8, leaf)})
    assert_invalid(response, "filters" + ".conditions[0]" * 8, "8 levels", code="invalid_filter")
    keyed = leaf
    for _ in range(8):
        keyed = {"OR": [keyed]}
    response = post_list(http, cluster.cluster_id, {"filters": keyed})
    assert_invalid(response, "filters" + ".OR[0]" * 8, "8 levels", code="invalid_filter")


def test_condition_limit_is_one_hundred(http, session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    many = [cond("num_points", "ne", -i) for i in range(100)]
    data = ok_list(http, cluster.cluster_id, {"filters": contract(*many)})
    assert data["total_count"] == len(ZOO)
    response = post_list(http, cluster.cluster_id, {"filters": contract(*many, cond("num_points", "ne", -100))})
    assert_invalid(response, "filters.conditions[100]", "100 conditions", code="invalid_filter")
    spread = {"AND": [contract(*many[:60]), contract(*many[60:], cond("status", "ne", "failed"))]}
    response = post_list(http, cluster.cluster_id, {"filters": spread})
    assert_invalid(response, "filters.AND[1].conditions[40]", "100 conditions", code="invalid_filter")


def test_aliases_of_fields_filter_the_same_column(http, zoo_cluster):
    canonical = ok_list(http, zoo_cluster.cluster_id, {"filters": {"metrics.silhouette_score": {"gt": 0.1}}})
    alias = ok_list(http, zoo_cluster.cluster_id, {"filters": {"silhouette_score": {"gt": 0.1}}})
    assert names(canonical) == names(alias) == ["bravo", "alpha"]
    by_ms = ok_list(http, zoo_cluster.cluster_id, {"filters": {"duration_ms": {"gt": 5000}}})
    assert set(names(by_ms)) == {"bravo", "delta"}
