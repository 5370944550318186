"""Pagination for listing routes: query params → a page request, and results → the pagination block.

Three ways in, one way out: ``?page=&page_size=`` (1-indexed), ``?limit=&offset=``, or
``?cursor=`` (a signed keyset cursor from ``pagination.next_cursor``). Every response carries
absolute ``next_page``/``previous_page`` URLs and, when more rows follow, a ``next_cursor``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Query, Request

from clusterbook.api.budget import note_cost
from clusterbook.errors import ErrorLocation, InvalidPagination
from clusterbook.models.listing import ListRequestBase, PaginationResponse
from clusterbook.settings import Settings
from clusterbook.store.compiler import ResolvedSort, resolve_sort
from clusterbook.store.cost import describe_cost, sort_is_indexed
from clusterbook.store.cursors import check_cursor_query, encode_cursor, fingerprint, verify_cursor
from clusterbook.store.fields import FieldRegistry
from clusterbook.store.listing import ListQuery, PageRequest, key_from_json, key_to_json

MAX_PAGE = 10**9


@dataclass(frozen=True)
class PageParams:
    page: int | None
    page_size: int | None
    limit: int | None
    offset: int | None
    cursor: str | None
    include_total: bool


async def page_params(
    page: Annotated[int | None, Query(description="1-indexed page number (default 1).")] = None,
    page_size: Annotated[
        int | None, Query(description="Rows per page (default 10, at most the server maximum).")
    ] = None,
    limit: Annotated[int | None, Query(description="Alias of page_size, for offset paging.")] = None,
    offset: Annotated[int | None, Query(description="Rows to skip (instead of page).")] = None,
    cursor: Annotated[
        str | None, Query(max_length=4096, description="pagination.next_cursor of the previous page.")
    ] = None,
    include_total: Annotated[bool, Query(description="Accepted for compatibility; totals are always returned.")] = True,
) -> PageParams:
    return PageParams(page, page_size, limit, offset, cursor, include_total)


def _bad(loc: str, message: str) -> InvalidPagination:
    return InvalidPagination(f"{loc}: {message}", errors=[ErrorLocation(loc, message)])


@dataclass(frozen=True)
class Paging:
    """A resolved page request plus what is needed to sign the next cursor."""

    request: PageRequest
    query_fingerprint: str
    key: bytes
    by_offset: bool


def resolve_paging(
    params: PageParams,
    settings: Settings,
    key: bytes,
    scope: dict[str, Any],
    query: ListQuery,
    sort: ResolvedSort,
) -> Paging:
    """Validate the paging params and decode the cursor (if any) for this exact query."""
    size = params.page_size
    if params.limit is not None:
        if size is not None and size != params.limit:
            raise _bad("query.limit", "give page_size or limit, not both with different values")
        size = params.limit
    maximum = settings.max_page_size
    if size is not None and not 1 <= size <= maximum:
        name = "limit" if params.limit is not None and params.page_size is None else "page_size"
        raise _bad(f"query.{name}", f"must be between 1 and {maximum} (the maximum page size)")
    if params.page is not None and not 1 <= params.page <= MAX_PAGE:
        raise _bad("query.page", f"must be between 1 and {MAX_PAGE} (pages are 1-indexed)")
    if params.offset is not None and not 0 <= params.offset <= MAX_PAGE * maximum:
        raise _bad("query.offset", f"must be between 0 and {MAX_PAGE * maximum}")
    if params.page is not None and params.offset is not None:
        raise _bad("query.offset", "give page or offset, not both")

    def fp(page_size: int) -> str:
        return fingerprint({
            **scope,
            "filters": query.raw_filters,
            "sort": [sort.spec.name, sort.direction],
            "search": list(query.terms),
            "page_size": page_size,
        })  # fmt: skip

    if params.cursor is not None:
        if params.page is not None or params.offset is not None:
            raise _bad("query.cursor", "a cursor already says where to continue; drop page and offset")
        payload = verify_cursor(key, params.cursor)
        size = size or int(payload["s"])
        expected = fp(size)
        check_cursor_query(payload, expected)
        raw_value, tie = payload["k"]
        after = (key_from_json(sort.spec, raw_value), str(tie))
        page_number = int(payload["p"])
        request = PageRequest(page_number, size, (page_number - 1) * size, after)
        return Paging(request, expected, key, by_offset=False)
    size = size or settings.default_page_size
    if params.offset is not None:
        request = PageRequest(params.offset // size + 1, size, params.offset)
        return Paging(request, fp(size), key, by_offset=True)
    page_number = params.page or 1
    return Paging(PageRequest(page_number, size, (page_number - 1) * size), fp(size), key, by_offset=False)


def prepare_listing(
    request: Request,
    params: PageParams,
    body: ListRequestBase,
    registry: FieldRegistry,
    scope: dict[str, Any],
) -> tuple[ListQuery, Paging]:
    """The validated query of a listing body and its page (checking any cursor against both).

    A deep offset on a sort no index serves is refused (the database would sort every match to skip
    them); what else makes the query expensive is noted for the budget's message."""
    query = ListQuery(body.filter_tree(), body.sort, tuple(body.search_terms()), body.filters)
    sort = resolve_sort(body.sort, registry)
    paging = resolve_paging(params, request.app.state.settings, request.app.state.cursor_key, scope, query, sort)
    page = paging.request
    bound = request.app.state.settings.max_unindexed_offset
    if page.after is None and page.offset > bound and not sort_is_indexed(sort, registry):
        name = "query.offset" if params.offset is not None else "query.page"
        raise _bad(
            name,
            f"skips {page.offset} rows of a sort by {sort.spec.name!r}, which no index serves (at most "
            f"{bound} rows, CLUSTERBOOK_MAX_UNINDEXED_OFFSET); walk deeper with pagination.next_cursor (?cursor=), or sort by one of "
            f"{', '.join(sorted(registry.indexed_sorts))}",
        )
    stats_scope = getattr(body, "stats_scope", "page")
    note_cost(request, describe_cost(query, registry, sort=sort, page=page, stats_scope=stats_scope))
    return query, paging


def pagination_block(
    request: Request, paging: Paging, *, total: int, next_key: tuple[Any, str] | None
) -> PaginationResponse:
    """The contract's pagination object with absolute neighbour URLs and the next keyset cursor."""
    page = paging.request
    size = page.page_size
    start = page.offset
    next_cursor = None
    if next_key is not None:
        next_cursor = encode_cursor(
            paging.key,
            {
                "q": paging.query_fingerprint,
                "k": [key_to_json(next_key[0]), next_key[1]],
                "p": page.page + 1,
                "s": size,
            },
        )
    url = request.url
    next_url = prev_url = None
    if paging.by_offset:
        if next_cursor is not None:
            next_url = str(url.include_query_params(offset=start + size))
        if start > 0:
            prev_url = str(url.include_query_params(offset=max(start - size, 0)))
    else:
        base = url.remove_query_params("cursor")
        if page.after is not None:
            # a cursor request may omit page_size (the cursor carries it); the page links must not
            base = base.remove_query_params("limit").include_query_params(page_size=size)
        if next_cursor is not None:
            next_url = (
                str(url.include_query_params(cursor=next_cursor))
                if page.after is not None
                else str(base.include_query_params(page=page.page + 1))
            )
        if page.page > 1:
            prev_url = str(base.include_query_params(page=page.page - 1))
    return PaginationResponse(
        total=total,
        page=page.page,
        page_size=size,
        total_pages=math.ceil(total / size) if total else 0,
        next_page=next_url,
        previous_page=prev_url,
        next_cursor=next_cursor,
    )
