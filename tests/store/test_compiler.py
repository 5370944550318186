"""The shared truth table (``tests/truth_table.py``) run through the store on SQLite and PostgreSQL,
plus the compiler's error paths: each bad filter names its node.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.errors import InvalidFilter, InvalidSort
from clusterbook.models.listing import ListClusterExecutionsRequest
from clusterbook.store.executions import list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from tests.api.helpers import make_zoo
from tests.factories import make_cluster
from tests.truth_table import cond, group, group_mismatches, load_history, mismatches, zoo_mismatches


def _list(session_factory: sessionmaker[Session], cluster_id: str, body: dict[str, Any], size: int = 100) -> list[str]:
    request = ListClusterExecutionsRequest.model_validate(body)
    query = ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)
    with session_factory() as session, session.begin():
        page = list_executions(session, cluster_id=cluster_id, query=query, page=PageRequest(1, size, 0))
    assert page.total == len(page.results) or len(page.results) == size
    return [r.run_id.removeprefix("run_") for r in page.results]


@pytest.fixture
def history(session_factory: sessionmaker[Session]) -> str:
    return load_history(session_factory).cluster_id


def test_truth_table(session_factory: sessionmaker[Session], history: str) -> None:
    """Every filter, sort and search row of the shared tables; all mismatches are reported together."""
    zoo = make_cluster(session_factory)
    make_zoo(session_factory, zoo)

    def zoo_runs(body: dict[str, Any]) -> list[str]:
        return ["run_" + key for key in _list(session_factory, zoo.cluster_id, body)]

    failures = mismatches(lambda body: ["run_" + key for key in _list(session_factory, history, body)])
    failures += zoo_mismatches(zoo_runs)
    assert not failures, "\n".join(failures)


def test_group_table(session_factory: sessionmaker[Session], history: str) -> None:
    """Every ``group_by`` row of the shared table through the store."""

    def group_runs(body: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        request = ListClusterExecutionsRequest.model_validate(body)
        query = ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)
        with session_factory() as session:
            page = list_executions(
                session, cluster_id=history, query=query, page=PageRequest(1, 10, 0), stats_scope="all",
                group_by=request.group_by,
            )  # fmt: skip
        return [(g.key, g.stats.model_dump()) for g in page.groups or []]

    failures = group_mismatches(group_runs)
    assert not failures, "\n".join(failures)


def test_filter_sort_search_and_pages_combine(session_factory: sessionmaker[Session], history: str) -> None:
    body = {
        "filters": {"NOT": [cond("status", "eq", "pending")]},
        "sort": {"field": "num_points", "direction": "asc"},
        "search": "run",
    }
    assert _list(session_factory, history, body) == list("gcdabfh")
    assert _list(session_factory, history, body, size=3) == list("gcd")


ERROR_CASES: list[tuple[str, Any, str, str]] = [
    ("unknown field", group("AND", cond("nope", "eq", 1)), "filters.conditions[0].field", "accepted: created_at"),
    ("operator not for enum", group("AND", cond("status", "gt", "x")), "filters.conditions[0].operator", "accepted"),
    ("contains on number", {"num_points": {"contains": "1"}}, "filters.num_points.contains", "accepted"),
    ("text for number", group("AND", cond("num_points", "gt", "5")), "filters.conditions[0].value", "numeric"),
    ("bool for number", group("AND", cond("num_points", "gt", True)), "filters.conditions[0].value", "numeric"),
    ("bad status", group("AND", cond("status", "eq", "done")), "filters.conditions[0].value", "accepted: pending"),
    ("bad timestamp", group("AND", cond("created_at", "gt", "yesterday")), "filters.conditions[0].value", "ISO 8601"),
    (
        "timestamp out of range",
        group("AND", cond("created_at", "gt", "9999-12-31T23:59:59-01:00")),
        "filters.conditions[0].value",
        "ISO 8601",
    ),
    ("number for text", group("AND", cond("error_message", "eq", 5)), "filters.conditions[0].value", "text"),
    ("empty in", group("AND", cond("status", "in", [])), "filters.conditions[0].value", "non-empty list"),
    ("in not a list", group("AND", cond("status", "in", "failed")), "filters.conditions[0].value", "non-empty list"),
    ("bad list item", group("AND", cond("num_points", "in", [1, "x"])), "filters.conditions[0].value[1]", "numeric"),
    ("exists needs bool", group("AND", cond("completed_at", "exists", "yes")), "filters.conditions[0].value", "true"),
    ("integer beyond float", group("AND", cond("num_points", "gt", 10**400)), "filters.conditions[0].value", "finite"),
    ("shorthand bad value", {"status": 3}, "filters.status", "text"),
    ("nested path", {"OR": [{"AND": [cond("x", "eq", 1)]}]}, "filters.OR[0].AND[0].field", "unknown field"),
]


def test_invalid_filters_name_the_node(session_factory: sessionmaker[Session], history: str) -> None:
    failures = []
    for name, filters, loc, fragment in ERROR_CASES:
        try:
            _list(session_factory, history, {"filters": filters})
        except InvalidFilter as exc:
            locs = [e.loc for e in exc.errors]
            if locs != [loc] or fragment not in exc.errors[0].message:
                failures.append(f"{name}: {locs} {exc.errors[0].message!r}; expected {loc} and {fragment!r}")
        else:
            failures.append(f"{name}: no error")
    assert not failures, "\n".join(failures)


def test_unknown_sort_field_names_the_accepted_set(session_factory: sessionmaker[Session], history: str) -> None:
    with pytest.raises(InvalidSort) as caught:
        _list(session_factory, history, {"sort": {"field": "created_at; DROP TABLE executions", "direction": "asc"}})
    assert caught.value.errors[0].loc == "sort.field"
    assert "accepted: created_at" in caught.value.errors[0].message


def test_not_around_a_case_sensitive_text_match(session_factory):
    """GLOB (SQLite's case-sensitive match) must be a boolean SQL expression that NOT can wrap."""
    from clusterbook.models.filters import parse_filter_tree
    from clusterbook.store.executions import list_executions
    from clusterbook.store.listing import ListQuery, PageRequest
    from tests.factories import make_cluster, make_history

    cluster = make_cluster(session_factory)
    runs = make_history(session_factory, cluster, 2, error_message="Billing failed")
    raw = {"NOT": [{"field": "error_message", "operator": "contains", "value": "Billing"}], "case_sensitive": True}
    lower = {"NOT": [{"field": "error_message", "operator": "contains", "value": "billing"}], "case_sensitive": True}
    with session_factory() as session:

        def matching(tree):
            page = list_executions(
                session,
                cluster_id=cluster.cluster_id,
                query=ListQuery(filter=parse_filter_tree(tree)),
                page=PageRequest(1, 10, 0),
            )
            return sorted(r.run_id for r in page.results)

        assert matching(raw) == []
        assert matching(lower) == sorted(runs)
