"""The filter builder: every operator and combinator produces the JSON tree the server's own parser
accepts (and reads back as the intended tree); the docstring examples run as doctests."""

from __future__ import annotations

import doctest
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

import clusterbook.client._params
import clusterbook.client.filters
from clusterbook.client import F, Filter
from clusterbook.client._params import list_body, sort_json
from clusterbook.client.filters import as_filter, filter_json
from clusterbook.models.executions import ExecutionStatus
from clusterbook.models.filters import Condition, Group, parse_filter_tree
from clusterbook.models.listing import SortSpec


def cond(field: str, operator: str, value: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "value": value}


@pytest.mark.parametrize("module", [clusterbook.client.filters, clusterbook.client._params])
def test_docstring_examples_hold(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (F.status == "failed", cond("status", "eq", "failed")),
        (F.status != "failed", cond("status", "ne", "failed")),
        (F.num_points > 10, cond("num_points", "gt", 10)),
        (F.num_points >= 10, cond("num_points", "gte", 10)),
        (F.num_points < 10, cond("num_points", "lt", 10)),
        (F.num_points <= 10, cond("num_points", "lte", 10)),
        (F.status.in_(("failed", "canceled")), cond("status", "in", ["failed", "canceled"])),
        (F.status.not_in(["failed"]), cond("status", "nin", ["failed"])),
        (F.error_message.contains("memory"), cond("error_message", "contains", "memory")),
        (F.run_name.starts_with("nightly"), cond("run_name", "starts_with", "nightly")),
        (F.run_name.ends_with("-v2"), cond("run_name", "ends_with", "-v2")),
        (F.completed_at.exists(), cond("completed_at", "exists", True)),
        (F.completed_at.exists(False), cond("completed_at", "exists", False)),
        (F.error_message.is_null(), cond("error_message", "is_null", True)),
        (F.error_message == None, cond("error_message", "is_null", True)),  # noqa: E711
        (F.error_message != None, cond("error_message", "is_null", False)),  # noqa: E711
        (F.metric("silhouette_score") > 0.5, cond("metrics.silhouette_score", "gt", 0.5)),
        (F.metric("metrics.davies_bouldin_index") < 1, cond("metrics.davies_bouldin_index", "lt", 1)),
        (F.calinski_harabasz_score >= 100, cond("metrics.calinski_harabasz_score", "gte", 100)),
        (F.field("duration_ms") > 1000, cond("duration_ms", "gt", 1000)),
        (F.metadata("lang") == "en", cond("metadata.lang", "eq", "en")),
        (F.metadata("a.b").in_([1, 2]), cond("metadata.a.b", "in", [1, 2])),
        (F.status == ExecutionStatus.FAILED, cond("status", "eq", "failed")),
        (F.status.in_({"failed", "canceled"}), cond("status", "in", ["canceled", "failed"])),
        (
            F.error_message.eq("Échec", case_sensitive=True),
            {**cond("error_message", "eq", "Échec"), "case_sensitive": True},
        ),
        (
            F.run_name.contains("X", case_sensitive=False),
            {**cond("run_name", "contains", "X"), "case_sensitive": False},
        ),
    ],
)
def test_each_condition_is_the_documented_json(expr: Filter, expected: dict[str, Any]) -> None:
    assert expr.to_dict() == expected
    node = parse_filter_tree(expr.to_dict())
    assert isinstance(node, Condition)
    assert node.field == expected["field"]


def test_timestamps_are_sent_as_utc_iso_8601() -> None:
    paris = timezone(timedelta(hours=1))
    assert F.created_at.after(datetime(2026, 3, 1, 13, 0, tzinfo=paris)).to_dict() == cond(
        "created_at", "gt", "2026-03-01T12:00:00Z"
    )
    assert F.created_at.before(datetime(2026, 3, 1, 12, 30)).to_dict() == cond(
        "created_at", "lt", "2026-03-01T12:30:00"
    )
    assert F.created_at.since(date(2026, 3, 1)).to_dict() == cond("created_at", "gte", "2026-03-01")
    assert F.created_at.after("2026-03-01T00:00:00Z").to_dict() == cond("created_at", "gt", "2026-03-01T00:00:00Z")


