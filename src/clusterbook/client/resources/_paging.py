"""Walk a listing page by page with its keyset cursor (``pagination.next_cursor``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

Fetch = Callable[[str | None], tuple[Sequence[T], str | None]]
AsyncFetch = Callable[[str | None], Awaitable[tuple[Sequence[T], str | None]]]


def walk(fetch: Fetch[T]) -> Iterator[T]:
    """Yield every item of every page: ``fetch(cursor)`` returns a page's items and its next cursor."""
    cursor: str | None = None
    while True:
        items, cursor = fetch(cursor)
        yield from items
        if cursor is None:
            return


async def awalk(fetch: AsyncFetch[T]) -> AsyncIterator[T]:
    """The async twin of :func:`walk`."""
    cursor: str | None = None
    while True:
        items, cursor = await fetch(cursor)
        for item in items:
            yield item
        if cursor is None:
            return
