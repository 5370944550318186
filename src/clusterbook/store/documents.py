"""Documents of a collection: batch upsert, read, list, delete, and loading a run's documents.

Vectors are stored as little-endian float32 bytes (never JSON) and every vector of a collection has
the collection's ``vector_dimension``, which the first vector sets. An upsert is all or nothing: a
batch with one bad vector writes none of its documents (the request's transaction rolls back). An
upsert consumes its documents lazily and writes them in chunks, so a large upload is never held in
memory as a whole beside its parsed form.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import ColumnElement, CursorResult, Row, Select, Text, and_, any_, delete, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from clusterbook.errors import ClusteringFailed, ErrorLocation, InvalidFilter, NotFound, ValidationFailed
from clusterbook.models.collections import (
    Collection,
    Document,
    DocumentIn,
    DocumentsDeleteResult,
    DocumentsUpsertResult,
    vector_b64_bytes,
)
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.collections import lock_collection, read_collection, touch_collection
from clusterbook.store.compiler import compile_filter
from clusterbook.store.db import BINARY_RESULTS, is_sqlite
from clusterbook.store.fields import DOCUMENT_FIELDS
from clusterbook.store.folded import with_folded
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import collections, documents
from clusterbook.store.vector_copy import CHANGED, copy_collection_vectors, holds_one_snapshot, index_order
from clusterbook.store.vectors import VECTOR_DTYPE, first_nonfinite, float32_bytes, nonfinite_message

ID_CHUNK = 900
"""Ids bound per statement: below the 999 host parameters of old SQLite builds."""
MAX_REPORTED = 100
"""Bad documents listed one by one in a 422 (the message says how many there were in all)."""
WRITE_CHUNK = 500
"""Documents per executemany: bounds the rows (and driver buffers) alive at once during an upload."""

_d = documents.c
_WITHOUT_VECTOR = [column for column in documents.c if column.name != "vector"]


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A document ready to store: its vector already little-endian float32 bytes (finite, checked)."""

    document_id: str
    text: str | None
    metadata: dict[str, Any] | None
    vector: bytes | None

    @property
    def dimension(self) -> int | None:
        return None if self.vector is None else len(self.vector) // VECTOR_DTYPE.itemsize


def document_row(doc: DocumentIn, index: int) -> DocumentRow:
    """The stored form of a validated wire document; ValidationFailed names a component float32 cannot hold."""
    vector: bytes | None = None
    bad: int | None = None
    if doc.vector is not None:
        vector, bad = float32_bytes(doc.vector)
        values: Sequence[float] | np.ndarray = doc.vector
    elif doc.vector_b64 is not None:
        vector = vector_b64_bytes(doc.vector_b64)
        values = np.frombuffer(vector, dtype=VECTOR_DTYPE)
        bad = first_nonfinite(values)
    if bad is not None:
        raise _invalid([ErrorLocation(f"documents[{index}].vector[{bad}]", nonfinite_message(float(values[bad])))],
                       "vector component")  # fmt: skip
    return DocumentRow(doc.document_id, doc.text, doc.metadata, vector)


def vector_from_bytes(data: bytes) -> list[float]:
    return np.frombuffer(data, dtype=VECTOR_DTYPE).tolist()  # type: ignore[no-any-return]


def row_to_document(row: Row[Any], *, include_vector: bool) -> Document:
    m = row._mapping
    fields: dict[str, Any] = {
        "document_id": m["document_id"],
        "text": m["text"],
        "metadata": m["metadata"] or {},
        "created_at": m["created_at"],
        "updated_at": m["updated_at"],
    }
    if include_vector:  # left unset otherwise, so the response leaves the key out
        fields["vector"] = None if m["vector"] is None else vector_from_bytes(m["vector"])
    return Document(**fields)


