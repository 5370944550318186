"""What ``GET /metrics`` reads from the database at scrape time, each a bounded, indexed query.

* Runs by namespace and status, and the execution-time histogram, come from the ``all`` grain of
  the rollups (``store/rollups.py``): one row per cluster, status and algorithm, found through
  ``ix_execution_rollups_read`` from each cluster — the cost grows with clusters, never with runs.
* The queue (pending runs, the oldest one's age) and the workers' heartbeats (the leases of the
  runs being computed) read the partial index over live runs, ``ix_executions_live``.

So a scrape is a handful of index reads however long the history; the API's read budget applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from clusterbook.store.queue import IS_LIVE, PENDING, PROCESSING
from clusterbook.store.rollup_columns import HIST_BINS, HIST_EDGES, MEDIAN_MEASURE, hist_column
from clusterbook.store.tables import clusters, execution_rollups, executions, namespaces, webhook_deliveries

_r = execution_rollups.c
_e = executions.c
_LIVE = IS_LIVE
"""The partial index's own condition (literals; with bound parameters SQLite scanned every run: ~1 s at 200k)."""
MAX_WORKERS = 1000
"""At most this many worker series per scrape (the busiest first); the rest are summed in the totals."""
BUCKET_EVERY = 4
"""The rollups' histogram has 4 bins per octave; ``/metrics`` reports one bucket per octave (16 ms … 70 min)."""


def _all_grain() -> Any:
    """Namespaces → their clusters → each cluster's ``all``-grain rollup rows (an index probe each)."""
    return namespaces.join(clusters, clusters.c.namespace_id == namespaces.c.namespace_id).join(
        execution_rollups, and_(_r.cluster_id == clusters.c.cluster_id, _r.grain == "all")
    )


def runs_by_namespace_status(session: Session) -> list[tuple[str, str, int]]:
    """``(namespace name, status, runs)`` for every namespace and status that has runs."""
    joined = _all_grain()
    rows = session.execute(
        select(namespaces.c.namespace_name, _r.status, func.sum(_r.n))
        .select_from(joined)
        .group_by(namespaces.c.namespace_name, _r.status)
        .order_by(namespaces.c.namespace_name, _r.status)
    ).all()
    return [(str(ns), str(status), int(n or 0)) for ns, status, n in rows if n]


@dataclass(frozen=True)
class DurationHistogram:
    """Cumulative counts of execution time per bucket edge (seconds), plus the sum and the count."""

    buckets: list[tuple[float, int]]
    total_seconds: float
    count: int


def duration_histograms(session: Session) -> dict[str, DurationHistogram]:
    """The execution-time histogram of each namespace's runs (every run that has an execution time)."""
    joined = _all_grain()
    column = MEDIAN_MEASURE.column
    sums = [func.sum(_r[hist_column(i)]) for i in range(HIST_BINS)]
    rows = session.execute(
        select(namespaces.c.namespace_name, func.sum(_r[f"{column}_sum"]), func.sum(_r[f"{column}_n"]), *sums)
        .select_from(joined)
        .group_by(namespaces.c.namespace_name)
        .order_by(namespaces.c.namespace_name)
    ).all()
    found = {}
    for ns, total_ms, count, *bins in rows:
        counts = [int(b or 0) for b in bins]
        buckets, running = [], 0
        # bin 0 holds values below HIST_EDGES[0]; bin i holds [edge i-1, edge i): after bin j every value
        # below edge j is counted
        for j in range(len(HIST_EDGES)):
            running += counts[j]
            if j % BUCKET_EVERY == 0:
                buckets.append((HIST_EDGES[j] / 1000.0, running))
        found[str(ns)] = DurationHistogram(buckets, float(total_ms or 0) / 1000.0, int(count or 0))
    return found


@dataclass(frozen=True)
class QueueState:
    pending: int
    oldest_pending_at: datetime | None


def queue_state(session: Session) -> QueueState:
    """How many runs wait, and since when the oldest has waited (the claim's own index order)."""
    pending = session.execute(select(func.count()).where(_LIVE, _e.status == PENDING)).scalar_one()
    oldest = session.execute(
        select(_e.created_at).where(_LIVE, _e.status == PENDING).order_by(_e.status, _e.created_at, _e.run_id).limit(1)
    ).scalar()
    return QueueState(int(pending), oldest)


@dataclass(frozen=True)
class WorkerLease:
    worker: str
    runs: int
    lease_expires_at: datetime


def worker_leases(session: Session) -> list[WorkerLease]:
    """Each worker computing runs now, with how many and its latest lease expiry: a worker renews
    the lease of its runs every heartbeat, so expiry − lease length is its last heartbeat."""
    rows = session.execute(
        select(_e.worker_id, func.count(), func.max(_e.lease_expires_at))
        .where(_LIVE, _e.status == PROCESSING, _e.worker_id.is_not(None))
        .group_by(_e.worker_id)
        .order_by(func.count().desc(), _e.worker_id)
        .limit(MAX_WORKERS)
    ).all()
    merged: dict[str, WorkerLease] = {}
    for worker_id, n, expires in rows:
        if expires is None:
            continue
        worker = pool_of(str(worker_id))
        seen = merged.get(worker)
        if seen is not None:
            n, expires = n + seen.runs, max(expires, seen.lease_expires_at)
        merged[worker] = WorkerLease(worker, int(n), expires)
    return sorted(merged.values(), key=lambda w: w.worker)


def pool_of(worker_id: str) -> str:
    """The worker a run's ``worker_id`` names without the process computing that one run:
    ``host:pid:child`` → ``host:pid`` (a local pool), ``ray:node:pid`` → ``ray:node``."""
    head, _, tail = worker_id.rpartition(":")
    return head if head and tail.isdigit() and head.count(":") >= 1 else worker_id


def expired_leases(session: Session, now: datetime) -> int:
    """Runs still ``processing`` whose lease lapsed: their worker stopped heartbeating (the reaper
    will requeue them)."""
    return int(
        session.execute(
            select(func.count()).where(_LIVE, _e.status == PROCESSING, _e.lease_expires_at < now)
        ).scalar_one()
    )


DELIVERY_STATUSES = ("pending", "delivering", "delivered", "failed")


def deliveries_by_status(session: Session) -> dict[str, int]:
    """Webhook deliveries per status (every status, zero included). One grouped count over the delivery
    log, under the read budget; the log grows with events, not with runs' sizes."""
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    status = webhook_deliveries.c.status
    for name, count in session.execute(select(status, func.count()).group_by(status)):
        counts[str(name)] = int(count)
    return counts
