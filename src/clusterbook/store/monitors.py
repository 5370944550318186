"""Monitors: CRUD, their evaluation and state transitions, and the alert history.

A monitor is ``ok`` or ``alerting``. Each evaluation (``evaluate_cluster_monitors`` when a run of
the cluster ends, ``evaluate_monitor_batch`` on the timer) asks ``monitor_checks.observe`` what its
rule finds and moves the state only on a change: into ``alerting`` it records a ``triggered`` alert
through :func:`record_alert` — the one firing point, where notifications start — and back to
``ok`` a ``recovered`` one, silently. The move is a conditional UPDATE (``WHERE state = <old>``)
on a row the evaluation locked first (PostgreSQL ``FOR UPDATE``; SQLite's write transaction), so
several workers and API processes evaluating at once fire once per transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import CursorResult, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict, ErrorLocation, ValidationFailed
from clusterbook.models.monitors import (
    MAX_MONITORS_PER_CLUSTER,
    Monitor,
    MonitorAlert,
    MonitorCreate,
    MonitorRule,
    MonitorUpdate,
)
from clusterbook.store.db import is_sqlite
from clusterbook.store.ids import new_id
from clusterbook.store.monitor_checks import Observation, observe
from clusterbook.store.tables import executions, monitor_alerts, monitors
from clusterbook.store.webhooks import enqueue_event

_m = monitors.c
_a = monitor_alerts.c
OK, ALERTING = "ok", "alerting"
RULE: TypeAdapter[MonitorRule] = TypeAdapter(MonitorRule)


def _now() -> datetime:
    return datetime.now(UTC)


def _to_monitor(row: Row[Any]) -> Monitor:
    return Monitor.model_validate(dict(row._mapping))


def _name_taken(name: str) -> Conflict:
    return Conflict(f"this cluster already has a monitor named {name!r}; choose another name")


def _rule_json(rule: MonitorRule) -> dict[str, Any]:
    return rule.model_dump(mode="json", exclude_none=True)


def count_monitors(session: Session, *, cluster_id: str) -> int:
    return int(session.execute(select(func.count()).where(_m.cluster_id == cluster_id)).scalar_one())


def create_monitor(session: Session, *, namespace_id: str, cluster_id: str, data: MonitorCreate) -> Monitor:
    """A new monitor in the ``ok`` state; 422 past ``MAX_MONITORS_PER_CLUSTER``, 409 on a taken name."""
    if count_monitors(session, cluster_id=cluster_id) >= MAX_MONITORS_PER_CLUSTER:
        message = (
            f"a cluster has at most {MAX_MONITORS_PER_CLUSTER} monitors (each is evaluated whenever a run "
            "ends); delete one you no longer need"
        )
        raise ValidationFailed(message, errors=[ErrorLocation("body", message)])
    now = _now()
    monitor_id = new_id("mon")
    values = {
        "monitor_id": monitor_id,
        "namespace_id": namespace_id,
        "cluster_id": cluster_id,
        "name": data.name,
        "kind": data.rule.kind,
        "rule": _rule_json(data.rule),
        "paused": data.paused,
        "state": OK,
        "state_since": now,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with session.begin_nested():
            session.execute(insert(monitors).values(**values))
    except IntegrityError as exc:
        raise _name_taken(data.name) from exc
    return read_monitor(session, cluster_id=cluster_id, monitor_id=monitor_id)  # type: ignore[return-value]


def read_monitor(session: Session, *, cluster_id: str, monitor_id: str) -> Monitor | None:
    """The cluster's monitor by id or name; ``None`` when absent (or another cluster's)."""
    row = session.execute(
        select(monitors).where(_m.cluster_id == cluster_id, (_m.monitor_id == monitor_id) | (_m.name == monitor_id))
    ).first()
    return _to_monitor(row) if row else None


def list_monitors(session: Session, *, cluster_id: str) -> list[Monitor]:
    """Every monitor of the cluster (at most ``MAX_MONITORS_PER_CLUSTER``), oldest first."""
    rows = session.execute(select(monitors).where(_m.cluster_id == cluster_id).order_by(_m.id)).all()
    return [_to_monitor(row) for row in rows]


def update_monitor(session: Session, *, cluster_id: str, monitor_id: str, data: MonitorUpdate) -> Monitor | None:
    """Apply the fields sent; a new rule starts the monitor over (``ok``, never evaluated)."""
    current = read_monitor(session, cluster_id=cluster_id, monitor_id=monitor_id)
    if current is None:
        return None
    now = _now()
    values: dict[str, Any] = {"updated_at": now}
    if "name" in data.model_fields_set:
        values["name"] = data.name
    if "paused" in data.model_fields_set:
        values["paused"] = data.paused
    if "rule" in data.model_fields_set and data.rule is not None:
        values.update(
            kind=data.rule.kind,
            rule=_rule_json(data.rule),
            state=OK,
            state_since=now,
            evaluated_at=None,
            last_values=None,
        )
    try:
        with session.begin_nested():
            session.execute(update(monitors).where(_m.monitor_id == current.monitor_id).values(**values))
    except IntegrityError as exc:
        raise _name_taken(str(data.name)) from exc
    return read_monitor(session, cluster_id=cluster_id, monitor_id=current.monitor_id)


def delete_monitor(session: Session, *, cluster_id: str, monitor_id: str) -> bool:
    """Delete the monitor and its alert history; False when there was none."""
    current = read_monitor(session, cluster_id=cluster_id, monitor_id=monitor_id)
    if current is None:
        return False
    session.execute(delete(monitor_alerts).where(_a.monitor_id == current.monitor_id))
    session.execute(delete(monitors).where(_m.monitor_id == current.monitor_id))
    return True


def list_alerts(session: Session, *, monitor_id: str, limit: int, offset: int) -> tuple[list[MonitorAlert], int]:
    """One page of the monitor's alert history, newest first, and how many alerts it has."""
    total = int(session.execute(select(func.count()).where(_a.monitor_id == monitor_id)).scalar_one())
    rows = session.execute(
        select(monitor_alerts)
        .where(_a.monitor_id == monitor_id)
        .order_by(_a.at.desc(), _a.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [MonitorAlert.model_validate(dict(r._mapping)) for r in rows], total


# -- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """What one pass changed: monitors evaluated, and the payloads of the alerts that fired."""

    evaluated: int
    fired: list[dict[str, Any]]


def _locked(session: Session, statement: Any, *, skip_locked: bool) -> list[Row[Any]]:
    if not is_sqlite(session):  # SQLite's write transaction already excludes every other evaluator
        statement = statement.with_for_update(skip_locked=skip_locked)
    return list(session.execute(statement).all())


def evaluate_cluster_monitors(session: Session, *, cluster_id: str, now: datetime | None = None) -> Evaluated:
    """Evaluate every unpaused monitor of the cluster (a run of it just ended). Call in a write
    transaction; waits for another evaluation of the same monitors to commit, then sees its result."""
    rows = _locked(
        session,
        select(monitors).where(_m.cluster_id == cluster_id, _m.paused.is_(False)).order_by(_m.id),
        skip_locked=False,
    )
    return _evaluate_rows(session, rows, now or _now())


def evaluate_monitor_batch(
    session: Session, *, after_id: int, limit: int, now: datetime | None = None
) -> tuple[Evaluated, int | None]:
    """The timer's pass: up to ``limit`` unpaused monitors with an id above ``after_id`` (rows another
    evaluator holds are skipped: it is evaluating them). Returns what changed and the id to continue
    after, or None when the walk is done."""
    rows = _locked(
        session,
        select(monitors).where(_m.id > after_id, _m.paused.is_(False)).order_by(_m.id).limit(limit),
        skip_locked=True,
    )
    result = _evaluate_rows(session, rows, now or _now())
    return result, (rows[-1].id if len(rows) == limit else None)


def _evaluate_rows(session: Session, rows: list[Row[Any]], now: datetime) -> Evaluated:
    fired = []
    for row in rows:
        rule = RULE.validate_python(row.rule)
        seen = observe(session, cluster_id=row.cluster_id, rule=rule, created_at=row.created_at, now=now)
        payload = _apply(session, row, seen, now)
        if payload is not None:
            fired.append(payload)
    return Evaluated(len(rows), fired)


def _apply(session: Session, row: Row[Any], seen: Observation, now: datetime) -> dict[str, Any] | None:
    """Store the evaluation; on a change of state, record it (and fire, into ``alerting``)."""
    last = {**seen.observed, "verdict": None if seen.bad is None else ("bad" if seen.bad else "ok")}
    last["message"] = seen.message
    target = row.state if seen.bad is None else (ALERTING if seen.bad else OK)
    values: dict[str, Any] = {"evaluated_at": now, "last_values": last}
    if target == row.state:
        session.execute(update(monitors).where(_m.monitor_id == row.monitor_id).values(**values))
        return None
    moved = session.execute(
        update(monitors)
        .where(_m.monitor_id == row.monitor_id, _m.state == row.state)
        .values(state=target, state_since=now, **values)
    )
    assert isinstance(moved, CursorResult)
    if moved.rowcount != 1:  # another evaluator moved it first and recorded the transition
        return None
    if target == ALERTING:
        return record_alert(session, row=row, seen=seen, now=now)
    _insert_alert(session, row, "recovered", seen, now)
    return None


def _insert_alert(session: Session, row: Row[Any], event: str, seen: Observation, now: datetime) -> MonitorAlert:
    values = {
        "alert_id": new_id("alert"),
        "monitor_id": row.monitor_id,
        "cluster_id": row.cluster_id,
        "event": event,
        "at": now,
        "observed": seen.observed,
        "message": seen.message,
        "run_id": seen.run_id,
    }
    session.execute(insert(monitor_alerts).values(**values))
    return MonitorAlert.model_validate(values)


def record_alert(session: Session, *, row: Row[Any], seen: Observation, now: datetime) -> dict[str, Any]:
    """THE firing point of monitors: the monitor just entered ``alerting``. Records the ``triggered``
    alert with the values that decided it and returns the ``monitor.triggered`` payload.

    Notifications start here, in the same transaction as the state change, so a transition is
    announced exactly when it is recorded: one ``monitor.triggered`` delivery per subscribed webhook
    endpoint goes into the outbox (``store/webhooks.py``)."""
    alert = _insert_alert(session, row, "triggered", seen, now)
    monitor = _to_monitor(session.execute(select(monitors).where(_m.monitor_id == row.monitor_id)).one()).model_dump(
        mode="json"
    )
    payload: dict[str, Any] = {"monitor": monitor, "alert": alert.model_dump(mode="json")}
    enqueue_event(session, namespace_id=row.namespace_id, event="monitor.triggered", payload=payload)
    return payload


def cluster_ids_of_runs(session: Session, run_ids: list[str]) -> list[str]:
    """The distinct clusters of these runs (the reaper's failed ones; bounded by the caller)."""
    found = session.execute(select(executions.c.cluster_id).where(executions.c.run_id.in_(run_ids[:1000])).distinct())
    return sorted(str(cluster_id) for (cluster_id,) in found)
