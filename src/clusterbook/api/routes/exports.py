"""Streamed exports: a cluster's runs (CSV, NDJSON, Parquet), a run's members (CSV, Parquet) and a
collection's documents (NDJSON in the importer's shape).

Each route validates its input, then reads the first batch on the request's own thread hop, so a bad
filter, a search past the budget or an unknown run is an ordinary 4xx problem answer. Everything
after streams: ``store/exports.py`` walks the rest in keyset batches (each its own transaction and
read budget) and an encoder of ``api/export_formats.py`` turns each batch into bytes, so memory stays
flat whatever the size of the export. A failure after the first bytes were sent cannot become a 4xx
any more: it is logged and the connection is closed without the end of the chunked body, which
every HTTP client reports as an incomplete response (the SDK deletes the partial file).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from clusterbook.api.budget import request_token
from clusterbook.api.deps import ClusterDep, CollectionDep, SessionDep, finish_request_session
from clusterbook.api.export_formats import CsvEncoder, NdjsonEncoder, ParquetEncoder
from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.errors import ErrorLocation, NotFound, ValidationFailed
from clusterbook.models.clusters import Cluster
from clusterbook.models.collections import Collection
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.exports import (
    MAX_METADATA_FIELDS,
    MEDIA_TYPES,
    ExportExecutionsRequest,
    ExportFormat,
    MemberExportFormat,
    check_metadata_fields,
    member_columns,
    run_columns,
)
from clusterbook.models.listing import ListRequestBase, SortSpec
from clusterbook.store import exports as walks
from clusterbook.store.budget import QueryBudget
from clusterbook.store.compiler import resolve_sort
from clusterbook.store.cost import describe_cost
from clusterbook.store.executions import read_execution
from clusterbook.store.exports import KeysetWalk, MemberRecord
from clusterbook.store.fields import DOCUMENT_FIELDS, EXECUTION_FIELDS, FieldRegistry
from clusterbook.store.listing import ListQuery, PageRequest

logger = logging.getLogger(__name__)
T = TypeVar("T")

runs_router = APIRouter(prefix="/v1/clusters/{cluster_id}", tags=["exports"], responses=COMMON_PROBLEMS)
documents_router = APIRouter(prefix="/v1/collections", tags=["exports"], responses=COMMON_PROBLEMS)


def _streamed(*formats: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of a streamed export: its media types, no JSON schema."""
    return {200: {"description": "The export, streamed", "content": {MEDIA_TYPES[f]: {} for f in formats}}}


class ExportDocumentsRequest(ListRequestBase):
    """Body of ``POST /v1/collections/{collection_id}/documents/export``: the document listing's filters
    (``metadata.<key>``), sort and search; ``{}`` exports every document, in id order."""


def _query_of(body: ListRequestBase, registry: FieldRegistry, default_sort: str | None = None) -> ListQuery:
    sort = body.sort or (SortSpec(field=default_sort, direction="asc") if default_sort else None)
    query = ListQuery(body.filter_tree(), sort, tuple(body.search_terms()), body.filters)
    resolve_sort(query.sort, registry)  # an unknown sort field is a 422 now, not mid-stream
    return query


def _budgets(request: Request, hint: str) -> Callable[[], QueryBudget]:
    """A fresh read budget per batch, sharing the request's cancel token (set when the client leaves)."""
    seconds = request.app.state.settings.query_timeout
    token = request_token(request)
    return lambda: QueryBudget(seconds, token, hint=hint)


def _stream(
    walk: KeysetWalk[T],
    first: list[T] | None,
    encoder: Any,
    encode: Callable[[list[T]], Sequence[Any]],
    what: str,
) -> Iterator[bytes]:
    try:
        yield encoder.start()
        batch = first
        while batch is not None:
            chunk = encoder.batch(encode(batch))
            if chunk:
                yield chunk
            batch = walk.next_batch()
        yield encoder.finish()
    except Exception:
        logger.warning(
            "%s export stopped after %d rows; the response is cut short", what, walk.rows_read, exc_info=True
        )
        raise


