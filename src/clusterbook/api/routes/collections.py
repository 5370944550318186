"""Collection and document routes: create, read (by id or name), list and delete collections; upsert,
list, read and delete their documents. All in the request's namespace (``X-Namespace``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from clusterbook.api.deps import CollectionDep, NamespaceDep, SessionDep, writes_database
from clusterbook.api.paging import PageParams, page_params, pagination_block, prepare_listing
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.api.uploads import UPLOAD_DESCRIPTION, UPLOAD_OPENAPI, Upload, read_upload
from clusterbook.errors import NotFound
from clusterbook.models.collections import (
    Collection,
    CollectionCreate,
    Document,
    DocumentsDelete,
    DocumentsDeleteResult,
    DocumentsUpsertResult,
    ListCollectionsRequest,
    ListCollectionsResponse,
    ListDocumentsRequest,
    ListDocumentsResponse,
)
from clusterbook.store import collections as store
from clusterbook.store import documents as docs
from clusterbook.store.fields import COLLECTION_FIELDS, DOCUMENT_FIELDS

router = APIRouter(prefix="/v1/collections", tags=["collections"], responses=COMMON_PROBLEMS)

DocumentIdPath = Annotated[str, Path(description="The document's id (percent-encode '/', '?', '#' and '%').")]
IncludeVectors = Annotated[bool, Query(description="Return the document's vector too.")]


def _document_not_found(document_id: str, collection: Collection) -> NotFound:
    return NotFound(f"document {document_id!r} not found in collection {collection.collection_name!r}")


@router.post(
    "", response_model=Collection, status_code=201, summary="Create a collection", responses=problem_responses(409)
)
@writes_database
def create_collection(data: CollectionCreate, namespace: NamespaceDep, session: SessionDep) -> Collection:
    return store.create_collection(session, namespace_id=namespace.namespace_id, data=data)


@router.post("/list", response_model=ListCollectionsResponse, summary="List the namespace's collections")
def list_collections(
    request: Request,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListCollectionsRequest | None, Body()] = None,
) -> ListCollectionsResponse:
    scope = {"ns": namespace.namespace_id, "list": "collections"}
    query, paging = prepare_listing(request, params, body or ListCollectionsRequest(), COLLECTION_FIELDS, scope)
    results, fetched = store.list_collections(
        session, namespace_id=namespace.namespace_id, query=query, page=paging.request
    )
    total = fetched.total or 0
    return ListCollectionsResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )


@router.get("/{collection_id}", response_model=Collection, summary="One collection, by id or name")
def get_collection(collection: CollectionDep) -> Collection:
    return collection


@router.delete(
    "/{collection_id}",
    status_code=204,
    summary="Delete a collection and its documents (409 while a cluster uses it)",
    responses=problem_responses(409),
)
@writes_database
def delete_collection(collection: CollectionDep, namespace: NamespaceDep, session: SessionDep) -> Response:
    store.delete_collection(session, namespace_id=namespace.namespace_id, collection_id=collection.collection_id)
    return Response(status_code=204)


@router.post(
    "/{collection_id}/documents",
    response_model=DocumentsUpsertResult,
    summary="Create or replace documents by id (all or nothing; up to 10,000 per request)",
    description=UPLOAD_DESCRIPTION,
    openapi_extra=UPLOAD_OPENAPI,
    responses=problem_responses(503),
)
@writes_database
def upsert_documents(
    upload: Annotated[Upload, Depends(read_upload)], collection: CollectionDep, session: SessionDep
) -> DocumentsUpsertResult:
    return docs.upsert_documents(session, collection=collection, docs=upload.documents())


@router.post(
    "/{collection_id}/documents/list",
    response_model=ListDocumentsResponse,
    response_model_exclude_unset=True,
    summary="List a collection's documents: filters over metadata.<key>, sort, search over the text",
)
def list_documents(
    request: Request,
    collection: CollectionDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListDocumentsRequest | None, Body()] = None,
) -> ListDocumentsResponse:
    body = body or ListDocumentsRequest()
    scope = {"ns": collection.namespace_id, "list": "documents", "collection": collection.collection_id}
    query, paging = prepare_listing(request, params, body, DOCUMENT_FIELDS, scope)
    results, fetched = docs.list_documents(
        session,
        collection_id=collection.collection_id,
        query=query,
        page=paging.request,
        include_vectors=body.include_vectors,
    )
    total = fetched.total or 0
    return ListDocumentsResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )


@router.post(
    "/{collection_id}/documents/delete",
    response_model=DocumentsDeleteResult,
    summary="Delete documents by id (ids that do not exist are skipped)",
)
@writes_database
def delete_documents(data: DocumentsDelete, collection: CollectionDep, session: SessionDep) -> DocumentsDeleteResult:
    return docs.delete_documents(session, collection=collection, document_ids=data.document_ids)


@router.get(
    "/{collection_id}/documents/{document_id:path}",
    response_model=Document,
    response_model_exclude_unset=True,
    summary="One document",
)
def get_document(
    collection: CollectionDep, session: SessionDep, document_id: DocumentIdPath, include_vectors: IncludeVectors = False
) -> Document:
    found = docs.read_document(
        session, collection_id=collection.collection_id, document_id=document_id, include_vector=include_vectors
    )
    if found is None:
        raise _document_not_found(document_id, collection)
    return found


@router.delete("/{collection_id}/documents/{document_id:path}", status_code=204, summary="Delete one document")
@writes_database
def delete_document(collection: CollectionDep, session: SessionDep, document_id: DocumentIdPath) -> Response:
    result = docs.delete_documents(session, collection=collection, document_ids=[document_id])
    if not result.deleted:
        raise _document_not_found(document_id, collection)
    return Response(status_code=204)
