"""The scheduler: fires due schedules, beside the worker pool of every ``serve`` and ``worker`` process.

Each tick claims the due schedules (``store.schedules.claim_due_schedules``) and, in the same write
transaction, fires each one: it submits a run through the same path as ``POST …/execute``
(``runner/submit.py``) with ``trigger = schedule:<id>``, or records why it skipped the slot (paused,
its previous run still in flight, too few new documents, or the run was refused). Claim, run and
record commit together, so with any number of schedulers on one database each slot fires once; a
crash before the commit leaves the slot due for the next scheduler. ``fire_due`` takes ``now``, so
tests move the clock instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clusterbook.errors import ClusterbookError
from clusterbook.models.executions import ExecuteRequest
from clusterbook.models.schedules import SkipReason, schedule_trigger
from clusterbook.runner.submit import submit_run
from clusterbook.store import schedules as store
from clusterbook.store.clusters import read_cluster
from clusterbook.store.db import make_sessionmaker, transaction

logger = logging.getLogger(__name__)
BATCH = 50
"""Schedules claimed per transaction; a tick keeps claiming until none is due."""
MAX_BATCHES_PER_TICK = 20


@dataclass(frozen=True)
class Fired:
    """What one firing did: the run it started, or why it skipped."""

    schedule_id: str
    due_at: datetime
    run_id: str | None = None
    skipped: SkipReason | None = None


def _why_not(session: Session, due: store.DueSchedule, cluster_collections: list[str]) -> SkipReason | None:
    if due.paused:
        return SkipReason.PAUSED
    if store.run_in_flight(session, run_id=due.last_run_id):
        return SkipReason.IN_FLIGHT
    if due.kind == "new_documents":
        assert due.new_documents is not None
        since = store.last_run_created_at(session, cluster_id=due.cluster_id)
        changed = store.count_changed_documents(
            session, collection_ids=cluster_collections, since=since, at_most=due.new_documents
        )
        if changed < due.new_documents:
            return SkipReason.NO_NEW_DOCUMENTS
    return None


def _fire(session: Session, due: store.DueSchedule, now: datetime, size_limit_factor: float) -> Fired:
    cluster = read_cluster(session, namespace_id=due.namespace_id, cluster_ref=due.cluster_id)
    if cluster is None:  # deleted as it fell due: its schedules go with it (foreign key), nothing to fire
        return Fired(due.schedule_id, due.due_at)

    def record(**outcome: Any) -> None:
        store.record_firing(session, schedule_id=due.schedule_id, due_at=due.due_at, fired_at=now, **outcome)

    skipped = _why_not(session, due, list(cluster.collection_ids))
    if skipped is not None:
        record(skipped=skipped)
        return Fired(due.schedule_id, due.due_at, skipped=skipped)
    try:
        with session.begin_nested():  # a refused submit leaves nothing behind but the record of it
            body = ExecuteRequest.model_validate(due.execute) if due.execute is not None else None
            run = submit_run(
                session,
                namespace_id=due.namespace_id,
                cluster=cluster,
                body=body,
                size_limit_factor=size_limit_factor,
                trigger=schedule_trigger(due.schedule_id),
            )
    except SQLAlchemyError:
        raise  # the database is the problem: the whole batch rolls back and stays due
    except (ClusterbookError, ValueError) as exc:
        detail = str(exc)[:2000]
        record(skipped=SkipReason.REFUSED, detail=detail)
        logger.warning("schedule %s could not start a run: %s", due.schedule_id, detail)
        return Fired(due.schedule_id, due.due_at, skipped=SkipReason.REFUSED)
    except Exception as exc:  # a bug must not leave the slot due forever, blocking the schedules behind it
        logger.exception("schedule %s could not start a run", due.schedule_id)
        record(skipped=SkipReason.REFUSED, detail=f"internal error ({type(exc).__name__}); see the server log")
        return Fired(due.schedule_id, due.due_at, skipped=SkipReason.REFUSED)
    record(run_id=run.run_id)
    logger.info("schedule %s started run %s (slot %s)", due.schedule_id, run.run_id, due.due_at.isoformat())
    return Fired(due.schedule_id, due.due_at, run_id=run.run_id)


def fire_due(session: Session, *, now: datetime, size_limit_factor: float, limit: int = BATCH) -> list[Fired]:
    """Claim and fire up to ``limit`` schedules due at ``now``, in the caller's write transaction."""
    return [
        _fire(session, due, now, size_limit_factor) for due in store.claim_due_schedules(session, now=now, limit=limit)
    ]


class Scheduler:
    """A thread that calls :func:`fire_due` every ``interval`` seconds, one transaction per batch,
    and calls ``on_submit`` when it started runs (the pool wakes its idle workers)."""

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float,
        size_limit_factor: float,
        on_submit: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reads = make_sessionmaker(engine)
        self.writes = make_sessionmaker(engine, writes=True)
        self.interval = interval
        self.size_limit_factor = size_limit_factor
        self.on_submit = on_submit
        self.clock = clock
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def tick(self) -> list[Fired]:
        """Fire everything due now (bounded: MAX_BATCHES_PER_TICK batches; the rest wait a tick)."""
        fired: list[Fired] = []
        with transaction(self.reads) as session:
            if not store.any_due(session, now=self.clock()):
                return fired
        for _ in range(MAX_BATCHES_PER_TICK):
            with transaction(self.writes) as session:
                batch = fire_due(session, now=self.clock(), size_limit_factor=self.size_limit_factor)
            fired.extend(batch)
            if len(batch) < BATCH:
                break
        if any(f.run_id for f in fired):
            self.on_submit()
        return fired

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.tick()
            except SQLAlchemyError as exc:
                logger.warning("firing schedules failed, will retry: %s", str(exc).splitlines()[0])
            except Exception:  # the scheduler thread must outlive any one bad schedule
                logger.exception("firing schedules failed")

    def start(self) -> Scheduler:
        self.thread = threading.Thread(target=self._loop, name="clusterbook-scheduler", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None
