"""Workers: threads that claim runs from the database queue and supervise one process per run.

A worker claims the oldest pending run, starts a process for it (``compute.run_process``), and while
that process works renews the run's lease every ``heartbeat_seconds``. When the lease cannot be
renewed (the run was canceled, or reclaimed after a stall) the process is ended at once; when the
process dies without recording an outcome, the run goes back to the queue until it has used
``max_attempts``. A reaper in every pool requeues runs whose worker vanished altogether, and a
scheduler (``runner/scheduler.py``) fires the schedules that are due.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from clusterbook.models.executions import ExecutionStatus
from clusterbook.runner.compute import ComputeSettings, run_process
from clusterbook.runner.monitors import MonitorTimer, after_run, after_runs
from clusterbook.runner.parallel import kill_group
from clusterbook.runner.scheduler import Scheduler
from clusterbook.runner.webhooks import DeliveryLoop
from clusterbook.settings import Settings
from clusterbook.store.db import make_sessionmaker, refresh_statistics, transaction
from clusterbook.store.queue import (
    Claim,
    attempt_status,
    claim_next_execution,
    fail_execution,
    reap_expired_leases,
    release_execution,
    renew_lease,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
ENDED_BY_ITS_PROCESS = (ExecutionStatus.COMPLETED.value, ExecutionStatus.FAILED.value)
CANCELED = ExecutionStatus.CANCELED.value
STATISTICS_EVERY_SECONDS = 600.0


def _context() -> Any:
    """Processes come from a fork server that has the engine imported already: fast to start, and
    safe from a multi-threaded server (unlike a plain fork)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["clusterbook.runner.compute"])
    # Start (and preload) the fork server now, not inside the first claim, where its seconds of
    # importing would count against that run's lease.
    multiprocessing.forkserver.ensure_running()
    return context


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class WorkerPool:
    """``n`` workers and a reaper against one database. ``start()`` / ``stop()``; ``wake()`` makes idle
    workers look for work at once (the API calls it after a submit)."""

    def __init__(self, engine: Engine, settings: Settings, workers: int | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.size = settings.workers if workers is None else workers
        self.writes = make_sessionmaker(engine, writes=True)
        self.compute_settings = ComputeSettings(
            database_url=settings.database_url,
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            llm_base_url=settings.llm_base_url,
            llm_api_key=settings.llm_api_key,
            threads=settings.thread_budget(self.size),
            log_level=settings.log_level,
        )
        self.stopping = threading.Event()
        self.work_available = threading.Event()
        self.threads: list[threading.Thread] = []
        self.identity = f"{socket.gethostname()}:{os.getpid()}"
        self.context: Any = None
        self.scheduler: Scheduler | None = None
        self.deliveries = DeliveryLoop(engine, settings)
        """Sends the webhook outbox beside the workers (``runner/webhooks.py``), off the run path."""
        self.monitors = MonitorTimer(self.writes, settings.monitor_interval_seconds)
        self.joins = 0
        """How often the pool joined its cluster (0 locally; Ray: 1 at start, +1 per reconnect). Ray's
        driver installs signal handlers of its own on every join, so ``clusterbook worker`` puts its
        own back from the main thread whenever this changes."""

    def start(self) -> WorkerPool:
        if self.size and self.context is None:
            self.context = _context()

        for n in range(self.size):
            thread = threading.Thread(target=self._work, name=f"clusterbook-worker-{n}", daemon=True)
            self.threads.append(thread)
        self.threads.append(threading.Thread(target=self._reap, name="clusterbook-reaper", daemon=True))
        for thread in self.threads:
            thread.start()
        if self.settings.scheduler_seconds > 0:  # schedules fire from every pool; claims keep them once each
            self.scheduler = Scheduler(
                self.engine,
                interval=self.settings.scheduler_seconds,
                size_limit_factor=self.settings.size_limit_factor,
                on_submit=self.wake,
            ).start()
        self.deliveries.start()
        if self.size:  # the timer of monitors runs beside the workers (runner/monitors.py)
            self.monitors.start()
        logger.info("started %d workers, %d compute threads each", self.size, self.compute_settings.threads)
        return self

    def wake(self) -> None:
        self.work_available.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; runs in flight are ended and go back to the queue for the next worker."""
        self.stopping.set()
        self.work_available.set()
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self.monitors.stop(timeout)
        for thread in self.threads:
            thread.join(timeout)
        self.threads.clear()
        self.deliveries.stop(timeout)

    def __enter__(self) -> WorkerPool:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- the loops -------------------------------------------------------------------------------

    def _db(self, action: Callable[[Any], T], what: str) -> T | None:
        """One write transaction; a database hiccup is logged and retried by the caller's loop."""
        try:
            with transaction(self.writes) as session:
                return action(session)
        except SQLAlchemyError as exc:
            logger.warning("%s failed, will retry: %s", what, str(exc).splitlines()[0])
            return None

    def _ready(self) -> bool:
        """Whether this pool can compute a run now (always, locally; the Ray pool needs its cluster)."""
        return True

    def _skipped(self) -> list[str]:
        """Pending runs this pool cannot run now and leaves to others (none, locally)."""
        return []

    def _work(self) -> None:
        while not self.stopping.is_set():
            if not self._ready():
                continue
            claim = self._db(
                lambda s: claim_next_execution(
                    s, worker_id=self.identity, lease_seconds=self.settings.lease_seconds, skip=self._skipped()
                ),
                "claiming a run",
            )
            if claim is None:
                self.work_available.wait(self.settings.poll_seconds)
                self.work_available.clear()
                continue
            try:
                self._supervise(claim)
            except Exception:  # a worker thread must outlive any one run
                logger.exception("supervising run %s failed", claim.run_id)
            # the run's outcome is committed (or it went back to the queue): its cluster's monitors see it
            after_run(self.writes, claim.cluster_id)

    def _supervise(self, claim: Claim) -> None:
        process = self.context.Process(
            target=run_process, args=(claim, self.compute_settings), name=f"clusterbook-{claim.run_id}", daemon=True
        )
        process.start()
        worker_id = f"{self.identity}:{process.pid}"
        logger.info("run %s (attempt %d) computing in process %s", claim.run_id, claim.attempt, process.pid)
        deadline = time.monotonic() + self.settings.run_timeout_seconds
        first = True
        while True:
            process.join(self.settings.heartbeat_seconds)
            if process.exitcode is not None:
                break
            if self.stopping.is_set():
                self._end(process)
                self._release(claim, "server shut down", refund=True)
                return
            renewed = self._db(self._renewal(claim, worker_id if first else None), "renewing a lease")
            first = False
            if renewed is False:  # ended by its own process, or canceled, reclaimed or deleted
                self._let_go(claim, process)
                self.deliveries.wake()  # its end may have queued webhook deliveries
                return
            if time.monotonic() > deadline:
                self._end(process)
                self._fail_timed_out(claim)
                self.deliveries.wake()
                return
        self.deliveries.wake()
        if process.exitcode != 0:
            reason = _exit_reason(process.exitcode)
            status = self._release(claim, reason)
            if status is None:  # it had already recorded an outcome (or was canceled): nothing was lost
                logger.info("process of run %s ended with %s after the run ended", claim.run_id, reason)
            else:
                logger.warning("process of run %s died (%s); run is now %s", claim.run_id, reason, status)

    def _let_go(self, claim: Claim, process: Any) -> None:
        """The lease could not be renewed: let the run's process exit, or stop it if the run was taken."""
        if self._taken_away(claim) is None:
            process.join(self.settings.heartbeat_seconds)
        if process.exitcode is None:
            self._end(process)

    def _taken_away(self, claim: Claim) -> str | None:
        """Why a refused renewal means the run was taken from this attempt (logged once), or None when
        the run's own computation recorded its outcome: it is ending by itself and logged that end."""
        status = self._db(lambda s: attempt_status(s, run_id=claim.run_id, token=claim.token), "reading a run")
        if status in ENDED_BY_ITS_PROCESS:
            return None
        why = "canceled" if status == CANCELED else "deleted or reclaimed by another attempt"
        logger.info("run %s was %s; stopping its computation", claim.run_id, why)
        return why

    def _release(self, claim: Claim, reason: str, *, refund: bool = False) -> str | None:
        """Give the run back to the queue: ``refund`` (shut down, cluster lost) charges no attempt;
        else the attempt counts and the run fails with ``reason`` after ``max_attempts``."""
        return self._db(
            lambda s: release_execution(
                s,
                run_id=claim.run_id,
                token=claim.token,
                reason=reason,
                max_attempts=1 if refund else self.settings.max_attempts,
                refund=refund,
            ),
            "returning a run to the queue",
        )

    def _renewal(self, claim: Claim, worker_id: str | None) -> Callable[[Any], bool]:
        def renew(session: Any) -> bool:
            return renew_lease(
                session,
                run_id=claim.run_id,
                token=claim.token,
                lease_seconds=self.settings.lease_seconds,
                worker_id=worker_id,
            )

        return renew

    def _fail_timed_out(self, claim: Claim) -> None:
        limit = self.settings.run_timeout_seconds
        message = (
            f"Run exceeded the time limit of {limit:.0f} s and was stopped; sample the input "
            "(vector_config.sample_size), pick a faster algorithm, or raise CLUSTERBOOK_RUN_TIMEOUT_SECONDS"
        )
        self._db(
            lambda s: fail_execution(s, run_id=claim.run_id, token=claim.token, message=message),
            "failing a run that timed out",
        )

    @staticmethod
    def _end(process: Any) -> None:
        """Kill the run's process group: the process and any task processes it started."""
        if process.pid is not None:
            kill_group(process.pid)
        process.kill()
        process.join(10)

    def _reap(self) -> None:
        interval = max(0.5, min(self.settings.lease_seconds / 3, 10.0))
        next_statistics = time.monotonic() + STATISTICS_EVERY_SECONDS
        while not self.stopping.wait(interval):
            if time.monotonic() > next_statistics:  # the history grows under us; keep the planner informed
                next_statistics = time.monotonic() + STATISTICS_EVERY_SECONDS
                try:
                    refresh_statistics(self.engine)
                except SQLAlchemyError as exc:
                    logger.warning("refreshing planner statistics failed: %s", str(exc).splitlines()[0])
            reaped = self._db(
                lambda s: reap_expired_leases(s, max_attempts=self.settings.max_attempts), "reaping lapsed leases"
            )
            if reaped and (reaped.requeued or reaped.failed):
                logger.warning("lapsed leases: requeued %s, failed %s", reaped.requeued, reaped.failed)
                self.work_available.set()
                if reaped.failed:
                    after_runs(self.writes, reaped.failed)


RAY_EXTRA = "clusterbook[ray]"


class RunnerUnavailable(RuntimeError):
    """The configured runner cannot start (its extra is missing, its cluster unreachable)."""


def check_runner(settings: Settings) -> None:
    """Fail at start, in one line naming the extra, when the chosen runner is not installed."""
    if settings.runner == "ray":
        _ray_backend()


def _ray_backend() -> Any:
    try:
        from clusterbook.runner import ray_backend
    except ModuleNotFoundError as exc:
        if exc.name != "ray" and not (exc.name or "").startswith("ray."):
            raise
        raise RunnerUnavailable(f"--runner ray needs Ray, which is not installed: pip install '{RAY_EXTRA}'") from None
    return ray_backend


def make_pool(engine: Engine, settings: Settings, workers: int | None = None) -> WorkerPool:
    """The worker pool of the configured runner (``settings.runner``)."""
    if settings.runner == "ray":
        pool: WorkerPool = _ray_backend().RayPool(engine, settings, workers)
        return pool
    return WorkerPool(engine, settings, workers)
