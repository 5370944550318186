"""Listing arguments shared by every resource: the request body (filters, sort, search) and paging."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clusterbook.client.filters import FilterLike, filter_json
from clusterbook.models.listing import SortSpec

SortLike = SortSpec | Mapping[str, Any] | str
"""What ``sort=`` accepts: a :class:`SortSpec` (``F.created_at.asc()``), a dict, or a string —
``"-metrics.silhouette_score"`` for descending, ``"num_points"`` or ``"+num_points"`` for ascending."""

ITER_PAGE_SIZE = 100
"""Page size of the ``iter`` helpers: the server's default maximum, so a walk takes few requests."""


def sort_json(sort: SortLike | None) -> dict[str, Any] | None:
    """The ``sort`` member of a listing body.

    >>> sort_json("-metrics.silhouette_score")
    {'field': 'metrics.silhouette_score', 'direction': 'desc'}
    >>> sort_json("created_at")
    {'field': 'created_at', 'direction': 'asc'}
    """
    if sort is None:
        return None
    if isinstance(sort, SortSpec):
        return {"field": sort.field, "direction": sort.direction}
    if isinstance(sort, str):
        text = sort.strip()
        if text.startswith("-"):
            return {"field": text[1:], "direction": "desc"}
        return {"field": text.removeprefix("+"), "direction": "asc"}
    return dict(sort)


def list_body(
    filters: FilterLike | None = None,
    sort: SortLike | None = None,
    search: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A listing body with only the members given (``{}`` lists everything in the default order)."""
    body: dict[str, Any] = {}
    if filters is not None:
        body["filters"] = filter_json(filters)
    if sort is not None:
        body["sort"] = sort_json(sort)
    if search is not None:
        body["search"] = search
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def page_params(
    page: int | None = None, page_size: int | None = None, cursor: str | None = None
) -> dict[str, Any] | None:
    params = {"page": page, "page_size": page_size, "cursor": cursor}
    return {k: v for k, v in params.items() if v is not None} or None
