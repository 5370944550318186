"""What makes a listing expensive, said in the caller's terms.

Used twice: to refuse a deep offset on a sort no index serves (the database would sort every
matching row to skip them), and to tell a caller whose query ran out of budget which part of the
request costs and how to narrow it.
"""

from __future__ import annotations

from clusterbook.models.filters import Condition, Node
from clusterbook.store.compiler import ResolvedSort
from clusterbook.store.fields import FieldRegistry
from clusterbook.store.fulltext import MIN_INDEXED_TERM
from clusterbook.store.listing import ListQuery, PageRequest

DEEP_OFFSET = 1_000
"""An offset from which the skipped rows are worth naming as a cost."""
TEXT_OPERATORS = ("contains", "starts_with", "ends_with")
NARROW_BY_TIME = 'add a created_at range (e.g. {"created_at": {"gte": "2025-01-01T00:00:00Z"}})'


def sort_is_indexed(sort: ResolvedSort, registry: FieldRegistry) -> bool:
    return sort.spec.name in registry.indexed_sorts


def _conditions(node: Node | None) -> list[Condition]:
    if node is None:
        return []
    if isinstance(node, Condition):
        return [node]
    return [found for child in node.children for found in _conditions(child)]


def describe_cost(
    query: ListQuery,
    registry: FieldRegistry,
    *,
    sort: ResolvedSort | None = None,
    page: PageRequest | None = None,
    stats_scope: str = "page",
) -> str:
    """The expensive parts of a listing and how to narrow each, as one sentence for a message."""
    parts: list[str] = []
    fixes: list[str] = [NARROW_BY_TIME]
    conditions = _conditions(query.filter)
    text = [c for c in conditions if c.operator in TEXT_OPERATORS]
    if text:
        fields = ", ".join(sorted({c.field for c in text}))
        parts.append(f"{len(text)} text condition(s) (contains/starts_with/ends_with) on {fields}, matched row by row")
        fixes.append("use fewer text conditions, or eq/in where the exact value is known")
    elif len(conditions) > 10:
        parts.append(f"{len(conditions)} conditions")
        fixes.append("use fewer conditions")
    if query.terms:
        short = [t for t in query.terms if len(t) < MIN_INDEXED_TERM]
        what = f"{len(query.terms)} search term(s)"
        if short:
            what += f", {len(short)} shorter than {MIN_INDEXED_TERM} characters (no index serves those)"
            fixes.append(f"search with terms of {MIN_INDEXED_TERM} or more characters")
        parts.append(what)
    if page is not None and page.after is None and page.offset >= DEEP_OFFSET:
        indexed = sort is None or sort_is_indexed(sort, registry)
        parts.append(f"offset {page.offset}" + ("" if indexed else f" with a sort by {sort.spec.name if sort else ''}"))
        fixes.append("page with pagination.next_cursor instead of an offset")
    if stats_scope == "all":
        parts.append("stats_scope 'all' (aggregates every matching row)")
        fixes.append("use stats_scope 'page'")
    costly = "; ".join(parts) if parts else "the filter matches a large share of a large history"
    return f"expensive here: {costly}. To narrow it: {'; '.join(fixes)}"
