"""A run's baseline: which completed run it is compared with, and writing the comparison onto it.

The baseline is decided once, when the run is submitted (``choose_baseline``), and stored in
``executions.baseline_run_id``: by default the cluster's latest run that had completed by then, or
the completed run of the namespace the execute request names. It is not re-chosen at completion, so
what a run was compared with never depends on how the queue happened to order the runs.

The agreement itself (``runner/agreement.py``) is written by ``write_agreement`` in the same
transaction as the run's completion, guarded by the same attempt token: a run canceled or reclaimed
before its completion committed never gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, and_, select, update
from sqlalchemy.orm import Session

from clusterbook.errors import ErrorLocation, ValidationFailed
from clusterbook.models.executions import ExecutionStatus
from clusterbook.models.measures import BASELINE_MEASURES
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.executions import build_search_text
from clusterbook.store.tables import executions

_c = executions.c
COMPLETED = ExecutionStatus.COMPLETED.value


def latest_completed_run_id(session: Session, *, cluster_id: str) -> str | None:
    """The cluster's most recently created completed run (the default baseline of a new run)."""
    return session.execute(
        select(_c.run_id)
        .where(_c.cluster_id == cluster_id, _c.status == COMPLETED)
        .order_by(_c.created_at.desc(), _c.run_id.desc())
        .limit(1)
    ).scalar_one_or_none()


def choose_baseline(
    session: Session, *, namespace_id: str, cluster_id: str, requested: str | None, named: bool
) -> str | None:
    """The baseline of a run about to be submitted. ``named``: the request gave ``baseline_run_id``
    (``requested``, possibly None for "no baseline"); otherwise the cluster's latest completed run.
    A named run that is not a completed run of the namespace is a ValidationFailed naming it."""
    if not named:
        return latest_completed_run_id(session, cluster_id=cluster_id)
    if requested is None:
        return None
    status = None
    if is_storable_ref(requested):
        status = session.execute(
            select(_c.status).where(_c.namespace_id == namespace_id, _c.run_id == requested)
        ).scalar_one_or_none()
    if status == COMPLETED:
        return requested
    why = "is not a run of this namespace" if status is None else f"is {status}, not completed"
    message = (
        f"baseline_run_id {requested!r} {why}; name a completed run of this namespace, null for no "
        "baseline, or leave it out to compare with the cluster's latest completed run"
    )
    raise ValidationFailed(message, errors=[ErrorLocation("baseline_run_id", message)])


@dataclass(frozen=True)
class CompletedRun:
    """What relating a just-completed run to its baseline reads of it (and of its baseline)."""

    baseline_run_id: str | None
    centroids: list[dict[str, Any]]
    details: dict[str, Any]


def read_completed_run(session: Session, *, run_id: str, token: str) -> CompletedRun | None:
    """The run this attempt just completed, or None when it is not (still) this attempt's completion."""
    row = session.execute(
        select(_c.baseline_run_id, _c.centroids, _c.details).where(_held_completed(run_id, token))
    ).first()
    if row is None:
        return None
    return CompletedRun(row.baseline_run_id, list(row.centroids or []), dict(row.details or {}))


def baseline_centroids(session: Session, *, run_id: str) -> list[dict[str, Any]] | None:
    """The stored centroids of a baseline run; None when the run no longer exists."""
    row = session.execute(select(_c.centroids).where(_c.run_id == run_id)).first()
    return None if row is None else list(row.centroids or [])


def write_agreement(
    session: Session,
    *,
    run_id: str,
    token: str,
    metrics: dict[str, float | int | None],
    centroids: list[dict[str, Any]],
    details: dict[str, Any],
) -> bool:
    """Store the agreement measures, the matched centroids and the details (notes, timing) on the
    completed run; False (nothing written) unless it is this attempt's completed run."""
    values: dict[str, Any] = {name: metrics.get(name) for name in BASELINE_MEASURES}
    # inherited curated labels change what the run's search matches (error_message: none, it completed)
    values["search_text"] = build_search_text(run_id, None, centroids)
    result = session.execute(
        update(executions).where(_held_completed(run_id, token)).values(**values, centroids=centroids, details=details)
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount) == 1


def _held_completed(run_id: str, token: str) -> Any:
    return and_(_c.run_id == run_id, _c.attempt_token == token, _c.status == COMPLETED)
