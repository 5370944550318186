"""Property tests of the execution-history listing against a plain Python reference.

Hypothesis draws small random histories (statuses, tied timestamps, nullable metrics and times,
error messages, centroids with labels and keywords) and random requests (filter trees in all three
spellings, sorts, searches, page sizes). The store's answer must equal what the reference below
computes from the same rows, and walking all pages — by page number, by keyset, and by cursor over
real HTTP — must yield every matching row exactly once, in order.

The reference follows the semantics the compiler documents: ``ne``/``nin`` are null-safe, ordering
operators never match null, strings compare case-insensitively unless ``case_sensitive``; sorts put
nulls last in both directions and break ties by run_id in the same direction; search requires every
whitespace-separated term to be a case-insensitive substring of the run id, the error message or a
centroid's label, summary or keyword. A condition is simply true or false for a row (no SQL
three-valued logic), so ``NOT`` of a condition that does not match a null matches the row.
"""

from __future__ import annotations

import itertools
import math
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.folding import fold
from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.listing import (
    MAX_SEARCH_TERMS,
    MAX_SHORT_TERMS,
    MIN_INDEXED_TERM,
    ListClusterExecutionsRequest,
)
from clusterbook.store.clusters import create_cluster
from clusterbook.store.compiler import parse_datetime
from clusterbook.store.executions import execution_values, insert_executions, list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.namespaces import ensure_namespace

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STATUSES = ("pending", "processing", "completed", "failed", "canceled")
FINISHED = ("completed", "failed")

