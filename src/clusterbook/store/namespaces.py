"""Namespaces: the tenant scope every row belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict
from clusterbook.models.clusters import Namespace
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.ids import new_id
from clusterbook.store.tables import namespaces

DEFAULT_NAMESPACE = "default"


def read_namespace(session: Session, name_or_id: str) -> Namespace | None:
    if not is_storable_ref(name_or_id):
        return None
    row = session.execute(
        select(namespaces).where(
            or_(namespaces.c.namespace_name == name_or_id, namespaces.c.namespace_id == name_or_id)
        )
    ).first()
    return Namespace.model_validate(row._mapping) if row else None


def create_namespace(session: Session, *, name: str) -> Namespace:
    values = {"namespace_id": new_id("ns"), "namespace_name": name, "created_at": datetime.now(UTC)}
    try:
        with session.begin_nested():
            session.execute(insert(namespaces).values(**values))
    except IntegrityError as exc:  # created concurrently by another request
        raise Conflict(f"namespace {name!r} already exists") from exc
    return Namespace.model_validate(values)


def ensure_namespace(session: Session, *, name: str) -> Namespace:
    """The namespace called ``name``, created when missing (for the seed and the CLI)."""
    return read_namespace(session, name) or create_namespace(session, name=name)


def list_namespaces(session: Session) -> list[Namespace]:
    rows = session.execute(select(namespaces).order_by(namespaces.c.namespace_name)).all()
    return [Namespace.model_validate(row._mapping) for row in rows]
