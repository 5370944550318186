"""``client.documents``: upsert (in batches), list, read and delete the documents of a collection.

A vector given as a numpy array (anything with ``__array__``) is sent as ``vector_b64``, base64 of its
little-endian float32 bytes: exact, and about a third of the bytes of its JSON list. Lists are sent as
lists. numpy is imported only when such a vector arrives, so the SDK works without it.
"""

from __future__ import annotations

import base64
import builtins
import importlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

from clusterbook.client._http import (
    AsyncTransport,
    Call,
    SyncTransport,
    Target,
    encode_json,
    model,
    no_content,
    route,
)
from clusterbook.client._params import ITER_PAGE_SIZE, SortLike, list_body, page_params
from clusterbook.client.filters import FilterLike
from clusterbook.client.resources._paging import awalk, walk
from clusterbook.client.resources.collections import GET as GET_COLLECTION
from clusterbook.client.resources.exports import documents_call
from clusterbook.errors import ClusterbookError
from clusterbook.models.collections import (
    MAX_DOCUMENTS_PER_REQUEST,
    Collection,
    Document,
    DocumentIn,
    DocumentsDeleteResult,
    DocumentsUpsertResult,
    ListDocumentsResponse,
)

UPSERT = route("POST", "/v1/collections/{collection_id}/documents", idempotent=True)
LIST = route("POST", "/v1/collections/{collection_id}/documents/list", idempotent=True)
DELETE_MANY = route("POST", "/v1/collections/{collection_id}/documents/delete", idempotent=True)
GET = route("GET", "/v1/collections/{collection_id}/documents/{document_id}")
DELETE = route("DELETE", "/v1/collections/{collection_id}/documents/{document_id}")

DEFAULT_BATCH_SIZE = 1000
DEFAULT_BATCH_BYTES = 8 * 1024 * 1024
"""Well below the server's upload limit (64 MiB by default), so one request never gets near it."""

DocumentLike = DocumentIn | Mapping[str, Any]
"""A document to upsert: a :class:`DocumentIn` or a dict ``{document_id, text?, vector?, metadata?}``
(``vector`` a list of numbers or a 1-D numpy array)."""


def compact_document(document: DocumentLike) -> DocumentLike:
    """``document`` with a numpy ``vector`` turned into ``vector_b64`` (little-endian float32).

    A vector that float32 cannot hold (NaN, infinite, beyond ±3.4e38) is sent as a list instead, so
    the server's 422 quotes the value the caller gave."""
    if not isinstance(document, Mapping):
        return document
    vector = document.get("vector")
    if vector is None or isinstance(vector, list | tuple) or not hasattr(vector, "__array__"):
        return document
    numpy = importlib.import_module("numpy")  # present: the caller made an array
    with numpy.errstate(over="ignore", invalid="ignore"):
        values = numpy.asarray(vector, dtype="<f4")
    if values.ndim != 1:
        raise ValueError(f"document {document.get('document_id')!r}: a vector must be 1-D, not of shape {values.shape}")
    rest = {key: value for key, value in document.items() if key != "vector"}
    if not numpy.isfinite(values).all():
        return {**rest, "vector": numpy.asarray(vector, dtype=float).tolist()}
    return {**rest, "vector_b64": base64.b64encode(values.tobytes()).decode("ascii")}


def _check_batch(batch_size: int, max_batch_bytes: int) -> None:
    if not 1 <= batch_size <= MAX_DOCUMENTS_PER_REQUEST:
        raise ValueError(f"batch_size must be between 1 and {MAX_DOCUMENTS_PER_REQUEST}")
    if max_batch_bytes < 1024:
        raise ValueError("max_batch_bytes must be at least 1024")


def upsert_batches(documents: Iterable[DocumentLike], batch_size: int, max_batch_bytes: int) -> Iterator[bytes]:
    """Request bodies of at most ``batch_size`` documents and (but for a single larger document)
    ``max_batch_bytes`` bytes each, encoded once."""
    parts: builtins.list[bytes] = []
    size = 0
    for document in documents:
        raw = encode_json(compact_document(document))
        if parts and (len(parts) >= batch_size or size + len(raw) + 1 > max_batch_bytes):
            yield b'{"documents":[' + b",".join(parts) + b"]}"
            parts, size = [], 0
        parts.append(raw)
        size += len(raw) + 1
    if parts:
        yield b'{"documents":[' + b",".join(parts) + b"]}"