# Request field -> key of the stored row, and its kind (as in store/fields.py).
FIELDS: dict[str, tuple[str, str]] = {
    "status": ("status", "enum"),
    "created_at": ("created_at", "datetime"),
    "completed_at": ("completed_at", "datetime"),
    "started_at": ("started_at", "datetime"),
    "num_clusters": ("num_clusters", "integer"),
    "num_points": ("num_points", "integer"),
    "metrics.silhouette_score": ("silhouette_score", "number"),
    "metrics.davies_bouldin_index": ("davies_bouldin_index", "number"),
    "metrics.calinski_harabasz_score": ("calinski_harabasz_score", "number"),
    "duration": ("duration_ms", "number"),
    "run_id": ("run_id", "string"),
    "error_message": ("error_message", "string"),
    "algorithm": ("algorithm", "string"),
}
ALIASES = {
    "silhouette_score": "metrics.silhouette_score",
    "davies_bouldin_index": "metrics.davies_bouldin_index",
    "duration_ms": "duration",
}
OPERATORS = {
    "enum": ("eq", "ne", "in", "nin", "exists", "is_null"),
    "string": ("eq", "ne", "in", "nin", "contains", "starts_with", "ends_with", "exists", "is_null"),
    "datetime": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
    "integer": ("eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "exists", "is_null"),
}
SPELLINGS = {
    "eq": ("eq", "==", "="),
    "ne": ("ne", "!=", "<>"),
    "gt": ("gt", ">"),
    "gte": ("gte", ">="),
    "lt": ("lt", "<"),
    "lte": ("lte", "<="),
    "in": ("in",),
    "nin": ("nin", "not_in"),
    "contains": ("contains",),
    "starts_with": ("starts_with",),
    "ends_with": ("ends_with",),
    "exists": ("exists",),
    "is_null": ("is_null",),
}
SORT_FIELDS = (
    "created_at",
    "completed_at",
    "started_at",
    "num_clusters",
    "num_points",
    "metrics.silhouette_score",
    "metrics.davies_bouldin_index",
    "metrics.calinski_harabasz_score",
    "status",
    "duration",
    "run_id",
    "error_message",
    "algorithm",
)
# SQLite's lower() folds ASCII only, so every generated string stays ASCII. The punctuation
# includes the LIKE and GLOB metacharacters, which must match literally.
WORDS = ("Billing", "refund", "Timeout", "OOM", "login", "2FA", "Invoice-42", "data_set", "100%", "a*b", "[x]", "q?")
ALPHABET = string.ascii_letters + string.digits + "_-%*?[]\\.:\"'()"
METRIC_VALUES = (-0.5, 0.0, 0.25, 0.5, 0.9)
ALGORITHMS = ("kmeans", "KMeans", "hdbscan", "Agglomerative")

_tags = itertools.count()
PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------- histories


words = st.sampled_from(WORDS) | st.text(ALPHABET, min_size=1, max_size=6)
phrases = st.lists(words, min_size=1, max_size=4).map(" ".join)
maybe_metric = st.none() | st.sampled_from(METRIC_VALUES) | st.floats(-1, 1, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def centroid_lists(draw: st.DrawFn) -> list[dict[str, Any]] | None:
    if draw(st.booleans()):
        return None
    count = draw(st.integers(0, 3))
    return [
        {
            "cluster_id": f"cl_{i}",
            "num_members": draw(st.integers(1, 50)),
            "label": draw(st.none() | words),
            "summary": draw(st.none() | phrases),
            "keywords": draw(st.none() | st.lists(words, max_size=3)),
            # the agreement and stability additions must round-trip too (null when not computed)
            "baseline_cluster_id": draw(st.none() | st.integers(0, 3).map(lambda n: f"cl_{n}")),
            "jaccard": draw(st.none() | st.sampled_from((0.0, 0.25, 1.0))),
            "baseline_label": draw(st.none() | words),
            "stability": draw(st.none() | st.sampled_from((0.5, 0.95))),
        }
        for i in range(count)
    ]


@st.composite
def row_specs(draw: st.DrawFn, body: str) -> dict[str, Any]:
    """Wire-style fields of one run (the run id is completed when the history is stored)."""
    # Few distinct minutes, so created_at ties are common.
    created = BASE + timedelta(minutes=draw(st.integers(0, 6)), microseconds=draw(st.sampled_from((0, 0, 0, 250))))
    status = draw(st.sampled_from(STATUSES))
    started = draw(st.none() | st.integers(0, 5).map(lambda s: created + timedelta(seconds=s)))
    completed = draw(st.none() | st.integers(0, 3).map(lambda s: created + timedelta(seconds=s)))
    duration = draw(st.none() | st.sampled_from((0.0, 1500.0, 2000.0, 1234.5)))
    return {
        "body": body,
        "status": status,
        "created_at": created,
        "started_at": started,
        "completed_at": completed,
        # execution_values derives the duration from completed_at when none is given.
        "duration_ms": duration,
        "num_clusters": draw(st.integers(0, 4)),
        "num_points": draw(st.integers(0, 3) | st.integers(0, 1000)),
        "metrics": {
            "silhouette_score": draw(maybe_metric),
            "davies_bouldin_index": draw(maybe_metric),
            "calinski_harabasz_score": draw(st.none() | st.sampled_from((10.0, 250.5, 1e4))),
        },
        "centroids": draw(centroid_lists()),
        "error_message": draw(st.none() | phrases),
        "algorithm": draw(st.none() | st.sampled_from(ALGORITHMS)),
    }


@st.composite
def histories(draw: st.DrawFn, max_rows: int = 40) -> list[dict[str, Any]]:
    count = draw(st.integers(0, max_rows))
    body = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=5)
    bodies = draw(st.lists(body, unique=True, min_size=count, max_size=count))
    return [draw(row_specs(body)) for body in bodies]


def store_history(factory: sessionmaker[Session], specs: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """A fresh cluster holding the runs; returns its id and the stored rows (the reference data)."""
    tag = next(_tags)
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name="default")
        cluster = create_cluster(session, namespace_id=ns.namespace_id, data=ClusterCreate(cluster_name=f"prop-{tag}"))
        rows = []
        for spec in specs:
            fields = {k: v for k, v in spec.items() if k != "body"}
            rows.append(
                execution_values(
                    namespace_id=ns.namespace_id,
                    cluster_id=cluster.cluster_id,
                    run_id=f"run_{spec['body']}_{tag}",
                    **fields,
                )
            )
        insert_executions(session, rows)
    return cluster.cluster_id, rows


# ---------------------------------------------------------------- filters: generation and rendering


@dataclass(frozen=True)
class Cond:
    field: str
    op: str
    value: Any
    case_sensitive: bool | None  # None: inherit


@dataclass(frozen=True)
class Grp:
    kind: str  # and | or | not
    children: tuple[Cond | Grp, ...]
    case_sensitive: bool | None


def _iso(dt: datetime, style: int) -> str:
    if style == 0:
        return dt.isoformat()
    if style == 1:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == 2:
        return dt.astimezone(timezone(timedelta(hours=-5))).isoformat()
    return dt.replace(tzinfo=None).isoformat()  # naive means UTC


def _recase(draw: st.DrawFn, text: str) -> str:
    return draw(st.sampled_from((text, text.lower(), text.upper(), text.swapcase())))


def operand(draw: st.DrawFn, field: str, rows: list[dict[str, Any]]) -> Any:
    """One value for ``field``: usually one that occurs in the rows (so filters match), sometimes not."""
    column, kind = FIELDS[field]
    present = [row[column] for row in rows if row[column] is not None]
    if kind == "enum":
        return _recase(draw, draw(st.sampled_from(STATUSES)))
    if kind == "datetime":
        if present and draw(st.integers(0, 3)):
            moment = draw(st.sampled_from(present)) + timedelta(seconds=draw(st.sampled_from((0, 0, -1, 1))))
        else:
            moment = BASE + timedelta(minutes=draw(st.integers(-2, 9)))
        if draw(st.integers(0, 9)) == 0:
            return moment.date().isoformat()
        return _iso(moment, draw(st.integers(0, 3)))
    if kind in ("number", "integer"):
        if present and draw(st.integers(0, 3)):
            base = draw(st.sampled_from(present))
            return base + draw(st.sampled_from((0, 0, 1, -1, 0.5)))
        return draw(st.sampled_from((0, 1, 2, 0.5, -0.5, 100, 2000.0, 2**31, 2**40, -(2**63), 10**20, 1e10)))
    # strings: a whole value, a piece of one, or a vocabulary word, in any case
    if present and draw(st.integers(0, 3)):
        text = draw(st.sampled_from(present))
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, len(text)))
        text = draw(st.sampled_from((text, text[start:end] or text)))
    else:
        text = draw(words)
    return _recase(draw, text)


