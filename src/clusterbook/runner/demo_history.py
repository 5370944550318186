"""The demo's past: a nightly cluster whose real runs are moved back to their place in a schedule.

Why: every demo run is created in the minute the demo starts, so the trends page had one bucket to
show. A real schedule's history cannot be computed in the past, so the demo queues the nightly
runs (``HISTORY_NIGHTS`` of them, one every ``CADENCE_DAYS`` days at ``SLOT_HOUR``:00 UTC, the last
one ``CADENCE_DAYS`` days ago), the workers compute them like any other run, and once each has ended
:func:`backdate_finished` shifts its ``created_at``, ``started_at`` and ``completed_at`` by the same
amount, so it lands on its night with its real queue and execution times. Nothing is made up but the
date, and the date's move is recorded on the run (``backdated`` on the wire: the slot, the shift, the
time it really ran) and named in its ``run_name``.

The plan (run id → slot) is kept in ``server_state`` until every run of it has been moved, so a
server stopped midway finishes the job on its next ``serve --demo``. The shift is an UPDATE of
``executions``, so the rollups' triggers move the runs between buckets in the same transaction.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.executions import ExecuteRequest, ExecutionStatus
from clusterbook.runner.config import run_config_for
from clusterbook.store.clusters import create_cluster
from clusterbook.store.db import make_sessionmaker, transaction
from clusterbook.store.queue import submit_execution
from clusterbook.store.tables import executions, server_state

logger = logging.getLogger(__name__)

HISTORY_NIGHTS = 11
CADENCE_DAYS = 2
SLOT_HOUR = 3
CADENCE = f"every {CADENCE_DAYS} days at {SLOT_HOUR:02d}:00 UTC"
STATE_KEY = "demo.backdate"
HISTORY_CLUSTER: dict[str, Any] = {
    "cluster_name": "Sensor regions - nightly",
    "collection_ids": ["demo-sensors"],
    "vector_config": {"clustering_method": "minibatch_kmeans", "algorithm_params": {"n_clusters": 5}},
    "description": f"A nightly job ({CADENCE}) over the sensor readings: real runs, computed when the demo "
    "started and moved back to their night (see each run's 'backdated').",
}
_c = executions.c
_TERMINAL = [s.value for s in ExecutionStatus if s.is_terminal]


def history_slots(now: datetime) -> list[datetime]:
    """The nights of the schedule, oldest first; the newest is ``CADENCE_DAYS`` days before today."""
    today = now.astimezone(UTC).replace(hour=SLOT_HOUR, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=CADENCE_DAYS * (HISTORY_NIGHTS - i)) for i in range(HISTORY_NIGHTS)]


def queue_history(session: Session, *, namespace_id: str, now: datetime | None = None) -> int:
    """Create the nightly cluster, queue its runs and record the plan (in the caller's transaction)."""
    cluster = create_cluster(session, namespace_id=namespace_id, data=ClusterCreate(**HISTORY_CLUSTER))
    plan: dict[str, str] = {}
    for night, slot in enumerate(history_slots(now or datetime.now(UTC))):
        name = f"nightly {slot:%Y-%m-%d %H:%M} UTC (back-dated)"
        config = run_config_for(cluster, ExecuteRequest(run_name=name, random_state=night))
        run = submit_execution(
            session, namespace_id=namespace_id, cluster_id=cluster.cluster_id, config=config, run_name=name
        )
        plan[run.run_id] = slot.isoformat()
    session.execute(insert(server_state).values(key=STATE_KEY, value=json.dumps(plan)))
    return len(plan)


def _plan(session: Session) -> dict[str, str] | None:
    raw = session.execute(select(server_state.c.value).where(server_state.c.key == STATE_KEY)).scalar_one_or_none()
    return None if raw is None else dict(json.loads(raw))


def backdate_finished(session: Session, *, now: datetime | None = None) -> int:
    """Move every planned run that has ended to its night; returns how many are still to move (0:
    done, and the plan is gone). Runs deleted meanwhile are dropped from the plan."""
    plan = _plan(session)
    if plan is None:
        return 0
    rows = session.execute(
        select(_c.run_id, _c.status, _c.created_at, _c.started_at, _c.completed_at, _c.details).where(
            _c.run_id.in_(list(plan))
        )
    ).all()
    found = {row.run_id: row for row in rows}
    moved_at = now or datetime.now(UTC)
    for run_id in list(plan):
        row = found.get(run_id)
        if row is None:
            del plan[run_id]
            continue
        if row.status not in _TERMINAL:
            continue
        slot = datetime.fromisoformat(plan.pop(run_id))
        shift = slot - row.created_at
        record = {
            "slot": slot.isoformat(),
            "shift_seconds": shift.total_seconds(),
            "ran_at": row.created_at.isoformat(),
            "moved_at": moved_at.isoformat(),
            "cadence": CADENCE,
            "why": "demo history: a real run, computed when the demo started and moved back to its night",
        }
        session.execute(
            update(executions)
            .where(_c.run_id == run_id)
            .values(
                created_at=row.created_at + shift,
                started_at=None if row.started_at is None else row.started_at + shift,
                completed_at=None if row.completed_at is None else row.completed_at + shift,
                details={**(row.details or {}), "backdated": record},
            )
        )
    if plan:
        session.execute(update(server_state).where(server_state.c.key == STATE_KEY).values(value=json.dumps(plan)))
    else:
        session.execute(delete(server_state).where(server_state.c.key == STATE_KEY))
    return len(plan)


def finish_history(engine: Engine, stop: threading.Event, *, poll_seconds: float = 0.5, timeout: float = 900.0) -> Any:
    """Back-date the demo's runs as the workers finish them (a daemon thread of ``serve --demo``)."""
    writes = make_sessionmaker(engine, writes=True)
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not stop.is_set():
        try:
            with transaction(writes) as session:
                remaining = backdate_finished(session)
        except Exception:  # noqa: BLE001 - a busy database: try again at the next poll
            logger.debug("could not back-date the demo history yet", exc_info=True)
            remaining = -1
        if remaining == 0:
            logger.info("demo history: every nightly run is back-dated to its night")
            return
        if datetime.now(UTC) > deadline:
            logger.warning("demo history: %s nightly runs never ended; they keep today's date", remaining)
            return
        stop.wait(poll_seconds)


def start_history_thread(engine: Engine) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(target=finish_history, args=(engine, stop), name="demo-history", daemon=True)
    thread.start()
    return thread, stop
