"""A run's per-document results: memberships (paged like the history) and the 2-D projection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clusterbook.models.members import ExecutionMember, ExecutionProjection
from clusterbook.store.fields import FieldRegistry, FieldSpec
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import execution_members, execution_projections

_m = execution_members.c
MEMBER_FIELDS = FieldRegistry(
    table=execution_members,
    tiebreaker=_m.document_id,
    default_sort="distance",
    fields={
        "cluster_id": FieldSpec("cluster_id", _m.cluster_id, "string", nullable=True),
        "distance": FieldSpec("distance", _m.distance, "number", nullable=True),
        "document_id": FieldSpec("document_id", _m.document_id, "string", nullable=False),
    },
    search_columns=(_m.document_id,),
    indexed_sorts=frozenset({"distance", "cluster_id", "document_id"}),
)


def list_members(
    session: Session, *, run_id: str, query: ListQuery, page: PageRequest
) -> tuple[list[ExecutionMember], PageRows]:
    compiled = compile_query(session, MEMBER_FIELDS, _m.run_id == run_id, query)
    fetched = fetch_page(session, MEMBER_FIELDS, compiled, page)
    results = [
        ExecutionMember(document_id=r.document_id, cluster_id=r.cluster_id, distance=r.distance) for r in fetched.rows
    ]
    return results, fetched


def read_projection(session: Session, *, run_id: str) -> ExecutionProjection | None:
    projection: dict[str, Any] | None = session.execute(
        select(execution_projections.c.projection).where(execution_projections.c.run_id == run_id)
    ).scalar_one_or_none()
    if projection is None:
        return None
    return ExecutionProjection(run_id=run_id, **projection)