@st.composite
def conditions(draw: st.DrawFn, rows: list[dict[str, Any]]) -> Cond:
    field = draw(st.sampled_from(sorted(FIELDS)))
    kind = FIELDS[field][1]
    op = draw(st.sampled_from(OPERATORS[kind]))
    if op in ("exists", "is_null"):
        value: Any = draw(st.booleans())
    elif op in ("in", "nin"):
        value = [operand(draw, field, rows) for _ in range(draw(st.integers(1, 3)))]
    elif op in ("eq", "ne") and draw(st.integers(0, 7)) == 0:
        value = None
    else:
        value = operand(draw, field, rows)
    cs = draw(st.none() | st.booleans()) if kind == "string" else None
    return Cond(field, op, value, cs)


@st.composite
def filter_trees(draw: st.DrawFn, rows: list[dict[str, Any]], depth: int = 0) -> Cond | Grp:
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(conditions(rows))
    kind = draw(st.sampled_from(("and", "or", "not")))
    children = tuple(draw(filter_trees(rows, depth + 1)) for _ in range(draw(st.integers(0, 3))))
    return Grp(kind, children, draw(st.none() | st.booleans()))


def render_condition(draw: st.DrawFn, cond: Cond) -> dict[str, Any]:
    body: dict[str, Any] = {
        "field": draw(st.sampled_from([cond.field] + [a for a, f in ALIASES.items() if f == cond.field])),
        "operator": draw(st.sampled_from(SPELLINGS[cond.op])),
        "value": cond.value,
    }
    if cond.op in ("exists", "is_null") and cond.value is True and draw(st.booleans()):
        del body["value"]  # true is the default operand of exists / is_null
    if cond.case_sensitive is not None:
        body["case_sensitive"] = cond.case_sensitive
    return body


def shorthand(draw: st.DrawFn, cond: Cond) -> Any:
    """The value of ``{field: ...}`` for a condition, in one of its shorthand forms."""
    if cond.op == "eq" and cond.value is not None and not isinstance(cond.value, list) and draw(st.booleans()):
        return cond.value
    if cond.op == "in" and draw(st.booleans()):
        return cond.value
    if cond.op == "is_null" and cond.value is True and draw(st.booleans()):
        return None
    return {draw(st.sampled_from(SPELLINGS[cond.op])): cond.value}


