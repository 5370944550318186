"""Walking every row a listing query matches, in keyset batches, for the streamed exports.

An export of a million runs must not hold a million runs. :class:`KeysetWalk` reads ``batch_size``
rows at a time through the one compiler and the listing's own keyset condition (``fetch_page`` with
``after``, no COUNT), each batch in a transaction of its own held to a fresh read budget
(``store/budget.py``): a batch that runs past ``CLUSTERBOOK_QUERY_TIMEOUT`` stops, and a client that
disconnects stops the batch in flight through the shared cancel token. Only one batch is alive at
a time, so memory is bounded by the batch size whatever the history.

Each batch sees the database as of its own transaction: a run created during the export shows up
if its sort key lies ahead of the walk, like a cursor walk of the listing (the default sort,
``created_at``, never changes under a run; a sort by ``status`` may see a run that changed twice or
not at all).

The three walks: runs (as the listing's ``ClusterExecutionResult``), a run's members (with their
cluster's label and chosen metadata of each document), a collection's documents (the importer's
JSONL shape).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Text, any_, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.exports import RUN_COLUMNS, config_value
from clusterbook.models.listing import SortSpec
from clusterbook.store.budget import QueryBudget, enforce_budget
from clusterbook.store.compiler import resolve_sort
from clusterbook.store.documents import ID_CHUNK, vector_from_bytes
from clusterbook.store.executions import row_to_result
from clusterbook.store.fields import DOCUMENT_FIELDS, EXECUTION_FIELDS, FieldRegistry
from clusterbook.store.listing import CompiledQuery, ListQuery, PageRequest, compile_query, fetch_page
from clusterbook.store.members import MEMBER_FIELDS
from clusterbook.store.tables import documents, execution_members, executions

T = TypeVar("T")
RUN_BATCH = 2000
"""Runs per batch of a flat export (CSV, Parquet: a few columns each): a few MB, and few enough round
trips that a million runs take ~500."""
WIRE_RUN_BATCH = 250
"""Runs per batch of an NDJSON export, whose rows are whole runs (centroids, config: ~2 KB of JSON
each, ten times that as Python objects and a wire model): at 2,000 a batch the server grew 127 MB."""
MEMBER_BATCH = 5000
DOCUMENT_BATCH = 500
"""Documents carry their vector (1.5 KB stored, ~8 KB as JSON at 384 dimensions) and metadata."""

Convert = Callable[[Session, list[Row[Any]]], list[T]]


@dataclass
class KeysetWalk(Generic[T]):
    """Every row of ``query`` within ``scope``, ``batch_size`` at a time, converted by ``convert``
    inside the batch's transaction (so lookups it makes read the same snapshot)."""

    sessions: sessionmaker[Session]
    budget: Callable[[], QueryBudget]
    registry: FieldRegistry
    scope: ColumnElement[bool]
    query: ListQuery
    convert: Convert[T]
    batch_size: int
    columns: Sequence[ColumnElement[Any]] | None = None
    partition: Any = None
    rows_read: int = 0

    def __post_init__(self) -> None:
        self._compiled: CompiledQuery | None = None
        self._after: tuple[Any, str] | None = None
        self._done = False

    def next_batch(self) -> list[T] | None:
        """The next batch (never empty), or None once every row was read."""
        if self._done:
            return None
        with self.sessions() as session, session.begin(), enforce_budget(session, self.budget()):
            if self._compiled is None:  # validated and planned once; the SQL expressions outlive the session
                self._compiled = compile_query(session, self.registry, self.scope, self.query, partition=self.partition)
            page = PageRequest(1, self.batch_size, 0, self._after)
            fetched = fetch_page(session, self.registry, self._compiled, page, count=False, columns=self.columns)
            converted = self.convert(session, fetched.rows) if fetched.rows else []
        self.rows_read += len(fetched.rows)
        self._after = fetched.next_key
        self._done = fetched.next_key is None
        return converted or None

    def __iter__(self) -> Iterator[list[T]]:
        while (batch := self.next_batch()) is not None:
            yield batch


def _runs(_session: Session, rows: list[Row[Any]]) -> list[ClusterExecutionResult]:
    return [row_to_result(row) for row in rows]


def _flat_columns(query: ListQuery, config_fields: Sequence[str]) -> list[ColumnElement[Any]]:
    """The columns a flat export reads: one per declared export column (``RUN_COLUMNS`` names are
    ``executions`` columns), the config when config fields are asked for, and the sort key."""
    _c = executions.c
    names = [column.name for column in RUN_COLUMNS] + (["config"] if config_fields else [])
    names.append(resolve_sort(query.sort, EXECUTION_FIELDS).spec.column.name)
    return [_c[name] for name in dict.fromkeys(names)]


def walk_execution_records(
    sessions: sessionmaker[Session],
    budget: Callable[[], QueryBudget],
    *,
    cluster_id: str,
    query: ListQuery,
    config_fields: Sequence[str] = (),
    batch_size: int = RUN_BATCH,
) -> KeysetWalk[dict[str, Any]]:
    """The same runs as :func:`walk_executions`, as flat records of ``models.exports.run_columns``,
    read from only the columns those need: no centroids, details or wire model per run (their JSON
    decoding and validation were most of an export's time)."""
    _c = executions.c
    names = [column.name for column in RUN_COLUMNS]

    def convert(_session: Session, rows: list[Row[Any]]) -> list[dict[str, Any]]:
        records = []
        for row in rows:
            m = row._mapping
            record = {name: m[name] for name in names}
            for field in config_fields:
                record[field] = config_value(m["config"], field)
            records.append(record)
        return records

    return KeysetWalk(
        sessions,
        budget,
        EXECUTION_FIELDS,
        _c.cluster_id == cluster_id,
        query,
        convert,
        batch_size,
        columns=_flat_columns(query, config_fields),
        partition=(_c.cluster_id, cluster_id),
    )


