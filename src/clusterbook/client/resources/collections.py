"""``client.collections``: create, read (by id or name), list and delete document collections."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, no_content, route
from clusterbook.client._params import ITER_PAGE_SIZE, SortLike, list_body, page_params
from clusterbook.client.filters import FilterLike
from clusterbook.client.resources._paging import awalk, walk
from clusterbook.models.collections import Collection, ListCollectionsResponse

CREATE = route("POST", "/v1/collections")
LIST = route("POST", "/v1/collections/list", idempotent=True)
GET = route("GET", "/v1/collections/{collection_id}")
DELETE = route("DELETE", "/v1/collections/{collection_id}")


def _create(collection_name: str, description: str | None) -> Call[Collection]:
    body: dict[str, str] = {"collection_name": collection_name}
    if description is not None:
        body["description"] = description
    return Call.to(CREATE, model(Collection), body=body)


def _list(
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
) -> Call[ListCollectionsResponse]:
    return Call.to(
        LIST,
        model(ListCollectionsResponse),
        body=list_body(filters, sort, search),
        params=page_params(page, page_size, cursor),
    )


def _page(response: ListCollectionsResponse) -> tuple[Sequence[Collection], str | None]:
    return response.results, response.pagination.next_cursor


class Collections:
    """Document collections of the client's namespace.

    >>> articles = client.collections.create("articles", description="News articles")
    >>> articles.collection_name, articles.document_count
    ('articles', 0)
    >>> client.collections.get("articles").collection_id == articles.collection_id
    True
    >>> [c.collection_name for c in client.collections.list(search="articles").results]
    ['articles']
    >>> client.collections.delete("articles")
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def create(self, collection_name: str, *, description: str | None = None) -> Collection:
        """Create a collection (409 :class:`~clusterbook.errors.Conflict` when the name is taken)."""
        return self._http.call(_create(collection_name, description))

    def get(self, collection: str) -> Collection:
        """One collection by id or name (:class:`~clusterbook.errors.NotFound` when absent)."""
        return self._http.call(Call.to(GET, model(Collection), collection_id=collection))

    def list(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListCollectionsResponse:
        """One page of collections (newest first unless ``sort`` says otherwise)."""
        return self._http.call(_list(filters, sort, search, page, page_size, cursor))

    def iter(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> Iterator[Collection]:
        """Every matching collection, fetched page by page as the iteration goes."""
        return walk(lambda cursor: _page(self._http.call(_list(filters, sort, search, None, page_size, cursor))))

    def delete(self, collection: str) -> None:
        """Delete a collection and its documents (409 while a cluster uses it)."""
        self._http.call(Call.to(DELETE, no_content, collection_id=collection))


class AsyncCollections:
    """The async twin of :class:`Collections`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def create(self, collection_name: str, *, description: str | None = None) -> Collection:
        return await self._http.call(_create(collection_name, description))

    async def get(self, collection: str) -> Collection:
        return await self._http.call(Call.to(GET, model(Collection), collection_id=collection))

    async def list(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListCollectionsResponse:
        return await self._http.call(_list(filters, sort, search, page, page_size, cursor))

    def iter(
        self,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        page_size: int = ITER_PAGE_SIZE,
    ) -> AsyncIterator[Collection]:
        async def fetch(cursor: str | None) -> tuple[Sequence[Collection], str | None]:
            return _page(await self._http.call(_list(filters, sort, search, None, page_size, cursor)))

        return awalk(fetch)

    async def delete(self, collection: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, collection_id=collection))
