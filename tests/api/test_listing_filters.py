"""The listing's filter language over HTTP: combined with sort and paging, aliases, and 422s that
name the exact bad node and what is accepted.

The truth tables themselves (every operator, spelling and case rule) live once in
``tests/truth_table.py`` and run over HTTP in ``tests/api/test_truth_table.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import ZOO, assert_invalid, make_zoo, names, ok_list, post_list
from tests.factories import make_cluster

MISSING = object()


def cond(field: str, operator: str, value: Any = MISSING, **extra: Any) -> dict[str, Any]:
    node = {"field": field, "operator": operator, **extra}
    if value is not MISSING:
        node["value"] = value
    return node


def contract(*conditions: dict[str, Any], operator: str = "AND", **extra: Any) -> dict[str, Any]:
    return {"operator": operator, "conditions": list(conditions), **extra}


@pytest.fixture
def zoo_cluster(session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    return cluster


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