def _chunks(items: Sequence[str], size: int = ID_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _invalid(found: list[ErrorLocation], what: str) -> ValidationFailed:
    more = f" ({len(found)} documents in all; nothing was written)" if len(found) > 1 else " (nothing was written)"
    first = found[0]
    return ValidationFailed(f"{first.loc} {first.message}{more}", errors=found[:MAX_REPORTED], extra={"what": what})


class _BatchCheck:
    """Repeated ids and vectors of the wrong length, found as documents stream by and reported all at once."""

    def __init__(self, dimension: int | None, collection_name: str) -> None:
        self.dimension = dimension
        self.collection_name = collection_name
        self.seen: dict[str, int] = {}
        self.repeats: list[ErrorLocation] = []
        self.wrong: list[ErrorLocation] = []
        self.first_vector: int | None = None

    @property
    def failed(self) -> bool:
        return bool(self.repeats or self.wrong)

    def add(self, i: int, doc: DocumentRow) -> None:
        first = self.seen.setdefault(doc.document_id, i)
        if first != i:
            self.repeats.append(ErrorLocation(
                f"documents[{i}].document_id",
                f"repeats documents[{first}].document_id {doc.document_id!r}; send each document once per request",
            ))  # fmt: skip
        size = doc.dimension
        if size is None:
            return
        if self.dimension is None:
            self.dimension, self.first_vector = size, i
        if size == self.dimension:
            return
        if self.first_vector is None:
            holds = f"collection {self.collection_name!r} holds {self.dimension}-dimensional vectors"
        else:
            holds = (
                f"documents[{self.first_vector}].vector has {self.dimension}, and every vector of collection "
                f"{self.collection_name!r} must have one dimension"
            )
        self.wrong.append(ErrorLocation(f"documents[{i}].vector", f"has dimension {size} but {holds}"))

    def raise_if_failed(self) -> None:
        if self.repeats:
            raise _invalid(self.repeats, "repeated ids")
        if self.wrong:
            raise _invalid(self.wrong, "vector dimension")


def _existing_ids(session: Session, collection_id: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` the collection holds: one array-bound query on PostgreSQL, chunks on SQLite."""
    if session.get_bind().dialect.name != "sqlite":
        stmt = select(_d.document_id).where(
            _d.collection_id == collection_id, _d.document_id == any_(literal(list(ids), ARRAY(Text())))
        )
        return set(session.execute(stmt).scalars().all())
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(
            session.execute(select(_d.document_id).where(_d.collection_id == collection_id, _d.document_id.in_(chunk)))
            .scalars()
            .all()
        )
    return found


def _write(session: Session, collection_id: str, rows: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT DO UPDATE for the whole batch (one executemany); returns how many rows were new."""
    dialect = session.get_bind().dialect.name
    insert = sqlite.insert(documents) if dialect == "sqlite" else postgresql.insert(documents)
    stmt = insert.on_conflict_do_update(
        index_elements=[_d.collection_id, _d.document_id],
        set_={
            name: insert.excluded[name]
            for name in ("text", "metadata", "vector", "updated_at", "text_folded", "metadata_folded")
        },
    )
    existing = _existing_ids(session, collection_id, [row["document_id"] for row in rows])
    session.execute(stmt, rows)
    return len(rows) - len(existing)


def upsert_documents(
    session: Session, *, collection: Collection, docs: Iterable[DocumentIn | DocumentRow]
) -> DocumentsUpsertResult:
    """Create or replace (whole: text, metadata and vector) each document, ``WRITE_CHUNK`` rows per
    executemany, consuming ``docs`` lazily.

    Raises ValidationFailed when an id repeats in the batch or a vector's length differs from the
    collection's dimension (or, in a collection without vectors yet, from the batch's first vector);
    nothing more is written once one is found, and the caller's transaction undoes the rest."""
    row = lock_collection(session, collection_id=collection.collection_id)
    if row is None:
        raise NotFound(f"collection {collection.collection_name!r} not found")
    check = _BatchCheck(row.vector_dimension, row.collection_name)
    now = datetime.now(UTC)
    pending: list[dict[str, Any]] = []
    created = count = 0
    batch_has_vectors = False
    for i, item in enumerate(docs):
        doc = item if isinstance(item, DocumentRow) else document_row(item, i)
        count += 1
        batch_has_vectors = batch_has_vectors or doc.vector is not None
        check.add(i, doc)
        if check.failed:
            pending.clear()  # keep reading, to report every bad document at once
            continue
        pending.append(with_folded(documents, {
            "collection_id": collection.collection_id,
            "document_id": doc.document_id,
            "text": doc.text,
            "metadata": doc.metadata or {},
            "vector": doc.vector,
            "created_at": now,
            "updated_at": now,
        }))  # fmt: skip
        if len(pending) >= WRITE_CHUNK:
            created += _write(session, collection.collection_id, pending)
            pending = []
    check.raise_if_failed()
    if pending:
        created += _write(session, collection.collection_id, pending)
    changes: dict[str, Any] = {}
    if row.vector_dimension is None and batch_has_vectors:
        changes["vector_dimension"] = check.dimension
    elif (
        row.vector_dimension is not None
        and not batch_has_vectors
        and created < count
        and not _holds_vectors(session, collection.collection_id)
    ):
        changes["vector_dimension"] = None  # text-only documents replaced the last vectors
    touch_collection(session, collection_id=collection.collection_id, **changes)
    after = read_collection(session, namespace_id=collection.namespace_id, collection_ref=collection.collection_id)
    assert after is not None
    return DocumentsUpsertResult(upserted=count, created=created, updated=count - created, collection=after)


def _holds_vectors(session: Session, collection_id: str) -> bool:
    return bool(
        session.execute(select(exists().where(_d.collection_id == collection_id, _d.vector.is_not(None)))).scalar()
    )


def read_document(
    session: Session, *, collection_id: str, document_id: str, include_vector: bool = False
) -> Document | None:
    if not is_storable_ref(document_id):
        return None
    columns = list(documents.c) if include_vector else _WITHOUT_VECTOR
    row = session.execute(
        select(*columns).where(_d.collection_id == collection_id, _d.document_id == document_id)
    ).first()
    return row_to_document(row, include_vector=include_vector) if row else None


def list_documents(
    session: Session, *, collection_id: str, query: ListQuery, page: PageRequest, include_vectors: bool = False
) -> tuple[list[Document], PageRows]:
    compiled = compile_query(session, DOCUMENT_FIELDS, _d.collection_id == collection_id, query)
    columns = list(documents.c) if include_vectors else _WITHOUT_VECTOR
    fetched = fetch_page(session, DOCUMENT_FIELDS, compiled, page, columns=columns)
    return [row_to_document(row, include_vector=include_vectors) for row in fetched.rows], fetched


def delete_documents(session: Session, *, collection: Collection, document_ids: Sequence[str]) -> DocumentsDeleteResult:
    """Delete the named documents (ids that do not exist are skipped); returns how many went."""
    row = lock_collection(session, collection_id=collection.collection_id)
    if row is None:
        raise NotFound(f"collection {collection.collection_name!r} not found")
    deleted = 0
    for chunk in _chunks(list(dict.fromkeys(i for i in document_ids if is_storable_ref(i)))):
        result = cast(
            CursorResult[Any],
            session.execute(
                delete(documents).where(_d.collection_id == collection.collection_id, _d.document_id.in_(chunk))
            ),
        )
        deleted += result.rowcount
    if deleted:
        changes: dict[str, Any] = {}
        if row.vector_dimension is not None and not _holds_vectors(session, collection.collection_id):
            changes["vector_dimension"] = None  # the last vector went: the next one may set a new dimension
        touch_collection(session, collection_id=collection.collection_id, **changes)
    after = read_collection(session, namespace_id=collection.namespace_id, collection_ref=collection.collection_id)
    assert after is not None
    return DocumentsDeleteResult(deleted=deleted, collection=after)


# ---------------------------------------------------------------- what a run loads


@dataclass(frozen=True)
class RunDocuments:
    document_ids: list[str]
    texts: list[str | None]
    metadata: list[dict[str, Any]]
    vectors: np.ndarray | None  # float32 (N, d) when every document has a vector; None when none has


LOAD_BATCH = 5000


def _run_collections(session: Session, namespace_id: str, refs: list[str]) -> list[Row[Any]]:
    rows: list[Row[Any]] = []
    seen: set[str] = set()
    for ref in refs:
        row = None
        if is_storable_ref(ref):
            row = session.execute(
                select(collections).where(
                    collections.c.namespace_id == namespace_id,
                    (collections.c.collection_id == ref) | (collections.c.collection_name == ref),
                )
            ).first()
        if row is None:
            raise ClusteringFailed(
                f"collection {ref!r} no longer exists; remove it from the cluster's collection_ids "
                "(PATCH /v1/clusters/{cluster}) or create it again and import its documents"
            )
        if row.collection_id not in seen:
            seen.add(row.collection_id)
            rows.append(row)
    with_vectors = [row for row in rows if row.vector_dimension is not None]
    for row in with_vectors[1:]:
        first = with_vectors[0]
        if row.vector_dimension != first.vector_dimension:
            raise ClusteringFailed(
                f"Vectors of collection {first.collection_name!r} have dimension {first.vector_dimension} but "
                f"collection {row.collection_name!r} has {row.vector_dimension}; cluster collections of one dimension"
            )
    return rows


def _run_filter(session: Session, filters: dict[str, Any] | None) -> ColumnElement[bool]:
    try:
        return compile_filter(parse_filter_tree(filters), DOCUMENT_FIELDS, session.get_bind().dialect.name)
    except InvalidFilter as exc:
        raise ClusteringFailed(
            f"the cluster's filters are invalid: {exc.message}; fix them with PATCH /v1/clusters/{{cluster}}"
        ) from exc


def load_run_documents(
    session: Session,
    *,
    namespace_id: str,
    collection_ids: list[str],
    filters: dict[str, Any] | None,
    with_metadata: bool = True,
    updated_since: datetime | None = None,
) -> RunDocuments:
    """Documents of the cluster's collections (ids or names) that match the cluster's pre-filter (same
    filter language over metadata.*), ordered by collection then document id.

    Raises ClusteringFailed, with the cause and the fix, when a collection no longer exists, when the
    collections hold vectors of different dimensions, when some documents have vectors and some do not,
    or when one document id appears in two of the collections.

    Rows stream from the database in batches of ``LOAD_BATCH`` as plain tuples (``_row_batches``); each
    batch's vector bytes are joined and copied at once into one preallocated float32 array. On
    PostgreSQL, for whole collections (no filter) in a session holding one snapshot (the runner's,
    ``make_sessionmaker(engine, snapshot=True)``), the vectors come by binary COPY instead
    (``store/vector_copy.py``) and the whole-collection reads walk the ``(collection_id, document_id)``
    index rather than sort. ``with_metadata=False`` skips reading (and parsing) the metadata JSON,
    which only attribute grouping needs; every document then gets ``{}``. ``updated_since``: only the
    documents added or changed at or after that time (assign runs, ``runner/assign.py``).
    """
    targets = _run_collections(session, namespace_id, collection_ids)
    where = _run_filter(session, filters)
    whole = filters is None and updated_since is None
    if updated_since is not None:
        where = and_(where, _d.updated_at >= updated_since)
    counts: list[tuple[int, int]] = []
    for row in targets:
        scope = and_(_d.collection_id == row.collection_id, where)
        total, vectored = session.execute(select(func.count(), func.count(_d.vector)).where(scope)).one()
        counts.append((int(total), int(vectored)))
    total = sum(n for n, _ in counts)
    with_vectors = sum(v for _, v in counts)
    if 0 < with_vectors < total:
        raise ClusteringFailed(
            f"{total - with_vectors:,} of {total:,} documents have no vector; give every document a vector, or "
            "none so the cluster's embedder computes them from text"
        )
    dimension = next((row.vector_dimension for row in targets if row.vector_dimension is not None), None)
    if with_vectors and dimension is None:  # cannot happen while uploads keep vector_dimension current
        raise ClusteringFailed("the collections' vector dimension is unknown; upload the documents' vectors again")
    vectors = np.empty((total, dimension), dtype=np.float32) if with_vectors and dimension else None
    ids: list[str] = []
    texts: list[str | None] = []
    metadata: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    # PostgreSQL, the whole collections, one snapshot: the vectors by COPY, the rest by a plain query
    by_copy = vectors is not None and whole and not is_sqlite(session) and holds_one_snapshot(session)
    columns = [_d.document_id, _d.text] + ([_d.vector] if vectors is not None and not by_copy else [])
    columns += [_d.metadata] if with_metadata else []
    expected_bytes = (dimension or 0) * VECTOR_DTYPE.itemsize
    vectors_done = 0
    with index_order(session, whole):
        for row, (count, _) in zip(targets, counts, strict=True):
            if not count:
                continue
            if by_copy:
                assert vectors is not None
                copy_collection_vectors(session, row.collection_id, vectors[len(ids) : len(ids) + count])
                vectors_done = len(ids) + count
            stmt = select(*columns).where(_d.collection_id == row.collection_id, where).order_by(_d.document_id)
            with closing(_row_batches(session, stmt)) as batches:  # a failure midway closes PostgreSQL's server cursor
                for batch in batches:
                    batch_ids = [record[0] for record in batch]
                    if len(targets) > 1:
                        _check_unique(batch_ids, row.collection_name, owner)
                    if vectors is not None and not by_copy:
                        if len(ids) + len(batch) > total:
                            raise ClusteringFailed(
                                "documents were added while the run loaded them; execute the cluster again"
                            )
                        _copy_vectors([record[2] for record in batch], vectors, len(ids), expected_bytes, batch_ids)
                    ids.extend(batch_ids)
                    texts.extend([record[1] for record in batch])
                    if with_metadata:
                        metadata.extend([_metadata(record[-1]) for record in batch])
            if by_copy and len(ids) != vectors_done:  # cannot happen within one snapshot
                raise ClusteringFailed(CHANGED)
    if vectors is not None and len(ids) != total:
        vectors = vectors[: len(ids)]
    if not with_metadata:
        metadata = [{} for _ in ids]
    return RunDocuments(ids, texts, metadata, vectors)


def _row_batches(session: Session, stmt: Select[Any]) -> Generator[Sequence[Sequence[Any]], None, None]:
    """The rows of ``stmt`` as plain tuples, ``LOAD_BATCH`` at a time, without a copy of the result.

    SQLite: SQLAlchemy compiles and executes (binds, budget hooks), then the rows come straight from
    the sqlite3 cursor, which steps through them as they are fetched; a SQLAlchemy row per document
    cost a third of the load. PostgreSQL: a server-side cursor whose rows come in binary form
    (``BINARY_RESULTS``), so each vector arrives as its 1,536 raw bytes instead of 3,072 hex digits.
    """
    if is_sqlite(session):
        with closing(cast(CursorResult[Any], session.execute(stmt))) as result:
            cursor = result.cursor
            while batch := cursor.fetchmany(LOAD_BATCH):
                yield batch
        return
    options = {"stream_results": True, "max_row_buffer": LOAD_BATCH, "yield_per": LOAD_BATCH, BINARY_RESULTS: True}
    with closing(cast(CursorResult[Any], session.execute(stmt.execution_options(**options)))) as streamed:
        # The first batch through SQLAlchemy, which has already buffered a row; then psycopg's own tuples
        if batch := streamed.fetchmany(LOAD_BATCH):
            yield batch
        cursor = streamed.cursor  # None once SQLAlchemy saw the end (and closed it)
        while cursor is not None and (batch := cursor.fetchmany(LOAD_BATCH)):
            yield batch


def _metadata(stored: Any) -> dict[str, Any]:
    """A document's metadata as loaded: SQLite's raw cursor gives the JSON text, psycopg the parsed value."""
    if isinstance(stored, str):
        stored = json.loads(stored)
    return stored or {}


def _check_unique(batch_ids: list[str], collection_name: str, owner: dict[str, str]) -> None:
    for document_id in batch_ids:
        earlier = owner.setdefault(document_id, collection_name)
        if earlier != collection_name:
            raise ClusteringFailed(
                f"document {document_id!r} is in both collection {earlier!r} and collection "
                f"{collection_name!r}; a run needs unique document ids, so rename one of them or "
                "cluster the collections separately"
            )


def _copy_vectors(blobs: list[Any], vectors: np.ndarray, start: int, expected_bytes: int, ids: list[str]) -> None:
    """One batch of stored vectors into ``vectors[start:]``: one join, one copy (no per-row array)."""
    try:
        lengths_ok = all(length == expected_bytes for length in map(len, blobs))
    except TypeError:  # a NULL vector
        lengths_ok = False
    if not lengths_ok:  # rows written while the run counted
        changed = next(i for i, b in enumerate(blobs) if b is None or len(b) != expected_bytes)
        raise ClusteringFailed(f"document {ids[changed]!r} changed while the run loaded it; execute the cluster again")
    block = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE)
    vectors[start : start + len(blobs)] = block.reshape(len(blobs), -1)
