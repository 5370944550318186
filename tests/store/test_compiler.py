"""Truth tables of the query compiler, run through the store on SQLite and PostgreSQL.

One fixed history of eight runs and tables of (request, expected runs): filters in every spelling
and operator, null handling, case sensitivity, escaping of LIKE/GLOB metacharacters, sorts and
searches. Each row names the runs it must return (letters a-h for ``run_a`` … ``run_h``); results
come back newest first unless a sort says otherwise. Each table runs as one test per database and
reports every mismatching row at once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.errors import InvalidFilter, InvalidSort
from clusterbook.models.listing import ListClusterExecutionsRequest
from clusterbook.store.executions import execution_values, insert_executions, list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from tests.factories import make_cluster

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(minutes: float, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def _centroid(label: str | None, summary: str | None, keywords: list[str] | None) -> dict[str, Any]:
    return {"cluster_id": "cl_0", "num_members": 10, "label": label, "summary": summary, "keywords": keywords}


HISTORY: dict[str, dict[str, Any]] = {
    "a": {
        "status": "completed",
        "created_at": _at(0),
        "completed_at": _at(0, 2),  # duration 2000
        "num_clusters": 3,
        "num_points": 100,
        "metrics": {"silhouette_score": 0.8, "davies_bouldin_index": 0.5, "calinski_harabasz_score": 300.0},
        "centroids": [_centroid("Billing", "Invoices and refunds", ["invoice", "refund"])],
        "algorithm": "kmeans",
    },
    "b": {
        "status": "completed",
        "created_at": _at(1),
        "completed_at": _at(1, 5),  # 5000
        "num_clusters": 5,
        "num_points": 250,
        "metrics": {"silhouette_score": 0.3, "davies_bouldin_index": 1.2, "calinski_harabasz_score": 150.0},
        "centroids": [_centroid("Login", "Password resets", ["password", "2fa"])],
        "algorithm": "HDBSCAN",
    },
    "c": {
        "status": "failed",
        "created_at": _at(2),
        "completed_at": _at(2, 1),  # 1000
        "num_points": 50,
        "error_message": "Timeout after 30s",
        "algorithm": "kmeans",
    },
    "d": {
        "status": "failed",
        "created_at": _at(2),  # same instant as c
        "completed_at": _at(2, 3),  # 3000
        "num_points": 75,
        "error_message": "Out of memory (OOM) in 100%_batch",
    },
    "e": {"status": "pending", "created_at": _at(4)},
    "f": {"status": "processing", "created_at": _at(5), "started_at": _at(5, 1), "num_points": 500},
    "g": {
        "status": "canceled",
        "created_at": _at(6),
        "completed_at": _at(6, 0.5),  # 500
        "error_message": "Canceled by user",
    },
    "h": {
        "status": "completed",
        "created_at": _at(7),
        "completed_at": _at(7, 10),  # 10000
        "num_clusters": 4,
        "num_points": 1000,
        "metrics": {"silhouette_score": -0.1, "davies_bouldin_index": None, "calinski_harabasz_score": 900.5},
        "centroids": [_centroid("Shipping_Delays", "Late parcels", ["courier", "DELAY"])],
        "algorithm": "kmeans",
    },
}
for _spec in HISTORY.values():  # durations as recorded (created..completed), whatever started_at says
    if "completed_at" in _spec:
        _spec.setdefault("duration_ms", (_spec["completed_at"] - _spec["created_at"]).total_seconds() * 1000.0)
NEWEST_FIRST = "hgfedcba"  # c and d tie on created_at: run_id breaks the tie in the same direction


def cond(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"field": field, "operator": op, **extra}
    if value is not None or op in ("eq", "==", "ne", "!="):
        body["value"] = value
    return body


def group(op: str, *conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operator": op, "conditions": list(conditions), **extra}


FILTER_CASES: list[tuple[str, Any, str]] = [
    # no filter
    ("none", None, "abcdefgh"),
    ("empty object", {}, "abcdefgh"),
    ("empty group", group("AND"), "abcdefgh"),
    ("empty OR group", group("OR"), "abcdefgh"),
    ("empty NOT", {"NOT": []}, "abcdefgh"),
    # enum
    ("status eq", group("AND", cond("status", "eq", "completed")), "abh"),
    ("status eq any case", group("AND", cond("status", "==", "FAILED")), "cd"),
    ("status ne", group("AND", cond("status", "!=", "completed")), "cdefg"),
    ("status in", group("AND", cond("status", "in", ["pending", "Processing"])), "ef"),
    ("status nin", group("AND", cond("status", "nin", ["completed", "failed"])), "efg"),
    ("status shorthand", {"status": "canceled"}, "g"),
    ("status shorthand list", {"status": ["pending", "canceled"]}, "eg"),
    ("status shorthand operator", {"status": {"ne": "pending"}}, "abcdfgh"),
    # integers
    ("num_points gt", group("AND", cond("num_points", ">", 250)), "fh"),
    ("num_points gte", group("AND", cond("num_points", ">=", 250)), "bfh"),
    ("num_points lt", group("AND", cond("num_points", "<", 75)), "ceg"),
    ("num_points lte float", group("AND", cond("num_points", "lte", 75.5)), "cdeg"),
    ("num_points eq 0", group("AND", cond("num_points", "eq", 0)), "eg"),
    ("num_clusters in", group("AND", cond("num_clusters", "in", [3, 4])), "ah"),
    ("num_clusters nin", group("AND", cond("num_clusters", "nin", [0])), "abh"),
    ("huge integer", group("AND", cond("num_points", "lt", 10**30)), "abcdefgh"),
    ("huge negative integer", group("AND", cond("num_points", "gt", -(2**64))), "abcdefgh"),
    ("beyond 32 bits", group("AND", cond("num_points", "lt", 2**40)), "abcdefgh"),
    ("beyond 32 bits eq", group("AND", cond("num_points", "eq", 2**31)), ""),
    ("beyond 32 bits nin", group("AND", cond("num_points", "nin", [2**31, 100])), "bcdefgh"),
    ("integral float", group("AND", cond("num_clusters", "in", [3.0])), "a"),
    ("mixed list on integers", group("AND", cond("num_clusters", "in", [3, 0.5])), "a"),
    ("mixed nin on integers", group("AND", cond("num_clusters", "nin", [5, 0.5])), "acdefgh"),
    ("fraction on integers", group("AND", cond("num_clusters", "lt", 0.5)), "cdefg"),
    # numbers with nulls: ordering never matches null, ne/nin are null-safe
    ("silhouette gt", group("AND", cond("metrics.silhouette_score", "gt", 0.25)), "ab"),
    ("silhouette lte", group("AND", cond("metrics.silhouette_score", "lte", 0.3)), "bh"),
    ("silhouette lt 0", group("AND", cond("silhouette_score", "lt", 0)), "h"),
    ("silhouette ne", group("AND", cond("metrics.silhouette_score", "ne", 0.8)), "bcdefgh"),
    ("silhouette nin", group("AND", cond("metrics.silhouette_score", "nin", [0.8, 0.3])), "cdefgh"),
    ("silhouette in", group("AND", cond("metrics.silhouette_score", "in", [0.8, -0.1])), "ah"),
    ("silhouette eq null", group("AND", cond("metrics.silhouette_score", "eq", None)), "cdefg"),
    ("silhouette ne null", group("AND", cond("metrics.silhouette_score", "ne", None)), "abh"),
    ("silhouette exists", group("AND", cond("metrics.silhouette_score", "exists", True)), "abh"),
    ("silhouette exists false", group("AND", cond("metrics.silhouette_score", "exists", False)), "cdefg"),
    ("dbi is_null", group("AND", cond("metrics.davies_bouldin_index", "is_null", True)), "cdefgh"),
    ("dbi is_null false", group("AND", cond("metrics.davies_bouldin_index", "is_null", False)), "ab"),
    ("is_null default operand", group("AND", {"field": "error_message", "operator": "is_null"}), "abefh"),
    ("shorthand null", {"error_message": None}, "abefh"),
    ("calinski gte", group("AND", cond("metrics.calinski_harabasz_score", "gte", 300)), "ah"),
    ("calinski eq integer", group("AND", cond("metrics.calinski_harabasz_score", "eq", 300)), "a"),
    ("mixed list on a metric", group("AND", cond("metrics.silhouette_score", "in", [1, 0.8])), "a"),
    ("float list on a metric", group("AND", cond("metrics.silhouette_score", "in", [0.3, -0.1])), "bh"),
    ("duration gt", group("AND", cond("duration", "gt", 2000)), "bdh"),
    ("duration alias", group("AND", cond("duration_ms", "lte", 1000)), "cg"),
    ("duration null", group("AND", cond("duration", "is_null", True)), "ef"),
    # NOT around conditions that cannot match null keeps the null rows (no SQL unknown)
    ("NOT silhouette gt", {"NOT": [cond("metrics.silhouette_score", "gt", 0.25)]}, "cdefgh"),
    ("NOT error contains", {"NOT": [cond("error_message", "contains", "o")]}, "abefgh"),
    ("NOT status in", {"NOT": [cond("status", "in", ["completed", "failed"])]}, "efg"),
    ("NOT group", group("NOT", cond("metrics.calinski_harabasz_score", "eq", 300)), "bcdefgh"),
    ("NOT of two", {"NOT": [cond("status", "eq", "failed"), cond("num_points", "gte", 500)]}, "abeg"),
    # datetimes
    ("created_at gt", group("AND", cond("created_at", "gt", "2026-01-01T00:04:00Z")), "fgh"),
    ("created_at gte", group("AND", cond("created_at", "gte", "2026-01-01T00:04:00+00:00")), "efgh"),
    ("created_at other zone", group("AND", cond("created_at", "lt", "2025-12-31T19:02:00-05:00")), "ab"),
    ("created_at naive is UTC", group("AND", cond("created_at", "lte", "2026-01-01T00:02:00")), "abcd"),
    ("created_at eq tie", group("AND", cond("created_at", "eq", "2026-01-01T00:02:00Z")), "cd"),
    ("created_at date only", group("AND", cond("created_at", "gte", "2026-01-01")), "abcdefgh"),
    ("created_at in", group("AND", cond("created_at", "in", ["2026-01-01T00:00:00Z", "2026-01-01T00:07:00Z"])), "ah"),
    ("completed_at lt", group("AND", cond("completed_at", "lt", "2026-01-01T00:02:02Z")), "abc"),
    ("completed_at ne", group("AND", cond("completed_at", "ne", "2026-01-01T00:00:02Z")), "bcdefgh"),
    ("completed_at null", group("AND", cond("completed_at", "is_null", True)), "ef"),
    ("started_at exists", group("AND", cond("started_at", "exists", True)), "f"),
    # strings: case-insensitive unless case_sensitive, metacharacters literal
    ("error contains", group("AND", cond("error_message", "contains", "OUT")), "cd"),
    ("error contains cs", group("AND", cond("error_message", "contains", "Out", case_sensitive=True)), "d"),
    ("error contains cs miss", group("AND", cond("error_message", "contains", "OUT", case_sensitive=True)), ""),
    ("error starts_with", group("AND", cond("error_message", "starts_with", "timeout")), "c"),
    ("error ends_with", group("AND", cond("error_message", "ends_with", "USER")), "g"),
    ("error ends_with cs", group("AND", cond("error_message", "ends_with", "USER", case_sensitive=True)), ""),
    ("percent literal", group("AND", cond("error_message", "contains", "100%_b")), "d"),
    ("percent not wildcard", group("AND", cond("error_message", "contains", "1%b")), ""),
    ("underscore not wildcard", group("AND", cond("error_message", "contains", "0_")), ""),
    ("parenthesis", group("AND", cond("error_message", "contains", "(oom)")), "d"),
    ("glob star literal", group("AND", cond("error_message", "contains", "*", case_sensitive=True)), ""),
    ("glob bracket cs", group("AND", cond("error_message", "contains", "(OOM)", case_sensitive=True)), "d"),
    ("error eq", group("AND", cond("error_message", "eq", "canceled BY user")), "g"),
    ("error eq cs", group("AND", cond("error_message", "eq", "canceled BY user", case_sensitive=True)), ""),
    ("error ne null-safe", group("AND", cond("error_message", "ne", "Canceled by user")), "abcdefh"),
    ("error nin null-safe", group("AND", cond("error_message", "nin", ["timeout after 30s"])), "abdefgh"),
    ("error in", group("AND", cond("error_message", "in", ["TIMEOUT AFTER 30S", "nope"])), "c"),
    ("run_id eq", group("AND", cond("run_id", "eq", "RUN_B")), "b"),
    ("run_id starts_with", group("AND", cond("run_id", "starts_with", "run_")), "abcdefgh"),
    ("algorithm eq", group("AND", cond("algorithm", "eq", "hdbscan")), "b"),
    ("algorithm eq cs", group("AND", cond("algorithm", "eq", "hdbscan", case_sensitive=True)), ""),
    ("algorithm ne", group("AND", cond("algorithm", "ne", "kmeans")), "bdefg"),
    ("group case_sensitive inherited", group("AND", cond("algorithm", "eq", "KMEANS"), case_sensitive=True), ""),
    (
        "condition overrides group case",
        group("AND", cond("algorithm", "eq", "KMEANS", case_sensitive=False), case_sensitive=True),
        "ach",
    ),
    ("keyed case_sensitive", {"AND": [cond("algorithm", "eq", "HDBSCAN")], "case_sensitive": True}, "b"),
    ("shorthand inherits case", {"algorithm": "KMEANS", "case_sensitive": True}, ""),
    # logic and spellings
    ("AND", group("AND", cond("status", "eq", "completed"), cond("num_points", "gt", 100)), "bh"),
    ("OR", group("OR", cond("status", "eq", "pending"), cond("num_points", "gte", 1000)), "eh"),
    ("lowercase operator", group("or", cond("status", "eq", "pending"), cond("status", "eq", "canceled")), "eg"),
    ("keyed AND", {"AND": [cond("status", "eq", "completed"), cond("num_points", "gt", 100)]}, "bh"),
    ("keyed OR", {"OR": [cond("status", "eq", "pending"), cond("num_points", "gte", 1000)]}, "eh"),
    (
        "keyed AND OR NOT together",
        {
            "AND": [cond("num_points", "gte", 50)],
            "OR": [cond("status", "eq", "failed"), cond("status", "eq", "completed")],
            "NOT": [cond("error_message", "contains", "timeout")],
        },
        "abdh",
    ),
    (
        "shorthand beside logic",
        {"status": "completed", "OR": [cond("num_points", "lt", 200), {"num_clusters": 4}]},
        "ah",
    ),
    ("shorthand two operators", {"num_points": {"gt": 50, "lt": 500}}, "abd"),
    (
        "nested groups",
        group(
            "OR",
            group("AND", cond("status", "eq", "completed"), cond("metrics.silhouette_score", "lt", 0.5)),
            group("AND", cond("status", "eq", "failed"), group("NOT", cond("error_message", "contains", "oom"))),
        ),
        "bch",
    ),
    ("bare condition", cond("status", "eq", "processing"), "f"),
]


def _load_history(session_factory: sessionmaker[Session]) -> str:
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, run_id=f"run_{key}", **fields
        )
        for key, fields in HISTORY.items()
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    return cluster.cluster_id


def _list(session_factory: sessionmaker[Session], cluster_id: str, body: dict[str, Any], size: int = 100) -> list[str]:
    request = ListClusterExecutionsRequest.model_validate(body)
    query = ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)
    with session_factory() as session, session.begin():
        page = list_executions(session, cluster_id=cluster_id, query=query, page=PageRequest(1, size, 0))
    assert page.total == len(page.results) or len(page.results) == size
    return [r.run_id.removeprefix("run_") for r in page.results]


@pytest.fixture
def history(session_factory: sessionmaker[Session]) -> str:
    return _load_history(session_factory)


def test_filter_truth_table(session_factory: sessionmaker[Session], history: str) -> None:
    """Every row of FILTER_CASES; all mismatches are reported together."""
    failures = []
    for name, filters, expected in FILTER_CASES:
        got = "".join(_list(session_factory, history, {"filters": filters}))
        want = "".join(key for key in NEWEST_FIRST if key in expected)
        if got != want:
            failures.append(f"{name}: got {got!r}, expected {want!r} for {filters!r}")
    assert not failures, "\n".join(failures)


SORT_CASES: list[tuple[str, str, str]] = [
    ("created_at", "desc", "hgfedcba"),
    ("created_at", "asc", "abcdefgh"),
    ("completed_at", "desc", "hgdcbafe"),  # nulls last, among themselves by run_id descending
    ("completed_at", "asc", "abcdghef"),  # nulls last, among themselves by run_id ascending
    ("started_at", "asc", "fabcdegh"),
    ("started_at", "desc", "fhgedcba"),
    ("num_points", "desc", "hfbadcge"),  # e and g tie on 0: run_id descending
    ("num_points", "asc", "egcdabfh"),
    ("metrics.silhouette_score", "desc", "abhgfedc"),
    ("metrics.silhouette_score", "asc", "hbacdefg"),
    ("davies_bouldin_index", "asc", "abcdefgh"),
    ("metrics.calinski_harabasz_score", "desc", "hab" + "gfedc"),
    ("duration", "asc", "gcadbhef"),
    ("duration_ms", "desc", "hbdacgfe"),
    ("num_clusters", "desc", "bhagfedc"),
    ("status", "asc", "gabhcdef"),  # canceled, completed, failed, pending, processing
    ("status", "desc", "fedchbag"),
    ("error_message", "asc", "gdcabefh"),  # "Canceled…" < "Out…" < "Timeout…", then nulls
    ("run_id", "desc", "hgfedcba"),
    ("algorithm", "asc", "bachdefg"),  # "HDBSCAN" < "kmeans" (byte order), then nulls
]


def test_sort_truth_table(session_factory: sessionmaker[Session], history: str) -> None:
    """Nulls last in both directions; ties broken by run_id in the sort's direction."""
    failures = []
    for field, direction, expected in SORT_CASES:
        got = "".join(_list(session_factory, history, {"sort": {"field": field, "direction": direction}}))
        if got != expected:
            failures.append(f"{field} {direction}: got {got!r}, expected {expected!r}")
    assert not failures, "\n".join(failures)


