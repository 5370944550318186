"""Relating two stored runs: their memberships counted by the store, scored by the engine.

The one place where ``store/relation.py`` (a k × k' table of counts from the database) meets
``engine/agreement.py`` (scores and matching from such a table); the runner uses it when a run
completes (agreement with its baseline) and the API for compare.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clusterbook.engine.agreement import Agreement, Contingency, agreement
from clusterbook.store.relation import contingency_cells


def run_contingency(session: Session, *, reference_run_id: str, other_run_id: str) -> Contingency:
    """The contingency table of two stored runs' memberships."""
    cells = contingency_cells(session, reference_run_id=reference_run_id, other_run_id=other_run_id)
    return Contingency.from_cells(cells)


def relate_runs(session: Session, *, reference_run_id: str, other_run_id: str) -> tuple[Contingency, Agreement]:
    """The table and the agreement of ``other_run_id`` against ``reference_run_id``."""
    table = run_contingency(session, reference_run_id=reference_run_id, other_run_id=other_run_id)
    return table, agreement(table)
