"""Two runs' memberships side by side, counted in the database.

The one query here joins the memberships of two runs on ``document_id`` and groups by the pair of
cluster ids, so the database returns a k × k' table of counts and Python never holds one row per
document. ``runner/relation.py`` hands the table to ``engine/agreement.py`` to score it. Both sides read the ``execution_members``
primary key (``run_id, document_id``), so the join walks two index ranges in document order.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clusterbook.store.tables import execution_members

Cell = tuple[str | None, str | None, int]
"""(reference cluster, other cluster, shared documents); ``None`` is noise."""


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