def test_and_or_flatten_and_not_wraps() -> None:
    a, b, c = F.status == "failed", F.num_points > 10, F.run_name.contains("x")
    assert (a & b & c).to_dict() == {"operator": "AND", "conditions": [a.to_dict(), b.to_dict(), c.to_dict()]}
    assert (a | b | c).to_dict() == {"operator": "OR", "conditions": [a.to_dict(), b.to_dict(), c.to_dict()]}
    mixed = (a & b) | c
    assert mixed.to_dict() == {
        "operator": "OR",
        "conditions": [{"operator": "AND", "conditions": [a.to_dict(), b.to_dict()]}, c.to_dict()],
    }
    assert (~a).to_dict() == {"operator": "NOT", "conditions": [a.to_dict()]}
    assert (~~a).to_dict() == a.to_dict()
    assert (~(a | b)).to_dict() == {
        "operator": "NOT",
        "conditions": [{"operator": "OR", "conditions": [a.to_dict(), b.to_dict()]}],
    }


def test_the_server_parser_reads_combinations_as_intended() -> None:
    tree = parse_filter_tree(((F.status == "failed") & ~(F.num_points > 5)).to_dict())
    assert isinstance(tree, Group) and tree.op == "and" and not tree.negated
    first, second = tree.children
    assert isinstance(first, Condition) and first.operator == "eq"
    assert isinstance(second, Group) and second.negated and second.op == "or"


def test_raw_dicts_combine_with_expressions_from_either_side() -> None:
    raw = {"status": "failed"}
    expr = F.num_points > 5
    assert (raw & expr).to_dict() == {"operator": "AND", "conditions": [raw, expr.to_dict()]}
    assert (expr | raw).to_dict() == {"operator": "OR", "conditions": [expr.to_dict(), raw]}
    assert (~as_filter(raw)).to_dict() == {"operator": "NOT", "conditions": [raw]}
    assert filter_json(raw) == raw and filter_json(None) is None
    parse_filter_tree((raw & expr).to_dict())


def test_group_helpers_and_case_sensitivity() -> None:
    a, b = F.run_name == "A", F.run_name == "B"
    assert F.all(a, b, case_sensitive=True).to_dict() == {
        "operator": "AND",
        "conditions": [a.to_dict(), b.to_dict()],
        "case_sensitive": True,
    }
    assert F.any(a, {"status": "failed"}).to_dict()["operator"] == "OR"
    assert F.none(a, b).to_dict()["operator"] == "NOT"
    sensitive = F.all(a, case_sensitive=True)
    # a group with its own case sensitivity is kept whole rather than merged into its neighbour
    assert len((sensitive & b).to_dict()["conditions"]) == 2
    assert F.num_clusters.between(2, 5).to_dict() == {
        "operator": "AND",
        "conditions": [cond("num_clusters", "gte", 2), cond("num_clusters", "lte", 5)],
    }


def test_python_boolean_operators_are_refused() -> None:
    with pytest.raises(TypeError, match="combine filters with &"):
        bool(F.status == "failed")
    with pytest.raises(TypeError, match="cannot be the value"):
        F.status == (F.status == "failed")  # noqa: B015
    with pytest.raises(TypeError):
        as_filter(["status"])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        F.field("")


def test_sort_spellings() -> None:
    assert sort_json("-metrics.silhouette_score") == {"field": "metrics.silhouette_score", "direction": "desc"}
    assert sort_json("+num_points") == {"field": "num_points", "direction": "asc"}
    assert sort_json(F.silhouette_score.desc()) == {"field": "metrics.silhouette_score", "direction": "desc"}
    assert sort_json(F.created_at.asc()) == {"field": "created_at", "direction": "asc"}
    assert sort_json({"field": "status"}) == {"field": "status"}
    assert F.created_at.asc() == SortSpec(field="created_at", direction="asc")


def test_list_body_carries_only_what_was_given() -> None:
    assert list_body() == {}
    assert list_body(F.status == "failed", "-created_at", "oom", stats_scope="all") == {
        "filters": cond("status", "eq", "failed"),
        "sort": {"field": "created_at", "direction": "desc"},
        "search": "oom",
        "stats_scope": "all",
    }
    assert list_body(search="", stats_scope=None) == {"search": ""}


def test_expressions_print_their_json() -> None:
    assert repr(F.status == "failed") == "Condition({'field': 'status', 'operator': 'eq', 'value': 'failed'})"
    assert repr(F.status) == "Field('status')"
    assert "2026-01-01T00:00:00Z" in repr(F.created_at.after(datetime(2026, 1, 1, tzinfo=UTC)))
