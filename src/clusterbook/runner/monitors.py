"""When monitors are evaluated: after each run of their cluster ends, and on a timer beside the workers.

A run's end is where failure rates and metrics change, so the worker that supervised the run
evaluates that cluster's monitors as soon as the run's outcome is committed (``after_run``). Time
alone changes the rest — a time window slides, a quiet cluster gets quieter — so every worker pool
also walks all unpaused monitors every ``monitor_interval_seconds`` (``MonitorTimer``), a batch per
transaction. Both go through ``store.monitors``, whose conditional transitions make several pools
(and API processes) against one database fire once per transition. A failed evaluation is logged
and never touches the run: the next run's end or the next tick evaluates again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.store.db import transaction
from clusterbook.store.monitors import cluster_ids_of_runs, evaluate_cluster_monitors, evaluate_monitor_batch

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
BATCH = 100
"""Monitors per timer transaction: keeps each write transaction (and SQLite's write lock) short."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def after_run(writes: sessionmaker[Session], cluster_id: str, clock: Clock = utc_now) -> int:
    """Evaluate the cluster's monitors now that one of its runs ended; returns how many fired."""
    try:
        with transaction(writes) as session:
            fired = evaluate_cluster_monitors(session, cluster_id=cluster_id, now=clock()).fired
    except SQLAlchemyError as exc:
        logger.warning("evaluating the monitors of %s failed: %s", cluster_id, str(exc).splitlines()[0])
        return 0
    for payload in fired:
        _log_fired(payload)
    return len(fired)


def _log_fired(payload: dict[str, object]) -> None:
    monitor, alert = payload["monitor"], payload["alert"]
    assert isinstance(monitor, dict) and isinstance(alert, dict)
    logger.warning("monitor %s (%s) triggered: %s", monitor["name"], monitor["monitor_id"], alert["message"])


class MonitorTimer:
    """Evaluates every unpaused monitor each ``interval`` seconds on a thread of its own; ``tick()``
    does one pass (tests call it with an injected ``clock``)."""

    def __init__(self, writes: sessionmaker[Session], interval: float, clock: Clock = utc_now) -> None:
        self.writes = writes
        self.interval = interval
        self.clock = clock
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def tick(self) -> int:
        """One pass over all monitors, ``BATCH`` per transaction; returns how many fired."""
        fired, after = 0, 0
        now = self.clock()
        while True:
            with transaction(self.writes) as session:
                result, next_after = evaluate_monitor_batch(session, after_id=after, limit=BATCH, now=now)
            for payload in result.fired:
                _log_fired(payload)
            fired += len(result.fired)
            if next_after is None:
                return fired
            after = next_after

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.tick()
            except SQLAlchemyError as exc:
                logger.warning("evaluating monitors failed, will retry: %s", str(exc).splitlines()[0])
            except Exception:  # the timer must outlive any one bad monitor
                logger.exception("evaluating monitors failed")

    def start(self) -> MonitorTimer:
        self.thread = threading.Thread(target=self._loop, name="clusterbook-monitors", daemon=True)
        self.thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None


def after_runs(writes: sessionmaker[Session], run_ids: list[str], clock: Clock = utc_now) -> int:
    """``after_run`` for the clusters of runs the reaper just failed."""
    try:
        with transaction(writes) as session:
            clusters = cluster_ids_of_runs(session, run_ids)
    except SQLAlchemyError as exc:
        logger.warning("reading the clusters of reaped runs failed: %s", str(exc).splitlines()[0])
        return 0
    return sum(after_run(writes, cluster_id, clock) for cluster_id in clusters)
