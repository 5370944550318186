"""A run's per-document results: memberships (paged like the history), the 2-D projection and the
cluster tree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clusterbook.models.members import ExecutionHierarchy, ExecutionMember, ExecutionProjection
from clusterbook.store.fields import FieldRegistry, FieldSpec
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import execution_hierarchies, execution_members, execution_projections

_m = execution_members.c
_MEMBER_ID_LOWER = func.lower(_m.document_id)
MEMBER_FIELDS = FieldRegistry(
    table=execution_members,
    tiebreaker=_m.document_id,
    default_sort="distance",
    fields={
        # 'cl_<n>': folded by construction
        "cluster_id": FieldSpec("cluster_id", _m.cluster_id, "string", nullable=True, folded=_m.cluster_id),
        "distance": FieldSpec("distance", _m.distance, "number", nullable=True),
        # No stored folded copy: a run's memberships can be millions of rows. lower() ignores ASCII
        # case (SQLite's folds ASCII only), which covers document ids as they are almost always written.
        "document_id": FieldSpec("document_id", _m.document_id, "string", nullable=False, folded=_MEMBER_ID_LOWER),
    },
    search_columns=(_MEMBER_ID_LOWER,),
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


def read_hierarchy(session: Session, *, run_id: str) -> ExecutionHierarchy | None:
    tree: dict[str, Any] | None = session.execute(
        select(execution_hierarchies.c.hierarchy).where(execution_hierarchies.c.run_id == run_id)
    ).scalar_one_or_none()
    if tree is None:
        return None
    return ExecutionHierarchy(run_id=run_id, **tree)