def render(draw: st.DrawFn, node: Cond | Grp) -> dict[str, Any]:
    """The JSON of a tree, each group in a randomly chosen spelling."""
    if isinstance(node, Cond):
        return render_condition(draw, node)
    extra = {} if node.case_sensitive is None else {"case_sensitive": node.case_sensitive}
    if draw(st.booleans()):
        conds = [render(draw, child) for child in node.children]
        return {"operator": draw(st.sampled_from((node.kind.upper(), node.kind))), "conditions": conds, **extra}
    key = node.kind.upper()
    if node.kind == "and":
        # Conditions that inherit case sensitivity may become shorthand keys (one per field).
        out: dict[str, Any] = dict(extra)
        rest: list[Cond | Grp] = []
        for child in node.children:
            usable = isinstance(child, Cond) and child.case_sensitive is None and child.field not in out
            if usable and draw(st.booleans()):
                assert isinstance(child, Cond)
                out[child.field] = shorthand(draw, child)
            else:
                rest.append(child)
        if rest or len(out) == len(extra):
            out["AND"] = [render(draw, child) for child in rest]
        return out
    return {key: [render(draw, child) for child in node.children], **extra}


@st.composite
def rendered_filters(draw: st.DrawFn, rows: list[dict[str, Any]]) -> tuple[Cond | Grp | None, Any]:
    if draw(st.integers(0, 4)) == 0:
        return None, draw(st.sampled_from((None, {})))
    tree = draw(filter_trees(rows))
    if isinstance(tree, Cond):
        # A lone condition is sent as a one-condition group or as a bare condition object.
        if draw(st.booleans()):
            tree = Grp("and", (tree,), None)
        else:
            return tree, render_condition(draw, tree)
    return tree, render(draw, tree)


@st.composite
def searches(draw: st.DrawFn, rows: list[dict[str, Any]]) -> str | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    pieces = []
    texts = [row["search_text"] for row in rows]
    # Terms from one run's text usually match together; terms from anywhere usually do not.
    one_run = draw(st.sampled_from(texts)) if texts else ""
    for _ in range(draw(st.integers(0, 3))):
        if texts and draw(st.integers(0, 3)):
            text = one_run if draw(st.integers(0, 2)) else draw(st.sampled_from(texts))
            start = draw(st.integers(0, len(text)))
            piece = text[start : start + draw(st.integers(1, 6))]
        else:
            piece = draw(words)
        pieces.append(_recase(draw, piece))
    separator = draw(st.sampled_from((" ", "  ", " \t")))
    search = draw(st.sampled_from(("", " "))) + separator.join(pieces)
    # within the request's own bounds (pieces cut from texts may hold several short terms): a search
    # beyond them is a 422, tested with the API, not a listing to compare
    terms = set(fold(search).split())
    if len(terms) > MAX_SEARCH_TERMS or sum(len(t) < MIN_INDEXED_TERM for t in terms) > MAX_SHORT_TERMS:
        return None
    return search


@dataclass
class Scenario:
    specs: list[dict[str, Any]]
    tree: Cond | Grp | None
    filters: Any
    sort: dict[str, str] | None
    search: str | None
    page_size: int


@st.composite
def scenarios(draw: st.DrawFn, max_rows: int = 40) -> Scenario:
    specs = draw(histories(max_rows))
    # Preview rows with the values the store derives, so operands can be drawn from them.
    preview = [
        execution_values(
            namespace_id="ns",
            cluster_id="c",
            run_id=f"run_{s['body']}_0",
            **{k: v for k, v in s.items() if k != "body"},
        )
        for s in specs
    ]
    tree, filters = draw(rendered_filters(preview))
    sort = None
    if draw(st.integers(0, 3)):
        sort = {"field": draw(st.sampled_from(SORT_FIELDS)), "direction": draw(st.sampled_from(("asc", "desc", "ASC")))}
    return Scenario(specs, tree, filters, sort, draw(searches(preview)), draw(st.integers(1, 12)))


# ---------------------------------------------------------------- the reference


def _fold(value: Any, kind: str, case_sensitive: bool) -> Any:
    if kind == "enum":
        return value.lower()
    if kind == "string" and not case_sensitive:
        return value.lower()
    if kind == "datetime":
        parsed = parse_datetime(value)
        assert parsed is not None
        return parsed
    return value


def condition_matches(cond: Cond, row: dict[str, Any], inherited: bool) -> bool:
    column, kind = FIELDS[cond.field]
    case_sensitive = inherited if cond.case_sensitive is None else cond.case_sensitive
    stored = row[column]
    op, value = cond.op, cond.value
    if op == "exists":
        return (stored is not None) == value
    if op == "is_null":
        return (stored is None) == value
    if value is None:  # eq / ne null
        return (stored is None) == (op == "eq")
    if stored is None:
        return op in ("ne", "nin")  # null-safe negations; nothing else matches a null
    if kind == "string" and not case_sensitive:
        stored = stored.lower()
    if op in ("in", "nin"):
        found = stored in [_fold(v, kind, case_sensitive) for v in value]
        return found if op == "in" else not found
    operand_ = _fold(value, kind, case_sensitive)
    return {
        "eq": lambda: stored == operand_,
        "ne": lambda: stored != operand_,
        "gt": lambda: stored > operand_,
        "gte": lambda: stored >= operand_,
        "lt": lambda: stored < operand_,
        "lte": lambda: stored <= operand_,
        "contains": lambda: operand_ in stored,
        "starts_with": lambda: stored.startswith(operand_),
        "ends_with": lambda: stored.endswith(operand_),
    }[op]()