def walk_executions(
    sessions: sessionmaker[Session],
    budget: Callable[[], QueryBudget],
    *,
    cluster_id: str,
    query: ListQuery,
    batch_size: int = WIRE_RUN_BATCH,
) -> KeysetWalk[ClusterExecutionResult]:
    """A cluster's runs matching ``query`` in its sort (newest first by default), as the listing returns them."""
    _c = executions.c
    return KeysetWalk(
        sessions,
        budget,
        EXECUTION_FIELDS,
        _c.cluster_id == cluster_id,
        query,
        _runs,
        batch_size,
        partition=(_c.cluster_id, cluster_id),
    )


# ---------------------------------------------------------------- members


def metadata_value(column: Any, path: tuple[str, ...], dialect: str) -> ColumnElement[Any]:
    """The JSON value at ``path`` in a metadata column, as JSON (SQLite: its text; PostgreSQL: jsonb,
    which the driver parses); NULL when the key is missing. Keys are letters, digits, '_' and '-'
    (``models/exports.METADATA_FIELD``), so quoting them in the SQLite path is safe."""
    if dialect == "sqlite":
        return column.op("->", return_type=Text())(literal("$" + "".join(f'."{key}"' for key in path)))  # type: ignore[no-any-return]
    return column.op("#>", return_type=JSONB())(literal(list(path), ARRAY(Text())))  # type: ignore[no-any-return]


def _decoded(value: Any, dialect: str) -> Any:
    return json.loads(value) if dialect == "sqlite" and isinstance(value, str) else value


@dataclass(frozen=True)
class MemberRecord:
    document_id: str
    cluster_id: str | None
    label: str | None
    distance: float | None
    metadata: dict[str, Any]
    """``metadata.<key>`` → value, for each field asked for (missing keys left out)."""


def _metadata_of(
    session: Session, collection_ids: Sequence[str], ids: list[str], fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """{document id: {field: value}} for the documents of ``ids`` in the run's collections."""
    dialect = session.get_bind().dialect.name
    paths = [tuple(field.split(".")[1:]) for field in fields]
    values = [metadata_value(documents.c.metadata, path, dialect) for path in paths]
    found: dict[str, dict[str, Any]] = {}
    _d = documents.c
    chunks = [ids[i : i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)] if dialect == "sqlite" else [ids]
    for chunk in chunks:
        by_id = (
            _d.document_id.in_(chunk)
            if dialect == "sqlite"
            else _d.document_id == any_(literal(list(chunk), ARRAY(Text())))
        )
        stmt = select(_d.document_id, *values).where(_d.collection_id.in_(list(collection_ids)), by_id)
        for row in session.execute(stmt):
            found[row[0]] = {
                field: _decoded(value, dialect)
                for field, value in zip(fields, row[1:], strict=True)
                if value is not None
            }
    return found


def walk_members(
    sessions: sessionmaker[Session],
    budget: Callable[[], QueryBudget],
    *,
    run: ClusterExecutionResult,
    metadata_fields: Sequence[str] = (),
    batch_size: int = MEMBER_BATCH,
) -> KeysetWalk[MemberRecord]:
    """A run's memberships in document id order (the primary key's), each with its cluster's label and,
    when asked, metadata values of its document (looked up in the run's collections, one query a batch)."""
    labels = {c.cluster_id: c.label for c in run.centroids or ()}
    collection_ids = [str(c) for c in (run.config or {}).get("collection_ids") or ()]

    def convert(session: Session, rows: list[Row[Any]]) -> list[MemberRecord]:
        ids = [row.document_id for row in rows]
        extra = (
            _metadata_of(session, collection_ids, ids, metadata_fields) if metadata_fields and collection_ids else {}
        )
        return [
            MemberRecord(
                row.document_id,
                row.cluster_id,
                labels.get(row.cluster_id) if row.cluster_id is not None else None,
                row.distance,
                extra.get(row.document_id, {}),
            )
            for row in rows
        ]

    _m = execution_members.c
    return KeysetWalk(
        sessions,
        budget,
        MEMBER_FIELDS,
        _m.run_id == run.run_id,
        ListQuery(sort=SortSpec(field="document_id", direction="asc")),
        convert,
        batch_size,
        columns=[_m.document_id, _m.cluster_id, _m.distance],
    )


# ---------------------------------------------------------------- documents


def _import_line(row: Row[Any]) -> dict[str, Any]:
    """A document in the JSONL shape ``clusterbook import`` reads by default: id, text, vector, metadata."""
    line: dict[str, Any] = {"id": row.document_id}
    if row.text is not None:
        line["text"] = row.text
    if row.vector is not None:
        line["vector"] = vector_from_bytes(row.vector)
    metadata = row.metadata
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    if metadata:
        line["metadata"] = metadata
    return line


def walk_documents(
    sessions: sessionmaker[Session],
    budget: Callable[[], QueryBudget],
    *,
    collection_id: str,
    query: ListQuery | None = None,
    batch_size: int = DOCUMENT_BATCH,
) -> KeysetWalk[dict[str, Any]]:
    """A collection's documents matching ``query`` (default: all, in id order, which the
    ``(collection_id, document_id)`` index serves), as import lines."""
    _d = documents.c
    return KeysetWalk(
        sessions,
        budget,
        DOCUMENT_FIELDS,
        _d.collection_id == collection_id,
        query or ListQuery(sort=SortSpec(field="document_id", direction="asc")),
        lambda _session, rows: [_import_line(row) for row in rows],
        batch_size,
        columns=[_d.document_id, _d.text, _d.vector, _d.metadata],
    )