SEARCH_CASES: list[tuple[str, str]] = [
    ("billing", "a"),
    ("BILL", "a"),
    ("refund", "a"),  # keyword
    ("parcels", "h"),  # summary
    ("delay", "h"),  # keyword stored in upper case
    ("shipping_delays", "h"),  # label with an underscore
    ("ing_d", "h"),
    ("g_d", "h"),  # under three characters: still a substring match
    ("_", "abcdefgh"),  # every run id has one
    ("%", "d"),
    ("100%_", "d"),
    ("(oom)", "d"),
    ("timeout", "c"),
    ("run_c", "c"),  # the run id
    ("run_", "abcdefgh"),
    ("o", "abcdh"),
    ("out of", "d"),  # terms are AND-ed, each a substring somewhere
    ("timeout of", ""),
    ("memory out", "d"),
    ("login 2fa", "b"),
    ("login billing", ""),
    ("  login   ", "b"),
    ("*", ""),
    ("[", ""),
    ("zzz", ""),
]


def test_search_truth_table(session_factory: sessionmaker[Session], history: str) -> None:
    failures = []
    for search, expected in SEARCH_CASES:
        got = "".join(_list(session_factory, history, {"search": search}))
        want = "".join(key for key in NEWEST_FIRST if key in expected)
        if got != want:
            failures.append(f"{search!r}: got {got!r}, expected {want!r}")
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
