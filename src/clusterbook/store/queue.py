"""The run queue in the database itself: submit, claim, renew the lease, finish, release and reap.

Every transition after the claim is guarded by the claim's attempt token and by the run still being
``processing``: a worker whose lease was taken over, or whose run was canceled, changes nothing.
Call these in write transactions (``make_sessionmaker(engine, writes=True)``): on SQLite the whole
claim then runs under the write lock; on PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets claimers pass
each other.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, insert, literal_column, select, update
from sqlalchemy.orm import Session

from clusterbook.models.executions import ClusterExecutionResult, ExecutionStatus
from clusterbook.models.measures import METRIC_MEASURES
from clusterbook.store.centres import insert_centres
from clusterbook.store.db import insert_rows, is_sqlite
from clusterbook.store.executions import build_search_text, create_execution, duration_ms, queue_ms
from clusterbook.store.folded import with_folded
from clusterbook.store.lifecycle import may_enter, sources
from clusterbook.store.params import replace_params
from clusterbook.store.tables import execution_hierarchies, execution_members, execution_projections, executions
from clusterbook.store.webhooks import enqueue_run_event

_c = executions.c
PENDING, PROCESSING = ExecutionStatus.PENDING.value, ExecutionStatus.PROCESSING.value
COMPLETED, FAILED = ExecutionStatus.COMPLETED.value, ExecutionStatus.FAILED.value
LIVE = (PENDING, PROCESSING)
"""The statuses of the partial index ``ix_executions_live``; queries name them so the index applies."""
IS_LIVE = _c.status.in_([literal_column(f"'{status}'") for status in LIVE])
"""``status IN ('pending', 'processing')`` as literals, the partial index's own condition: SQLite uses
``ix_executions_live`` only when the query names its values (with bound parameters the claim and the
reaper scanned every run; ``tests/store/test_queue_plans.py``)."""


@dataclass(frozen=True)
class Claim:
    """A run a worker now holds: only the holder of ``token`` may move it on."""

    run_id: str
    cluster_id: str
    namespace_id: str
    token: str
    attempt: int
    config: dict[str, Any]


@dataclass
class RunOutcome:
    """What a finished computation writes: the row's result columns, memberships and projection."""

    num_clusters: int
    num_points: int
    metrics: dict[str, float | int | None]
    """Values of the declared metrics (``models/measures.py``) by name; a missing one is stored as null."""
    centroids: list[dict[str, Any]]
    llm_labeling_errors: list[str]
    config: dict[str, Any]
    details: dict[str, Any]
    member_ids: Sequence[str] = ()
    member_clusters: Sequence[str | None] = ()
    member_distances: Sequence[float | None] = ()
    projection: dict[str, Any] | None = None
    centers: Any = None
    """float32 (k × d) array, row n the centre of 'cl_<n>'; None when the run had no vectors."""
    hierarchy: dict[str, Any] | None = None


def _changed(session: Session, statement: Any) -> int:
    """Rows an UPDATE changed."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


def submit_execution(
    session: Session,
    *,
    namespace_id: str,
    cluster_id: str,
    config: dict[str, Any],
    run_name: str | None = None,
    baseline_run_id: str | None = None,
    trigger: str | None = None,
) -> ClusterExecutionResult:
    """A new pending run carrying the configuration it will run with (and the baseline it will be
    compared with, ``store/baselines.py``), and what started it (``trigger``; default ``api``)."""
    return create_execution(
        session,
        namespace_id=namespace_id,
        cluster_id=cluster_id,
        status=ExecutionStatus.PENDING,
        run_name=run_name,
        algorithm=config.get("algorithm"),
        config=config,
        baseline_run_id=baseline_run_id,
        trigger=trigger,
    )


def claim_next_execution(
    session: Session, *, worker_id: str, lease_seconds: float, skip: Sequence[str] = ()
) -> Claim | None:
    """Take the oldest pending run, or None when there is none. ``skip``: runs this worker cannot
    run now (a GPU run on a cluster without a GPU), bounded by the caller, left for other workers."""
    stmt = (
        select(_c.run_id, _c.cluster_id, _c.namespace_id, _c.attempts, _c.config, _c.created_at)
        .where(IS_LIVE, _c.status == PENDING)
        .order_by(_c.status, _c.created_at, _c.run_id)
        .limit(1)
    )
    if skip:
        stmt = stmt.where(_c.run_id.not_in(list(skip)))
    if not is_sqlite(session):
        stmt = stmt.with_for_update(skip_locked=True)
    row = session.execute(stmt).first()
    if row is None:
        return None
    now, token = _now(), secrets.token_hex(16)
    claimed = _changed(
        session,
        update(executions)
        .where(_c.run_id == row.run_id, may_enter(PROCESSING))
        .values(
            status=PROCESSING,
            attempts=_c.attempts + 1,
            attempt_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            worker_id=worker_id[:200],
            started_at=now,
            error_message=None,  # a reason it waited (``defer_execution``) no longer applies
            error_message_folded=None,
            queue_ms=queue_ms(row.created_at, now),
        ),
    )
    if claimed != 1:
        return None
    return Claim(row.run_id, row.cluster_id, row.namespace_id, token, row.attempts + 1, row.config or {})


def _held(run_id: str, token: str, target: str | None = None) -> Any:
    """The run is still ours: this attempt's token and still ``processing``. With ``target``, also
    that it may move there (``store.lifecycle``; every target a token holder moves to is left only
    from ``processing``, so this is the same condition, spelled by the state machine)."""
    if target is None:
        return and_(_c.run_id == run_id, _c.attempt_token == token, _c.status == PROCESSING)
    assert sources(target) == [PROCESSING], target
    return and_(_c.run_id == run_id, _c.attempt_token == token, may_enter(target))


def renew_lease(
    session: Session, *, run_id: str, token: str, lease_seconds: float, worker_id: str | None = None
) -> bool:
    """Extend the lease; False when the run is no longer ours (canceled, reclaimed or deleted)."""
    values: dict[str, Any] = {"lease_expires_at": _now() + timedelta(seconds=lease_seconds)}
    if worker_id is not None:
        values["worker_id"] = worker_id[:200]
    return _changed(session, update(executions).where(_held(run_id, token)).values(**values)) == 1


def attempt_status(session: Session, *, run_id: str, token: str) -> str | None:
    """The run's status if this attempt holds it or recorded its end; None when the run is gone or
    another attempt holds it now (requeued and claimed again)."""
    row = session.execute(select(_c.status).where(_c.run_id == run_id, _c.attempt_token == token)).first()
    return None if row is None else str(row.status)


def record_worker(session: Session, *, run_id: str, token: str, worker_id: str) -> bool:
    """Say which process computes the run (a Ray task knows its node and pid only once it runs);
    False, and nothing written, when the run is no longer this attempt's."""
    return _changed(session, update(executions).where(_held(run_id, token)).values(worker_id=worker_id[:200])) == 1