def _upsert(collection: str, content: bytes) -> Call[DocumentsUpsertResult]:
    return Call.to(UPSERT, model(DocumentsUpsertResult), content=content, collection_id=collection)


def _add(total: DocumentsUpsertResult | None, batch: DocumentsUpsertResult) -> DocumentsUpsertResult:
    if total is None:
        return batch
    return DocumentsUpsertResult(
        upserted=total.upserted + batch.upserted,
        created=total.created + batch.created,
        updated=total.updated + batch.updated,
        collection=batch.collection,
    )


def _note_progress(exc: ClusterbookError, total: DocumentsUpsertResult | None) -> None:
    exc.extra["documents_upserted"] = total.upserted if total else 0


def _empty(collection: Collection) -> DocumentsUpsertResult:
    return DocumentsUpsertResult(upserted=0, created=0, updated=0, collection=collection)


def _list(
    collection: str,
    filters: FilterLike | None,
    sort: SortLike | None,
    search: str | None,
    include_vectors: bool,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
) -> Call[ListDocumentsResponse]:
    body = list_body(filters, sort, search, include_vectors=include_vectors or None)
    return Call.to(
        LIST,
        model(ListDocumentsResponse),
        body=body,
        params=page_params(page, page_size, cursor),
        collection_id=collection,
    )


def _page(response: ListDocumentsResponse) -> tuple[Sequence[Document], str | None]:
    return response.results, response.pagination.next_cursor


def _get(collection: str, document_id: str, include_vector: bool) -> Call[Document]:
    params = {"include_vectors": "true"} if include_vector else None
    return Call.to(GET, model(Document), params=params, collection_id=collection, document_id=document_id)


def _delete_many(collection: str, ids: Sequence[str]) -> Call[DocumentsDeleteResult]:
    return Call.to(
        DELETE_MANY, model(DocumentsDeleteResult), body={"document_ids": list(ids)}, collection_id=collection
    )


def _id_batches(document_ids: Iterable[str]) -> Iterator[builtins.list[str]]:
    ids = [document_ids] if isinstance(document_ids, str) else list(document_ids)
    for start in range(0, len(ids), MAX_DOCUMENTS_PER_REQUEST):
        yield ids[start : start + MAX_DOCUMENTS_PER_REQUEST]