def tree_matches(node: Cond | Grp | None, row: dict[str, Any], inherited: bool = False) -> bool:
    if node is None:
        return True
    if isinstance(node, Cond):
        return condition_matches(node, row, inherited)
    case_sensitive = inherited if node.case_sensitive is None else node.case_sensitive
    results = [tree_matches(child, row, case_sensitive) for child in node.children]
    if node.kind == "and":
        return all(results)
    if node.kind == "or":
        return any(results) or not results  # an empty group is no constraint
    return not any(results) or not results


def search_matches(search: str | None, row: dict[str, Any]) -> bool:
    texts = [row["run_id"], row["error_message"] or ""]
    for centroid in row["centroids"] or ():
        texts += [centroid["label"] or "", centroid["summary"] or "", *(centroid["keywords"] or ())]
    lowered = [text.lower() for text in texts]
    return all(any(term.lower() in text for text in lowered) for term in (search or "").split())


def reference_order(rows: list[dict[str, Any]], sort: dict[str, str] | None) -> list[dict[str, Any]]:
    field = sort["field"] if sort else "created_at"
    descending = (sort["direction"].lower() == "desc") if sort else True
    column = FIELDS[field][0]
    present = sorted(
        (r for r in rows if r[column] is not None), key=lambda r: (r[column], r["run_id"]), reverse=descending
    )
    missing = sorted((r for r in rows if r[column] is None), key=lambda r: r["run_id"], reverse=descending)
    return present + missing