def _start(
    request: Request,
    walk: KeysetWalk[T],
    encoder: Any,
    encode: Callable[[list[T]], Sequence[Any]],
    *,
    format: str,
    filename: str,
    what: str,
) -> StreamingResponse:
    """End the request's own transaction, read the first batch (its errors are still 4xx), then stream."""
    finish_request_session(request)
    first = walk.next_batch()
    return StreamingResponse(
        _pumped(_stream(walk, first, encoder, encode, what)),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


PUMP_AHEAD = 2
"""Encoded batches a producer may have ready before the client takes them (bounds memory)."""
_END = object()


async def _pumped(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Run ``chunks`` on one thread of its own, handing each chunk over through a small queue.

    Starlette would step a sync iterator on whichever pool thread is free, and glibc gives each
    thread its own malloc arena: a batch freed on one thread left its memory in that arena, so an
    export's footprint grew with the number of threads it had visited (~100 MB measured), not with
    one batch. One producer thread keeps every batch in one arena. When the client leaves, the
    generator is closed on its own thread (its sessions end) and the request's cancel token has
    already stopped the statement in flight."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=PUMP_AHEAD)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Hand ``item`` over, waiting while the queue is full; False once the response has gone."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(chunk):
                    return
            offer(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the response, which cuts the body short
            offer(exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    threading.Thread(target=produce, name="clusterbook-export", daemon=True).start()
    try:
        while True:
            item = await anyio.to_thread.run_sync(handoff.get)
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _encoder(format: str, columns: Any) -> Any:
    if format == "csv":
        return CsvEncoder(columns)
    if format == "parquet":
        return ParquetEncoder(columns)
    return NdjsonEncoder()


# ---------------------------------------------------------------- runs


@runs_router.post(
    "/executions/export",
    summary="Export every run the listing body matches, streamed: CSV, NDJSON or Parquet",
    description="The body is the history listing's filters, sort and search (no paging: every matching run), "
    "plus config_fields for extra CSV/Parquet columns. CSV and Parquet have one column per run fact and per "
    "declared measure (GET /v1/meta/measures), then the config fields; Parquet keeps types (timestamps in UTC). "
    "NDJSON lines are the listing's result rows. Streamed in keyset batches, each under the query budget.",
    responses=_streamed("csv", "ndjson", "parquet"),
    response_class=StreamingResponse,
)
async def export_executions(
    request: Request,
    cluster: ClusterDep,
    session: SessionDep,
    format: Annotated[ExportFormat, Query(description="csv, ndjson or parquet.")],
    body: Annotated[ExportExecutionsRequest | None, Body()] = None,
) -> StreamingResponse:
    return await run_in_threadpool(_export_executions, request, cluster, format, body or ExportExecutionsRequest())


def _export_executions(
    request: Request, cluster: Cluster, format: ExportFormat, body: ExportExecutionsRequest
) -> StreamingResponse:
    if body.config_fields and format == ExportFormat.ndjson:
        message = "applies to csv and parquet; NDJSON rows carry each run's whole config"
        raise ValidationFailed(f"config_fields {message}", errors=[ErrorLocation("config_fields", message)])
    query = _query_of(body, EXECUTION_FIELDS)
    batch = walks.WIRE_RUN_BATCH if format == ExportFormat.ndjson else walks.RUN_BATCH
    hint = describe_cost(query, EXECUTION_FIELDS, page=PageRequest(1, batch, 0))
    budgets = _budgets(request, f"each batch of {batch} runs of an export gets the whole budget; {hint}")
    fields = body.config_fields or []
    filename = f"{cluster.cluster_name}-runs.{format}"  # names are letters, digits, space, _ . -
    sessions = request.app.state.sessionmaker
    if format == ExportFormat.ndjson:  # the listing's own rows
        runs = walks.walk_executions(sessions, budgets, cluster_id=cluster.cluster_id, query=query, batch_size=batch)
        return _start(request, runs, NdjsonEncoder(), _ndjson_runs, format=format, filename=filename, what="run")
    records = walks.walk_execution_records(
        sessions, budgets, cluster_id=cluster.cluster_id, query=query, config_fields=fields, batch_size=batch
    )
    encoder = _encoder(format, run_columns(fields))
    return _start(request, records, encoder, _same, format=format, filename=filename, what="run")


def _same(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return records


def _ndjson_runs(runs: list[ClusterExecutionResult]) -> list[str]:
    return [run.model_dump_json(by_alias=True) for run in runs]


# ---------------------------------------------------------------- members


@runs_router.get(
    "/executions/{run_id}/members/export",
    summary="Export where each document of a run landed, streamed: CSV or Parquet",
    description="One row per document in document id order: document_id, cluster_id (empty for noise), the "
    "cluster's label, distance to its centre, and the metadata fields asked for with fields= (looked up in the "
    "run's collections; Parquet holds them as JSON text, since one key may hold different types).",
    responses=_streamed("csv", "parquet"),
    response_class=StreamingResponse,
)
async def export_members(
    request: Request,
    run_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    format: Annotated[MemberExportFormat, Query(description="csv or parquet.")],
    fields: Annotated[
        list[str] | None,
        Query(
            description=f"metadata.<key> fields to add as columns (repeat, or comma-separated; at most "
            f"{MAX_METADATA_FIELDS}), e.g. metadata.lang.",
            max_length=MAX_METADATA_FIELDS,
        ),
    ] = None,
) -> StreamingResponse:
    return await run_in_threadpool(_export_members, request, session, cluster, run_id, format, fields or [])


def _export_members(
    request: Request, session: SessionDep, cluster: Cluster, run_id: str, format: MemberExportFormat, raw: list[str]
) -> StreamingResponse:
    names = [name.strip() for item in raw for name in item.split(",") if name.strip()]
    try:
        fields = check_metadata_fields(names)
    except ValueError as exc:
        raise ValidationFailed(f"query.fields: {exc}", errors=[ErrorLocation("query.fields", str(exc))]) from None
    run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    if run is None:
        raise NotFound(f"execution {run_id!r} not found in this cluster")
    walk = walks.walk_members(
        request.app.state.sessionmaker,
        _budgets(request, f"each batch of {walks.MEMBER_BATCH} members of an export gets the whole budget"),
        run=run,
        metadata_fields=fields,
        batch_size=walks.MEMBER_BATCH,
    )

    def encode(records: list[MemberRecord]) -> list[dict[str, Any]]:
        return [
            {
                "document_id": r.document_id,
                "cluster_id": r.cluster_id,
                "label": r.label,
                "distance": r.distance,
                **r.metadata,
            }
            for r in records
        ]

    return _start(
        request,
        walk,
        _encoder(format, member_columns(fields)),
        encode,
        format=format,
        filename=f"{cluster.cluster_name}-{run.run_id}-members.{format}",
        what="members",
    )


# ---------------------------------------------------------------- documents


@documents_router.post(
    "/{collection_id}/documents/export",
    summary="Export a collection's documents, streamed, as NDJSON that clusterbook import reads back",
    description="One JSON object per line: id, text, vector (when stored) and metadata, the shape "
    "`clusterbook import FILE.jsonl` reads by default. The body is the document listing's filters, sort and "
    "search; {} exports every document in id order. Streamed in keyset batches, each under the query budget.",
    responses=_streamed("ndjson"),
    response_class=StreamingResponse,
)
async def export_documents(
    request: Request,
    collection: CollectionDep,
    session: SessionDep,
    format: Annotated[ExportFormat, Query(description="ndjson (the only format for documents).")] = ExportFormat.ndjson,
    body: Annotated[ExportDocumentsRequest | None, Body()] = None,
) -> StreamingResponse:
    return await run_in_threadpool(_export_documents, request, collection, format, body or ExportDocumentsRequest())


def _export_documents(
    request: Request, collection: Collection, format: ExportFormat, body: ExportDocumentsRequest
) -> StreamingResponse:
    if format != ExportFormat.ndjson:
        message = f"documents export as ndjson only (their vectors and nested metadata), not {format.value}"
        raise ValidationFailed(f"query.format: {message}", errors=[ErrorLocation("query.format", message)])
    query = _query_of(body, DOCUMENT_FIELDS, default_sort="document_id")
    walk = walks.walk_documents(
        request.app.state.sessionmaker,
        _budgets(request, f"each batch of {walks.DOCUMENT_BATCH} documents of an export gets the whole budget"),
        collection_id=collection.collection_id,
        query=query,
        batch_size=walks.DOCUMENT_BATCH,
    )

    def encode(lines: list[dict[str, Any]]) -> list[str]:
        return [json.dumps(line, ensure_ascii=False, separators=(",", ":")) for line in lines]

    return _start(
        request,
        walk,
        NdjsonEncoder(),
        encode,
        format="ndjson",
        filename=f"{collection.collection_name}.jsonl",
        what="documents",
    )
