"""Two runs' memberships side by side, counted in the database.

The main query here joins the memberships of two runs on ``document_id`` and groups by the pair of
cluster ids, so the database returns a k × k' table of counts and Python never holds one row per
document. ``runner/relation.py`` hands the table to ``engine/agreement.py`` to score it. Both sides read the ``execution_members``
primary key (``run_id, document_id``), so the join walks two index ranges in document order. The
other (compare's sample of moved documents) walks the same join in document order and stops at its LIMIT.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from clusterbook.store.tables import execution_members

Cell = tuple[str | None, str | None, int]
"""(reference cluster, other cluster, shared documents); ``None`` is noise."""
Moved = tuple[str, str | None, str | None]
"""(document id, its reference cluster, its other cluster); ``None`` is noise."""


def contingency_cells(session: Session, *, reference_run_id: str, other_run_id: str) -> list[Cell]:
    """Shared documents per (reference cluster, other cluster), one cell per non-empty pair."""
    reference = execution_members.alias("reference")
    other = execution_members.alias("other")
    statement = (
        select(reference.c.cluster_id, other.c.cluster_id, func.count())
        .select_from(reference.join(other, reference.c.document_id == other.c.document_id))
        .where(reference.c.run_id == reference_run_id, other.c.run_id == other_run_id)
        .group_by(reference.c.cluster_id, other.c.cluster_id)
    )
    return [(r, c, int(n)) for r, c, n in session.execute(statement).all()]


def moved_documents_sample(
    session: Session, *, reference_run_id: str, other_run_id: str, matched: Mapping[str, str], limit: int
) -> list[Moved]:
    """The first ``limit`` shared documents (by document id) that left the cluster matched to their
    reference cluster: ``matched`` maps a reference cluster to its other-run cluster; noise in both runs
    stays. The database filters and stops at ``limit``, so the moved ids never all reach Python."""
    reference = execution_members.alias("reference")
    other = execution_members.alias("other")
    both_noise = and_(reference.c.cluster_id.is_(None), other.c.cluster_id.is_(None))
    stayed: ColumnElement[bool] = both_noise
    if matched:
        match_of = case(dict(matched), value=reference.c.cluster_id, else_=None)
        kept = and_(match_of.is_not(None), other.c.cluster_id.is_not(None), other.c.cluster_id == match_of)
        stayed = or_(both_noise, kept)
    statement = (
        select(reference.c.document_id, reference.c.cluster_id, other.c.cluster_id)
        .select_from(reference.join(other, reference.c.document_id == other.c.document_id))
        .where(reference.c.run_id == reference_run_id, other.c.run_id == other_run_id, ~stayed)
        .order_by(reference.c.document_id)
        .limit(limit)
    )
    return [(d, r, c) for d, r, c in session.execute(statement).all()]
