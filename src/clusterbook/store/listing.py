"""Generic paged listing over a field registry: one SELECT for the page (offset or keyset) and one
COUNT, both compiled by ``compiler.py``. Used by the execution history and the lists of clusters,
collections and documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Row, Select, and_, func, literal, or_, select, true
from sqlalchemy.orm import Session

from clusterbook.errors import InvalidCursor
from clusterbook.models.filters import Node
from clusterbook.models.listing import SortSpec
from clusterbook.store.compiler import (
    ResolvedSort,
    compile_filter,
    compile_keyset,
    compile_order_by,
    compile_search,
    parse_datetime,
    resolve_sort,
    sort_key_of,
)
from clusterbook.store.fields import FieldRegistry, FieldSpec
from clusterbook.store.fulltext import MIN_INDEXED_TERM, count_matches, history_size
from clusterbook.store.tables import executions


@dataclass(frozen=True)
class ListQuery:
    """What to list: a validated filter tree, a sort and lowercased search terms."""

    filter: Node | None = None
    sort: SortSpec | None = None
    terms: tuple[str, ...] = ()
    raw_filters: Any = None
    """The filters exactly as sent; only used to fingerprint cursors."""


@dataclass(frozen=True)
class PageRequest:
    """Which page: by offset, or (when ``after`` is set) the rows after a keyset position."""

    page: int
    page_size: int
    offset: int
    after: tuple[Any, str] | None = None


@dataclass(frozen=True)
class PageRows:
    rows: list[Row[Any]]
    total: int | None
    next_key: tuple[Any, str] | None
    """Sort key of the page's last row when more rows follow; the next cursor is made from it."""


@dataclass(frozen=True)
class CompiledQuery:
    where: ColumnElement[bool]
    sort: ResolvedSort
    walk_where: ColumnElement[bool] | None = None
    """SQLite search only: the same condition, phrased so the page walks the sort index."""
    search_matches: int = 0
    history_rows: int = 0
    partition: tuple[Column[Any], Any] | None = None
    """The scope as (column, value) when it is one equality on an indexed column (a cluster)."""
    row_search: ColumnElement[bool] = field(default_factory=true)
    """SQLite search only: the terms alone as a per-row text test (no scope, no filter)."""
    history_total: int | None = None
    """SQLite, search without a filter and every term indexed: the exact number of matching runs in
    the whole history, from the search index alone (``fulltext.count_matches``)."""

    def page_where(self, page: PageRequest) -> ColumnElement[bool]:
        """The condition for the page query: walk the sort index when the searched terms are so
        common that walking finds a page sooner than sorting every match would
        (rows walked ≈ (offset + size) · history / matches, against ≈ matches sorted)."""
        if self.walk_where is None:
            return self.where
        walked = (page.offset + page.page_size + 1) * self.history_rows
        return self.walk_where if walked < self.search_matches**2 else self.where


def compile_query(
    session: Session,
    registry: FieldRegistry,
    scope: ColumnElement[bool],
    query: ListQuery,
    *,
    partition: tuple[Column[Any], Any] | None = None,
) -> CompiledQuery:
    """``partition``: the same scope as (indexed column, value), which lets a search count come
    from the search index (:func:`count_from_search_index`) and, for one cluster's runs, a
    ``config.*`` condition range over that cluster's side-table rows only."""
    dialect = session.get_bind().dialect.name
    terms = list(query.terms)
    cluster_id = partition[1] if partition is not None and partition[0] is executions.c.cluster_id else None
    base = and_(scope, compile_filter(query.filter, registry, dialect, cluster_id=cluster_id))
    where = and_(base, compile_search(terms, registry, dialect))
    sort = resolve_sort(query.sort, registry)
    # One pass over the search index: the plan choice and, often, the count come from it.
    matches = count_matches(session, terms) if registry.full_text and dialect == "sqlite" else None
    if matches is None:
        return CompiledQuery(where, sort)
    row_search = compile_search(terms, registry, dialect, walk_sort_index=True)
    walk_where = and_(base, row_search)
    exact = query.filter is None and all(len(term) >= MIN_INDEXED_TERM for term in terms)
    return CompiledQuery(
        where,
        sort,
        walk_where,
        matches,
        history_size(session),
        partition,
        row_search,
        matches if exact and partition is not None else None,
    )


