"""Generic paged listing over a field registry: one SELECT for the page (offset or keyset) and one
COUNT, both compiled by ``compiler.py``. Used by the execution history and the lists of clusters,
collections and documents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, select
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
from clusterbook.store.fulltext import estimate_matches, history_size


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

    def page_where(self, page: PageRequest) -> ColumnElement[bool]:
        """The condition for the page query: walk the sort index when the searched terms are so
        common that walking finds a page sooner than sorting every match would
        (rows walked ≈ (offset + size) · history / matches, against ≈ matches sorted)."""
        if self.walk_where is None:
            return self.where
        walked = (page.offset + page.page_size + 1) * self.history_rows
        return self.walk_where if walked < self.search_matches**2 else self.where


def compile_query(
    session: Session, registry: FieldRegistry, scope: ColumnElement[bool], query: ListQuery
) -> CompiledQuery:
    dialect = session.get_bind().dialect.name
    terms = list(query.terms)
    base = and_(scope, compile_filter(query.filter, registry, dialect))
    where = and_(base, compile_search(terms, registry, dialect))
    sort = resolve_sort(query.sort, registry)
    matches = estimate_matches(session, terms) if registry.full_text and dialect == "sqlite" else None
    if matches is None:
        return CompiledQuery(where, sort)
    walk_where = and_(base, compile_search(terms, registry, dialect, walk_sort_index=True))
    return CompiledQuery(where, sort, walk_where, matches, history_size(session))


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
    total = None
    if count:
        total = session.execute(select(func.count()).select_from(registry.table).where(compiled.where)).scalar_one()
    next_key = sort_key_of(rows[-1], compiled.sort, registry) if has_more and rows else None
    return PageRows(rows, total, next_key)


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
