"""A run's cluster centres: written with its completion as float32 bytes, read back as arrays.

Assign runs place documents against a finished run's centres (``runner/assign.py``) and
``GET …/executions/{run_id}?include_vectors=true`` returns them; both read them here.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from clusterbook.store.tables import execution_centres
from clusterbook.store.vectors import VECTOR_DTYPE

_t = execution_centres.c


def insert_centres(session: Session, run_id: str, centres: np.ndarray) -> None:
    """Row n of ``centres`` becomes the centre of ``cl_<n>`` (k rows: one small INSERT)."""
    block = np.ascontiguousarray(centres, dtype=VECTOR_DTYPE)
    if block.ndim != 2 or not len(block):
        return
    rows = [
        {"run_id": run_id, "cluster_id": f"cl_{n}", "position": n, "vector": block[n].tobytes()}
        for n in range(len(block))
    ]
    session.execute(insert(execution_centres), rows)


def read_centres(session: Session, *, run_id: str) -> tuple[list[str], np.ndarray] | None:
    """(cluster ids, float32 k × d array in the same order), or None when the run stored no centres."""
    rows = session.execute(select(_t.cluster_id, _t.vector).where(_t.run_id == run_id).order_by(_t.position)).all()
    if not rows:
        return None
    vectors = np.stack([np.frombuffer(bytes(r.vector), dtype=VECTOR_DTYPE) for r in rows])
    return [r.cluster_id for r in rows], vectors
