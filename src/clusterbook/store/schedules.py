"""Schedules and their firings: CRUD scoped to a cluster, the claim of due schedules, firing records.

Claiming is how exactly-once firing works with several schedulers on one database: a due row is
selected (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so schedulers pass each other; SQLite: inside the
write transaction, which excludes every other writer) and its ``next_fire_at`` moved on by an UPDATE
conditional on the value that was read. Only the scheduler whose UPDATE changed the row fires that
slot, and it does so in the same transaction, so the claim, the run and the firing record commit
together or not at all. Call these in write transactions (``make_sessionmaker(engine, writes=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict
from clusterbook.models.executions import ExecuteRequest
from clusterbook.models.schedules import (
    MAX_SCHEDULES_PER_CLUSTER,
    Schedule,
    ScheduleCreate,
    ScheduleFiring,
    ScheduleUpdate,
    SkipReason,
    schedule_trigger,
)
from clusterbook.models.storable import is_storable_ref
from clusterbook.schedule_clock import check_cron, first_fire, next_fire
from clusterbook.store.db import is_sqlite
from clusterbook.store.ids import new_id
from clusterbook.store.queue import LIVE
from clusterbook.store.tables import documents, executions, schedule_firings, schedules

_s = schedules.c
_f = schedule_firings.c
_e = executions.c
MAX_FIRINGS_KEPT = 200
"""Firings kept per schedule; older ones are pruned as new ones are recorded."""
LAST_FIRINGS_SHOWN = 5


def _kind_of(cron: str | None, interval_seconds: int | None) -> str:
    if cron is not None:
        return "cron"
    return "interval" if interval_seconds is not None else "new_documents"


def _execute_json(body: ExecuteRequest | None) -> dict[str, Any] | None:
    """The execute body as sent (unset fields left out: an absent baseline_run_id means 'the latest')."""
    return None if body is None else body.model_dump(mode="json", exclude_unset=True)


def create_schedule(
    session: Session, *, namespace_id: str, cluster_id: str, data: ScheduleCreate, now: datetime
) -> Schedule:
    """A new schedule, first due at its first slot after ``now``. ValidationFailed for a bad cron
    expression; Conflict when the cluster already has MAX_SCHEDULES_PER_CLUSTER."""
    if data.cron is not None:
        check_cron(data.cron, data.timezone)
    count = session.execute(select(func.count()).where(_s.cluster_id == cluster_id)).scalar_one()
    if count >= MAX_SCHEDULES_PER_CLUSTER:
        raise Conflict(
            f"this cluster already has {count} schedules, the most it may have; delete one "
            "(DELETE …/schedules/{schedule_id}) or change one (PATCH) instead"
        )
    kind = _kind_of(data.cron, data.interval_seconds)
    timezone = (data.timezone or "UTC") if kind == "cron" else None
    schedule_id = new_id("sched")
    session.execute(
        insert(schedules).values(
            schedule_id=schedule_id,
            namespace_id=namespace_id,
            cluster_id=cluster_id,
            name=data.name,
            kind=kind,
            cron=data.cron,
            timezone=timezone,
            interval_seconds=data.interval_seconds,
            new_documents=data.new_documents,
            execute=_execute_json(data.execute),
            paused=bool(data.paused),
            next_fire_at=first_fire(
                kind=kind, cron=data.cron, timezone=timezone, interval_seconds=data.interval_seconds, now=now
            ),
            created_at=now,
            updated_at=now,
        )
    )
    return read_schedule(session, cluster_id=cluster_id, schedule_id=schedule_id)  # type: ignore[return-value]


def _firing(row: Row[Any]) -> ScheduleFiring:
    m = row._mapping
    return ScheduleFiring(
        due_at=m["due_at"], fired_at=m["fired_at"], run_id=m["run_id"], skipped=m["skipped"], detail=m["detail"],
        repeats=m["repeats"],
    )  # fmt: skip


def list_firings(session: Session, *, schedule_id: str, limit: int) -> list[ScheduleFiring]:
    """The newest ``limit`` firings of a schedule, newest first."""
    rows = session.execute(
        select(schedule_firings).where(_f.schedule_id == schedule_id).order_by(_f.id.desc()).limit(limit)
    ).all()
    return [_firing(row) for row in rows]


def count_firings(session: Session, *, schedule_id: str) -> int:
    return int(session.execute(select(func.count()).where(_f.schedule_id == schedule_id)).scalar_one())


def _to_schedule(session: Session, row: Row[Any]) -> Schedule:
    m = dict(row._mapping)
    return Schedule(
        **{key: m[key] for key in Schedule.model_fields if key in m},
        trigger=schedule_trigger(m["schedule_id"]),
        last_firings=list_firings(session, schedule_id=m["schedule_id"], limit=LAST_FIRINGS_SHOWN),
    )


def read_schedule(session: Session, *, cluster_id: str, schedule_id: str) -> Schedule | None:
    """A schedule of this cluster; None when absent (or another cluster's)."""
    if not is_storable_ref(schedule_id):
        return None
    row = session.execute(select(schedules).where(_s.cluster_id == cluster_id, _s.schedule_id == schedule_id)).first()
    return _to_schedule(session, row) if row else None


def list_schedules(session: Session, *, cluster_id: str) -> list[Schedule]:
    """Every schedule of a cluster (at most MAX_SCHEDULES_PER_CLUSTER), oldest first."""
    rows = session.execute(
        select(schedules).where(_s.cluster_id == cluster_id).order_by(_s.created_at, _s.schedule_id)
    ).all()
    return [_to_schedule(session, row) for row in rows]


def update_schedule(
    session: Session, *, cluster_id: str, schedule_id: str, data: ScheduleUpdate, now: datetime
) -> Schedule | None:
    """Apply the fields present in ``data``. A new trigger replaces the old kind and is first due at
    its first slot after ``now``; resuming keeps the slot already planned (the paused ones were skipped)."""
    current = read_schedule(session, cluster_id=cluster_id, schedule_id=schedule_id)
    if current is None:
        return None
    changes = data.changes()
    values: dict[str, Any] = {"updated_at": now}
    for name in ("name", "paused"):
        if name in changes:
            values[name] = changes[name]
    if "execute" in changes:
        values["execute"] = _execute_json(data.execute)
    if data.kinds_given():
        cron, interval = data.cron, data.interval_seconds
        kind = _kind_of(cron, interval)
        kept_zone = current.timezone if current.kind == "cron" else None  # a new expression keeps its zone
        timezone = (data.timezone or kept_zone or "UTC") if kind == "cron" else None
        if cron is not None:
            check_cron(cron, timezone)
        values.update(
            kind=kind, cron=cron, timezone=timezone, interval_seconds=interval, new_documents=data.new_documents,
            next_fire_at=first_fire(kind=kind, cron=cron, timezone=timezone, interval_seconds=interval, now=now),
        )  # fmt: skip
    session.execute(update(schedules).where(_s.schedule_id == schedule_id).values(**values))
    return read_schedule(session, cluster_id=cluster_id, schedule_id=schedule_id)


def delete_schedule(session: Session, *, cluster_id: str, schedule_id: str) -> bool:
    """Delete a schedule and its firings (the runs it started stay, still carrying its trigger)."""
    if read_schedule(session, cluster_id=cluster_id, schedule_id=schedule_id) is None:
        return False
    session.execute(delete(schedule_firings).where(_f.schedule_id == schedule_id))
    session.execute(delete(schedules).where(_s.schedule_id == schedule_id))
    return True


@dataclass(frozen=True)
class DueSchedule:
    """A schedule this scheduler claimed: the slot ``due_at`` is its alone to fire."""

    schedule_id: str
    namespace_id: str
    cluster_id: str
    kind: str
    due_at: datetime
    paused: bool
    new_documents: int | None
    execute: dict[str, Any] | None
    last_run_id: str | None


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether some schedule is due: one probe of ``ix_schedules_due``, so an idle scheduler never
    takes the write lock."""
    return session.execute(select(_s.id).where(_s.next_fire_at <= now).limit(1)).first() is not None


def claim_due_schedules(session: Session, *, now: datetime, limit: int) -> list[DueSchedule]:
    """Claim up to ``limit`` schedules due at ``now``, oldest slot first, moving each one's
    ``next_fire_at`` to its first slot after ``now`` (one firing however many slots were missed)."""
    stmt = select(schedules).where(_s.next_fire_at <= now).order_by(_s.next_fire_at, _s.id).limit(limit)
    if not is_sqlite(session):
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for row in session.execute(stmt).all():
        following = next_fire(
            kind=row.kind, cron=row.cron, timezone=row.timezone, interval_seconds=row.interval_seconds,
            due=row.next_fire_at, now=now,
        )  # fmt: skip
        moved = session.execute(
            update(schedules)
            .where(_s.schedule_id == row.schedule_id, _s.next_fire_at == row.next_fire_at)
            .values(next_fire_at=following)
        )
        assert isinstance(moved, CursorResult)
        if moved.rowcount == 1:
            claimed.append(
                DueSchedule(
                    row.schedule_id,
                    row.namespace_id,
                    row.cluster_id,
                    row.kind,
                    row.next_fire_at,
                    bool(row.paused),
                    row.new_documents,
                    row.execute,
                    row.last_run_id,
                )  # fmt: skip
            )
    return claimed


def record_firing(
    session: Session,
    *,
    schedule_id: str,
    due_at: datetime,
    fired_at: datetime,
    run_id: str | None = None,
    skipped: SkipReason | None = None,
    detail: str | None = None,
) -> None:
    """Record a firing. A skip for the same reason as the newest firing is folded into it (``repeats``
    + 1, ``fired_at`` moved on), so a paused or idle schedule does not fill the log; the log keeps the
    newest MAX_FIRINGS_KEPT rows."""
    latest = session.execute(
        select(_f.id, _f.skipped, _f.detail).where(_f.schedule_id == schedule_id).order_by(_f.id.desc()).limit(1)
    ).first()
    if skipped is not None and latest is not None and latest.skipped == skipped.value and latest.detail == detail:
        session.execute(
            update(schedule_firings).where(_f.id == latest.id).values(repeats=_f.repeats + 1, fired_at=fired_at)
        )
        return
    session.execute(
        insert(schedule_firings).values(
            schedule_id=schedule_id,
            due_at=due_at,
            fired_at=fired_at,
            run_id=run_id,
            skipped=None if skipped is None else skipped.value,
            detail=detail,
            repeats=1,
        )  # fmt: skip
    )
    if run_id is not None:
        session.execute(
            update(schedules).where(_s.schedule_id == schedule_id).values(last_fired_at=fired_at, last_run_id=run_id)
        )
    else:
        session.execute(update(schedules).where(_s.schedule_id == schedule_id).values(last_fired_at=fired_at))
    oldest_kept = (
        select(_f.id).where(_f.schedule_id == schedule_id).order_by(_f.id.desc()).offset(MAX_FIRINGS_KEPT).limit(1)
    ).scalar_subquery()
    session.execute(delete(schedule_firings).where(_f.schedule_id == schedule_id, _f.id <= oldest_kept))


def run_in_flight(session: Session, *, run_id: str | None) -> bool:
    """Whether the run is still pending or processing."""
    if run_id is None:
        return False
    status = session.execute(select(_e.status).where(_e.run_id == run_id)).scalar_one_or_none()
    return status in LIVE


def last_run_created_at(session: Session, *, cluster_id: str) -> datetime | None:
    """When the cluster's newest run was submitted (any trigger); None before its first run."""
    return session.execute(select(func.max(_e.created_at)).where(_e.cluster_id == cluster_id)).scalar_one_or_none()


def count_changed_documents(
    session: Session, *, collection_ids: Sequence[str], since: datetime | None, at_most: int
) -> int:
    """Documents of the collections added or changed after ``since`` (all of them when None), counted
    up to ``at_most``: a probe of ``ix_documents_collection_updated`` that stops at the threshold."""
    if not collection_ids:
        return 0
    found = select(documents.c.id).where(documents.c.collection_id.in_(list(collection_ids)))
    if since is not None:
        found = found.where(documents.c.updated_at > since)
    limited = found.limit(at_most).subquery()
    return int(session.execute(select(func.count()).select_from(limited)).scalar_one())