def read_worker(session: Session, *, run_id: str, token: str) -> str | None:
    """The ``worker_id`` of the run's current attempt (None when the run is no longer that attempt's):
    the Ray supervisor reads it to learn when the task began computing (it records itself)."""
    return session.execute(select(_c.worker_id).where(_held(run_id, token))).scalar_one_or_none()


def _held_since(session: Session, run_id: str, token: str, target: str) -> tuple[datetime | None] | None:
    """``(started_at,)`` of this attempt if the run is still ours and may move to ``target``; else None."""
    row = session.execute(select(_c.started_at).where(_held(run_id, token, target))).first()
    return None if row is None else (row.started_at,)


def _ending_values(
    started_at: datetime | None, run_id: str, error_message: str | None, centroids: Any
) -> dict[str, Any]:
    now = _now()
    return {
        "completed_at": now,
        "duration_ms": duration_ms(started_at, now),
        "lease_expires_at": None,
        "search_text": build_search_text(run_id, error_message, centroids),
    }


def complete_execution(session: Session, *, run_id: str, token: str, outcome: RunOutcome) -> bool:
    """Write a completed run, its memberships and projection; False (nothing written) if not ours."""
    held = _held_since(session, run_id, token, COMPLETED)
    if held is None:
        return False
    values = _ending_values(held[0], run_id, None, outcome.centroids)
    # The UPDATE decides, not the check above: on PostgreSQL a cancel or a reap may commit in between,
    # and then nothing of the outcome may land.
    written = _changed(
        session,
        update(executions)
        .where(_held(run_id, token, COMPLETED))
        .values(
            status=COMPLETED,
            num_clusters=outcome.num_clusters,
            num_points=outcome.num_points,
            **{m.column: outcome.metrics.get(m.name) for m in METRIC_MEASURES},
            centroids=outcome.centroids,
            llm_labeling_errors=outcome.llm_labeling_errors or None,
            config=outcome.config,
            details=outcome.details,
            **values,
        ),
    )
    if written != 1:
        return False
    replace_params(session, run_id, outcome.config)
    insert_members(session, run_id, outcome.member_ids, outcome.member_clusters, outcome.member_distances)
    if outcome.projection is not None:
        session.execute(insert(execution_projections).values(run_id=run_id, projection=outcome.projection))
    if outcome.centers is not None:
        insert_centres(session, run_id, outcome.centers)
    if outcome.hierarchy is not None:
        session.execute(insert(execution_hierarchies).values(run_id=run_id, hierarchy=outcome.hierarchy))
    enqueue_run_event(session, run_id=run_id)  # execution.completed, committed with the run or not at all
    return True