class Documents:
    """The documents of a collection (addressed by the collection's id or name).

    >>> _ = client.collections.create("notes")
    >>> result = client.documents.upsert("notes", [
    ...     {"document_id": "n1", "text": "Refund not received", "metadata": {"lang": "en"}},
    ...     {"document_id": "n2", "text": "Colis en retard", "metadata": {"lang": "fr"}},
    ... ])
    >>> result.created, result.updated, result.collection.document_count
    (2, 0, 2)
    >>> [d.document_id for d in client.documents.list("notes", filters=F.metadata("lang") == "fr").results]
    ['n2']
    >>> client.documents.get("notes", "n1").text
    'Refund not received'
    >>> client.documents.delete("notes", "n1")
    >>> client.documents.delete_many("notes", ["n2", "missing"]).deleted
    1
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def upsert(
        self,
        collection: str,
        documents: Iterable[DocumentLike],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> DocumentsUpsertResult:
        """Create or replace documents by id, sending ``batch_size`` documents (at most
        ``max_batch_bytes``) per request; returns the counts summed over the batches. A numpy
        ``vector`` travels as ``vector_b64`` (see :func:`compact_document`).

        Each batch is all or nothing; when one fails, the batches before it stay written and the
        exception's ``extra["documents_upserted"]`` says how many documents that was.
        """
        _check_batch(batch_size, max_batch_bytes)
        total: DocumentsUpsertResult | None = None
        try:
            for content in upsert_batches(documents, batch_size, max_batch_bytes):
                total = _add(total, self._http.call(_upsert(collection, content)))
        except ClusterbookError as exc:
            _note_progress(exc, total)
            raise
        if total is None:
            return _empty(self._http.call(Call.to(GET_COLLECTION, model(Collection), collection_id=collection)))
        return total

    def list(
        self,
        collection: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        include_vectors: bool = False,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListDocumentsResponse:
        """One page of documents: filters over ``document_id``, timestamps and ``metadata.<key>``,
        search over the text."""
        return self._http.call(_list(collection, filters, sort, search, include_vectors, page, page_size, cursor))

    def iter(
        self,
        collection: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        include_vectors: bool = False,
        page_size: int = ITER_PAGE_SIZE,
    ) -> Iterator[Document]:
        """Every matching document, page by page."""
        return walk(
            lambda cursor: _page(
                self._http.call(_list(collection, filters, sort, search, include_vectors, None, page_size, cursor))
            )
        )

    def export(
        self,
        collection: str,
        *,
        to: Target,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
    ) -> int:
        """Export the matching documents (all by default, in id order) into ``to`` as JSON lines of id,
        text, vector and metadata: the file ``clusterbook import`` reads back. Streamed; returns the bytes written."""
        return self._http.download(documents_call(collection, filters, sort, search), to)

    def get(self, collection: str, document_id: str, *, include_vector: bool = False) -> Document:
        """One document (its vector too when ``include_vector``)."""
        return self._http.call(_get(collection, document_id, include_vector))

    def delete(self, collection: str, document_id: str) -> None:
        """Delete one document (:class:`~clusterbook.errors.NotFound` when it does not exist)."""
        self._http.call(Call.to(DELETE, no_content, collection_id=collection, document_id=document_id))

    def delete_many(self, collection: str, document_ids: Iterable[str]) -> DocumentsDeleteResult:
        """Delete documents by id (ids that do not exist are skipped); ``deleted`` counts those removed."""
        result: DocumentsDeleteResult | None = None
        for ids in _id_batches(document_ids):
            batch = self._http.call(_delete_many(collection, ids))
            result = (
                batch
                if result is None
                else DocumentsDeleteResult(deleted=result.deleted + batch.deleted, collection=batch.collection)
            )
        if result is None:
            collection_now = self._http.call(Call.to(GET_COLLECTION, model(Collection), collection_id=collection))
            return DocumentsDeleteResult(deleted=0, collection=collection_now)
        return result


class AsyncDocuments:
    """The async twin of :class:`Documents`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def upsert(
        self,
        collection: str,
        documents: Iterable[DocumentLike],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    ) -> DocumentsUpsertResult:
        _check_batch(batch_size, max_batch_bytes)
        total: DocumentsUpsertResult | None = None
        try:
            for content in upsert_batches(documents, batch_size, max_batch_bytes):
                total = _add(total, await self._http.call(_upsert(collection, content)))
        except ClusterbookError as exc:
            _note_progress(exc, total)
            raise
        if total is None:
            return _empty(await self._http.call(Call.to(GET_COLLECTION, model(Collection), collection_id=collection)))
        return total

    async def list(
        self,
        collection: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        include_vectors: bool = False,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListDocumentsResponse:
        return await self._http.call(_list(collection, filters, sort, search, include_vectors, page, page_size, cursor))

    def iter(
        self,
        collection: str,
        *,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
        include_vectors: bool = False,
        page_size: int = ITER_PAGE_SIZE,
    ) -> AsyncIterator[Document]:
        async def fetch(cursor: str | None) -> tuple[Sequence[Document], str | None]:
            call = _list(collection, filters, sort, search, include_vectors, None, page_size, cursor)
            return _page(await self._http.call(call))

        return awalk(fetch)

    async def export(
        self,
        collection: str,
        *,
        to: Target,
        filters: FilterLike | None = None,
        sort: SortLike | None = None,
        search: str | None = None,
    ) -> int:
        return await self._http.download(documents_call(collection, filters, sort, search), to)

    async def get(self, collection: str, document_id: str, *, include_vector: bool = False) -> Document:
        return await self._http.call(_get(collection, document_id, include_vector))

    async def delete(self, collection: str, document_id: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, collection_id=collection, document_id=document_id))

    async def delete_many(self, collection: str, document_ids: Iterable[str]) -> DocumentsDeleteResult:
        result: DocumentsDeleteResult | None = None
        for ids in _id_batches(document_ids):
            batch = await self._http.call(_delete_many(collection, ids))
            result = (
                batch
                if result is None
                else DocumentsDeleteResult(deleted=result.deleted + batch.deleted, collection=batch.collection)
            )
        if result is None:
            collection_now = await self._http.call(Call.to(GET_COLLECTION, model(Collection), collection_id=collection))
            return DocumentsDeleteResult(deleted=0, collection=collection_now)
        return result