def fetch_page(
    session: Session,
    registry: FieldRegistry,
    compiled: CompiledQuery,
    page: PageRequest,
    *,
    count: bool = True,
    columns: Sequence[ColumnElement[Any]] | None = None,
) -> PageRows:
    """The rows of one page (+1 to learn whether more follow) and, unless told not to, the total.

    ``columns`` replaces the default ``SELECT *`` (it must keep the sort field and the tie-breaker)."""
    stmt: Select[Any] = select(*columns) if columns is not None else select(registry.table)
    stmt = stmt.where(compiled.page_where(page))
    if page.after is not None:
        value, tie = page.after
        stmt = stmt.where(compile_keyset(compiled.sort, registry, value, tie))
    else:
        stmt = stmt.offset(page.offset)
    stmt = stmt.order_by(*compile_order_by(compiled.sort, registry)).limit(page.page_size + 1)
    rows = list(session.execute(stmt).all())
    has_more = len(rows) > page.page_size
    rows = rows[: page.page_size]
    total = count_rows(session, registry, compiled) if count else None
    next_key = sort_key_of(rows[-1], compiled.sort, registry) if has_more and rows else None
    return PageRows(rows, total, next_key)


def count_rows(session: Session, registry: FieldRegistry, compiled: CompiledQuery) -> int:
    """The exact number of rows matching the query: from the search index when it can answer,
    else one COUNT."""
    from_index = count_from_search_index(session, registry, compiled)
    if from_index is not None:
        return from_index
    return int(session.execute(select(func.count()).select_from(registry.table).where(compiled.where)).scalar_one())


OUTSIDE_SHARE = 4
"""Subtract the other partitions' matches only while they hold under 1/4 of the history's matches:
testing an outside row reads it, probing a match only reads an index."""


def count_from_search_index(session: Session, registry: FieldRegistry, compiled: CompiledQuery) -> int | None:
    """A search count without visiting the matching rows (SQLite), or ``None`` when it would not be cheap.

    matches in the cluster = matches in the whole history (the search index's own count, already
    taken to choose the plan) − matches among the rows of the other clusters. The second term is
    computed only when the other clusters hold few rows (found by two bounded walks of the
    partition index, never more than ``matches / 4`` steps), by testing those rows' text. A
    cluster holding most of the history — the case where the plain COUNT probes hundreds of
    thousands of matches — is then counted in one pass of the search index. Exact: everything
    runs in the request's one transaction (one snapshot)."""
    if compiled.history_total is None or compiled.partition is None:
        return None
    if compiled.history_total == 0:
        return 0
    column, value = compiled.partition
    limit = compiled.history_total // OUTSIDE_SHARE + 1
    sides = (column < value, column > value)
    outside = 0
    for side in sides:
        bounded = select(literal(1)).select_from(registry.table).where(side).limit(limit - outside)
        outside += int(session.execute(select(func.count()).select_from(bounded.subquery())).scalar_one())
        if outside >= limit:
            return None
    if outside == 0:
        return compiled.history_total
    others = session.execute(
        select(func.count()).select_from(registry.table).where(or_(*sides), compiled.row_search)
    ).scalar_one()
    return compiled.history_total - int(others)


def key_to_json(value: Any) -> Any:
    """A sort-key value as it travels inside a cursor."""
    return value.isoformat() if isinstance(value, datetime) else value


def key_from_json(spec: FieldSpec, value: Any) -> Any:
    """Back from a cursor to the column's type (the cursor is signed, so this is our own data)."""
    if value is None:
        return None
    if spec.kind == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise InvalidCursor("cursor is malformed; start again without a cursor")
        return parsed
    return value