def reference(scenario: Scenario, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    matching = [r for r in rows if tree_matches(scenario.tree, r) and search_matches(scenario.search, r)]
    return reference_order(matching, scenario.sort)


def reference_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
    durations = [r["duration_ms"] for r in rows if r["status"] in FINISHED and r["duration_ms"] is not None]
    return {
        "total_executions": len(rows),
        "executions_by_status": by_status,
        "avg_execution_time_ms": sum(durations) / len(durations) if durations else 0.0,
        "total_documents_clustered": sum(r["num_points"] for r in rows),
        "avg_num_clusters": sum(r["num_clusters"] for r in rows) / len(rows) if rows else 0.0,
    }


# ---------------------------------------------------------------- helpers


def request_body(scenario: Scenario) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if scenario.filters is not None:
        body["filters"] = scenario.filters
    if scenario.sort is not None:
        body["sort"] = scenario.sort
    if scenario.search is not None:
        body["search"] = scenario.search
    return body


def list_query(scenario: Scenario) -> ListQuery:
    """The ListQuery the route builds from the same body."""
    request = ListClusterExecutionsRequest.model_validate(request_body(scenario))
    return ListQuery(request.filter_tree(), request.sort, tuple(request.search_terms()), request.filters)


def page_of(number: int, size: int) -> PageRequest:
    return PageRequest(number, size, (number - 1) * size)


def assert_stats_equal(actual: Any, expected: dict[str, Any]) -> None:
    got = actual.model_dump()
    for key in ("avg_execution_time_ms", "avg_num_clusters"):
        assert math.isclose(got.pop(key), expected.pop(key), rel_tol=1e-9, abs_tol=1e-9), key
    assert got == expected


def explain(scenario: Scenario) -> str:
    return f"body={request_body(scenario)!r} tree={scenario.tree!r}"


# ---------------------------------------------------------------- properties


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(scenario=scenarios(), page_number=st.integers(1, 4))
@pytest.mark.usefixtures("db_url")
@pytest.mark.parametrize("stats_scope", ["page", "all"])
def test_a_page_equals_the_reference(
    session_factory: sessionmaker[Session], stats_scope: str, scenario: Scenario, page_number: int
) -> None:
    """One random page: rows, order, total and stats equal the reference evaluation."""
    cluster_id, rows = store_history(session_factory, scenario.specs)
    expected = reference(scenario, rows)
    event(f"matching rows: {'none' if not expected else 'all' if len(expected) == len(rows) else 'some'}")
    size = scenario.page_size
    window = expected[(page_number - 1) * size : page_number * size]
    with session_factory() as session, session.begin():
        page = list_executions(
            session,
            cluster_id=cluster_id,
            query=list_query(scenario),
            page=page_of(page_number, size),
            stats_scope=stats_scope,
        )
    assert [r.run_id for r in page.results] == [r["run_id"] for r in window], explain(scenario)
    assert page.total == len(expected)
    assert_stats_equal(page.stats, reference_stats(window if stats_scope == "page" else expected))
    assert (page.next_key is not None) == (len(expected) > page_number * size and bool(window))
    by_id = {r["run_id"]: r for r in rows}
    for result in page.results:
        stored = by_id[result.run_id]
        assert result.created_at == stored["created_at"]
        assert result.started_at == stored["started_at"]
        assert result.completed_at == stored["completed_at"]
        assert result.duration_ms == stored["duration_ms"]
        assert result.status == stored["status"]
        assert result.error_message == stored["error_message"]
        centroids = None if result.centroids is None else [c.model_dump() for c in result.centroids]
        if centroids is None:
            assert stored["centroids"] is None
            continue
        # stored as they were, plus the computed values beside them (equal: nothing here is curated)
        assert [{k: c[k] for k in raw} for c, raw in zip(centroids, stored["centroids"], strict=True)] == stored[
            "centroids"
        ]
        assert all(
            c[f"computed_{f}"] == c[f] and c["override"] is None for c in centroids for f in ("label", "keywords")
        )


@pytest.mark.slow
@PROPERTY_SETTINGS
@given(scenario=scenarios())
@pytest.mark.usefixtures("db_url")
def test_walking_pages_by_number_and_by_keyset_yields_every_row_once(
    session_factory: sessionmaker[Session], scenario: Scenario
) -> None:
    """Page by page (offset) and key after key, the concatenation is exactly the reference order."""
    cluster_id, rows = store_history(session_factory, scenario.specs)
    expected = [r["run_id"] for r in reference(scenario, rows)]
    query, size = list_query(scenario), scenario.page_size
    by_number: list[str] = []
    by_key: list[str] = []
    with session_factory() as session, session.begin():
        for number in range(1, len(expected) // size + 3):
            page = list_executions(session, cluster_id=cluster_id, query=query, page=page_of(number, size))
            assert page.total == len(expected)
            by_number += [r.run_id for r in page.results]
        after = None
        for number in itertools.count(1):
            request = PageRequest(number, size, (number - 1) * size, after)
            page = list_executions(session, cluster_id=cluster_id, query=query, page=request)
            by_key += [r.run_id for r in page.results]
            assert len(page.results) == size or page.next_key is None
            if page.next_key is None:
                break
            after = page.next_key
            assert number <= len(expected)
    assert by_number == expected, explain(scenario)
    assert by_key == expected, explain(scenario)


@pytest.mark.slow
@settings(PROPERTY_SETTINGS, max_examples=12)
@given(scenario=scenarios(max_rows=25), follow_links=st.booleans())
@pytest.mark.usefixtures("db_url")
def test_walking_by_cursor_over_http_yields_every_row_once(
    session_factory: sessionmaker[Session], http: httpx.Client, scenario: Scenario, follow_links: bool
) -> None:
    """Through the real API: follow next_cursor (or next_page) to the end; every match once, in order."""
    cluster_id, rows = store_history(session_factory, scenario.specs)
    expected = [r["run_id"] for r in reference(scenario, rows)]
    url = f"/v1/clusters/{cluster_id}/executions/list"
    body = request_body(scenario)
    response = http.post(url, params={"page_size": scenario.page_size}, json=body)
    assert response.status_code == 200, response.text
    seen: list[str] = []
    for _ in range(len(expected) + 2):
        data = response.json()
        assert data["total_count"] == len(expected)
        seen += [r["run_id"] for r in data["results"]]
        pagination = data["pagination"]
        assert (pagination["next_cursor"] is None) == (pagination["next_page"] is None)
        if pagination["next_cursor"] is None:
            break
        if follow_links:
            response = http.post(pagination["next_page"], json=body)
        else:
            response = http.post(url, params={"cursor": pagination["next_cursor"]}, json=body)
        assert response.status_code == 200, response.text
    assert seen == expected, explain(scenario)
