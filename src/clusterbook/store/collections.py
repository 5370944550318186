"""Collections: create, read (by id or name), list, delete, and resolving the collections a cluster names.

Every function is scoped to a namespace. A collection's ``document_count`` is counted from the
``(collection_id, …)`` document indexes when it is read, never stored, so it cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, Select, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict, ErrorLocation, ValidationFailed
from clusterbook.models.collections import Collection, CollectionCreate
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.fields import COLLECTION_FIELDS
from clusterbook.store.folded import with_folded
from clusterbook.store.ids import new_id
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import clusters, collections, documents

_c = collections.c
Lock = Literal["share", "update"] | None


def _document_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .select_from(documents)
        .where(documents.c.collection_id == _c.collection_id)
        .scalar_subquery()
        .label("document_count")
    )


def _with_count() -> Select[Any]:
    return select(collections, _document_count())


def row_to_collection(row: Row[Any]) -> Collection:
    return Collection.model_validate(dict(row._mapping))


def _by_ref(namespace_id: str, ref: str) -> ColumnElement[bool]:
    return (_c.namespace_id == namespace_id) & or_(_c.collection_id == ref, _c.collection_name == ref)


def create_collection(session: Session, *, namespace_id: str, data: CollectionCreate) -> Collection:
    now = datetime.now(UTC)
    values = {
        "collection_id": new_id("col"),
        "namespace_id": namespace_id,
        "collection_name": data.collection_name,
        "description": data.description,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with session.begin_nested():
            session.execute(insert(collections).values(**with_folded(collections, values)))
    except IntegrityError as exc:
        raise Conflict(
            f"a collection named {data.collection_name!r} already exists in this namespace; choose another "
            "collection_name, or add documents to the existing one"
        ) from exc
    return Collection.model_validate({**values, "vector_dimension": None, "document_count": 0})


def read_collection(session: Session, *, namespace_id: str, collection_ref: str) -> Collection | None:
    """A collection of this namespace by id or by name; ``None`` when absent (or in another namespace)."""
    if not is_storable_ref(collection_ref):
        return None
    row = session.execute(_with_count().where(_by_ref(namespace_id, collection_ref))).first()
    return row_to_collection(row) if row else None


def ensure_collection(session: Session, *, namespace_id: str, name: str, description: str | None = None) -> Collection:
    """The collection called ``name``, created (empty) when missing; for the seeder and demos."""
    found = read_collection(session, namespace_id=namespace_id, collection_ref=name)
    if found is not None:
        return found
    return create_collection(
        session, namespace_id=namespace_id, data=CollectionCreate(collection_name=name, description=description)
    )


def lock_collection(session: Session, *, collection_id: str, lock: Lock = "update") -> Row[Any] | None:
    """The collection's row, locked for the rest of the transaction on PostgreSQL (SQLite writers already
    hold the database's write lock): concurrent uploads into one collection take turns, so the first
    vector's dimension is settled once, and a collection being deleted cannot gain a new user."""
    stmt = select(collections).where(_c.collection_id == collection_id)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    return session.execute(stmt).first()


def touch_collection(session: Session, *, collection_id: str, **values: Any) -> None:
    """Record a change to the collection (its documents or its dimension)."""
    session.execute(
        update(collections)
        .where(_c.collection_id == collection_id)
        .values(updated_at=datetime.now(UTC), **with_folded(collections, values))
    )


def list_collections(
    session: Session, *, namespace_id: str, query: ListQuery, page: PageRequest
) -> tuple[list[Collection], PageRows]:
    compiled = compile_query(session, COLLECTION_FIELDS, _c.namespace_id == namespace_id, query)
    fetched = fetch_page(session, COLLECTION_FIELDS, compiled, page, columns=[*collections.c, _document_count()])
    return [row_to_collection(row) for row in fetched.rows], fetched


def clusters_using(session: Session, *, namespace_id: str, collection_id: str) -> list[str]:
    """Names of the namespace's clusters whose ``collection_ids`` include this collection."""
    rows = session.execute(
        select(clusters.c.cluster_name, clusters.c.collection_ids)
        .where(clusters.c.namespace_id == namespace_id)
        .order_by(clusters.c.cluster_name)
    ).all()
    return [name for name, ids in rows if collection_id in (ids or ())]


def delete_collection(session: Session, *, namespace_id: str, collection_id: str) -> None:
    """Delete a collection and its documents, unless a cluster still uses it (409 naming the clusters).

    A run in flight keeps the documents it already loaded; its cluster's next run would fail, which is
    why the clusters must let go of the collection first."""
    row = lock_collection(session, collection_id=collection_id)
    if row is None:
        return
    users = clusters_using(session, namespace_id=namespace_id, collection_id=collection_id)
    if users:
        shown = ", ".join(repr(name) for name in users[:10]) + (
            f" and {len(users) - 10} more" if len(users) > 10 else ""
        )
        several = len(users) > 1
        raise Conflict(
            f"collection {row.collection_name!r} is used by cluster{'s' if several else ''} {shown}; remove it "
            f"from {'their' if several else 'its'} collection_ids (PATCH /v1/clusters/{{cluster}}) or delete "
            f"{'those clusters' if several else 'that cluster'} first",
            extra={"clusters": users},
        )
    session.execute(delete(documents).where(documents.c.collection_id == collection_id))
    session.execute(delete(collections).where(_c.collection_id == collection_id))


def resolve_collection_ids(
    session: Session, *, namespace_id: str, refs: Sequence[str], field: str = "collection_ids"
) -> list[str]:
    """The ``col_…`` ids of the collections ``refs`` name (ids or names), in order, without repeats.

    Raises ValidationFailed naming every ref that is no collection of the namespace. The rows are
    share-locked on PostgreSQL so a concurrent delete waits for this transaction, then sees the user.
    """
    found: dict[str, str] = {}
    storable = [ref for ref in dict.fromkeys(refs) if is_storable_ref(ref)]
    if storable:
        rows = session.execute(
            select(_c.collection_id, _c.collection_name)
            .where(
                _c.namespace_id == namespace_id, or_(_c.collection_id.in_(storable), _c.collection_name.in_(storable))
            )
            .with_for_update(read=True)
        ).all()
        for collection_id, name in rows:
            found[collection_id] = collection_id
            found[name] = collection_id
    missing = [(i, ref) for i, ref in enumerate(refs) if ref not in found]
    if missing:
        names = ", ".join(repr(ref) for _, ref in missing)
        message = (
            f"no collection {names} in this namespace; create {'them' if len(missing) > 1 else 'it'} with "
            "POST /v1/collections (or `clusterbook import FILE --collection NAME`), or name an existing "
            "collection by id or name"
        )
        raise ValidationFailed(
            f"{field}: {message}",
            errors=[ErrorLocation(f"{field}[{i}]", f"no collection {ref!r} in this namespace") for i, ref in missing],
        )
    return list(dict.fromkeys(found[ref] for ref in refs))