def fail_execution(
    session: Session,
    *,
    run_id: str,
    token: str,
    message: str,
    traceback: str | None = None,
    config: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """Record a failed run with a message that says cause and fix; False if the run is not ours."""
    held = _held_since(session, run_id, token, FAILED)
    if held is None:
        return False
    values = _ending_values(held[0], run_id, message, None)
    if config is not None:
        values["config"] = config
    if details is not None:
        values["details"] = details
    failed = update(executions).where(_held(run_id, token, FAILED))
    values.update(status=FAILED, error_message=message, error_traceback=traceback)
    if _changed(session, failed.values(**with_folded(executions, values))) != 1:
        return False
    if config is not None:
        replace_params(session, run_id, config)
    enqueue_run_event(session, run_id=run_id)  # execution.failed, in the failing transaction
    return True


def release_execution(
    session: Session, *, run_id: str, token: str, reason: str, max_attempts: int, refund: bool = False
) -> str | None:
    """The process computing a run died: put the run back in the queue, or fail it once it has used
    every attempt. ``refund``: the run was stopped on purpose (server shutdown), so the attempt does
    not count. Returns the new status, or None if the run was not ours any more."""
    row = session.execute(select(_c.attempts).where(_held(run_id, token, PENDING))).first()
    if row is None:
        return None
    if refund:
        values = {**_requeued(), "attempts": _c.attempts - 1}
        changed = _changed(session, update(executions).where(_held(run_id, token, PENDING)).values(**values))
        return PENDING if changed else None
    if row.attempts >= max_attempts:
        message = (
            f"Worker lost: the process computing this run died ({reason}) on attempt {row.attempts} of "
            f"{max_attempts}, so it was not retried again. The usual cause is running out of memory: "
            "sample the input (vector_config.sample_size) or give the worker more memory."
        )
        return FAILED if fail_execution(session, run_id=run_id, token=token, message=message) else None
    changed = _changed(session, update(executions).where(_held(run_id, token, PENDING)).values(**_requeued()))
    return PENDING if changed else None


def defer_execution(session: Session, *, run_id: str, token: str, reason: str) -> bool:
    """This worker cannot run the run now (it needs resources the cluster lacks): back to pending,
    attempt refunded, with ``reason`` as its error_message until a worker claims it."""
    values = {**_requeued(), "attempts": _c.attempts - 1, "error_message": reason}
    changed = _changed(
        session, update(executions).where(_held(run_id, token, PENDING)).values(**with_folded(executions, values))
    )
    return changed == 1


def _requeued() -> dict[str, Any]:
    return {"status": PENDING, "attempt_token": None, "lease_expires_at": None, "worker_id": None}


@dataclass(frozen=True)
class Reaped:
    requeued: list[str]
    failed: list[str]


def reap_expired_leases(session: Session, *, max_attempts: int) -> Reaped:
    """Runs whose worker stopped heartbeating: requeue them, or fail those out of attempts."""
    now = _now()
    expired = session.execute(
        select(_c.run_id, _c.attempts, _c.attempt_token).where(
            IS_LIVE, _c.status == PROCESSING, _c.lease_expires_at < now
        )
    ).all()
    requeued, failed = [], []
    for run_id, attempts, token in expired:
        if attempts >= max_attempts:
            message = (
                f"Worker lost: the worker running this run stopped sending heartbeats (attempt {attempts} of "
                f"{max_attempts}), so it was not retried again. Check that worker's logs; a machine or "
                "process that keeps dying mid-run is the usual cause."
            )
            if fail_execution(session, run_id=run_id, token=token, message=message):
                failed.append(run_id)
        elif _changed(session, update(executions).where(_held(run_id, token, PENDING)).values(**_requeued())):
            requeued.append(run_id)
    return Reaped(requeued, failed)


MEMBER_COLUMNS = ("run_id", "document_id", "cluster_id", "distance")
MEMBER_TYPES = ("text", "text", "text", "float8")
"""COPY's binary format names each column's type; varchar's binary form is text's."""


def insert_members(
    session: Session,
    run_id: str,
    document_ids: Sequence[str],
    cluster_ids: Sequence[str | None],
    distances: Sequence[float | None],
) -> None:
    """Bulk-write a run's memberships in the caller's transaction: binary COPY on PostgreSQL, the
    driver's executemany on SQLite, one tuple at a time from a generator (no list of rows is built).

    Rows go in the caller's order; the runner's is document-id order (the load's), which is the
    primary key's, so that index is appended to rather than split at random places.

    The table has no foreign key (migration 0017: its per-row check cost a fifth of the write), so the
    run is checked here, once for the batch: ValueError when it does not exist. On PostgreSQL the check
    takes the lock the foreign key took per row (KEY SHARE), so the run cannot be deleted before this
    transaction ends; on SQLite the write transaction already excludes every other writer."""
    if not (len(document_ids) == len(cluster_ids) == len(distances)):  # checked before any row is written
        raise ValueError("memberships need one cluster id and one distance per document id")
    run = select(_c.run_id).where(_c.run_id == run_id)
    if not is_sqlite(session):
        run = run.with_for_update(key_share=True)
    if session.execute(run).first() is None:
        raise ValueError(f"run {run_id!r} does not exist: memberships are written only for a stored run")
    rows = zip(itertools.repeat(run_id), document_ids, cluster_ids, distances, strict=False)
    insert_rows(session, execution_members.name, MEMBER_COLUMNS, rows, MEMBER_TYPES)
