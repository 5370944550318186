"""What the scheduler costs: an idle tick (nothing due) and a burst of due schedules, on SQLite and/or
PostgreSQL.

Seeds ``--schedules`` interval schedules (20 per cluster, the most a cluster may hold) and measures,
with the clock passed in (``Scheduler(clock=…)``):

    idle tick   — nothing is due: one read of ``ix_schedules_due``, no write lock taken (median of 50)
    burst       — every schedule due at once: one tick claims, submits a run for each and records it
    skip burst  — the next slot, their runs still pending: one tick records an ``in_flight`` skip each

printing milliseconds, firings per second and the ratio of a burst firing to an idle tick.

Usage::

    python benchmarks/bench_schedules.py                       # SQLite, 1,000 schedules
    python benchmarks/bench_schedules.py --schedules 5000 --postgres-url postgresql://user@host:5432/db

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.collections import CollectionCreate
from clusterbook.models.schedules import MAX_SCHEDULES_PER_CLUSTER, ScheduleCreate
from clusterbook.runner.scheduler import BATCH, MAX_BATCHES_PER_TICK, Scheduler
from clusterbook.store.clusters import create_cluster
from clusterbook.store.collections import create_collection
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, transaction
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.schedules import create_schedule

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@contextmanager
def database(kind: str, postgres_url: str | None) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'schedules.db'}"
        return
    assert postgres_url
    schema = f"bench_sched_{secrets.token_hex(4)}"
    admin = make_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed(url: str, count: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    writes = make_sessionmaker(engine, writes=True)
    with transaction(writes) as session:
        ns = ensure_namespace(session, name="default")
        collection = create_collection(
            session, namespace_id=ns.namespace_id, data=CollectionCreate(collection_name="docs")
        )
        for n in range(0, count, MAX_SCHEDULES_PER_CLUSTER):
            cluster = create_cluster(
                session, namespace_id=ns.namespace_id,
                data=ClusterCreate(cluster_name=f"c{n}", collection_ids=[collection.collection_id]),
            )  # fmt: skip
            for _ in range(min(MAX_SCHEDULES_PER_CLUSTER, count - n)):
                create_schedule(
                    session, namespace_id=ns.namespace_id, cluster_id=cluster.cluster_id,
                    data=ScheduleCreate(interval_seconds=60), now=T0,
                )  # fmt: skip
    engine.dispose()


def measure(kind: str, url: str, count: int) -> None:
    seed(url, count)
    engine = make_engine(url)
    clock = [T0]
    scheduler = Scheduler(engine, interval=1, size_limit_factor=1.0, clock=lambda: clock[0])
    idle = []
    for _ in range(50):
        started = time.perf_counter()
        assert scheduler.tick() == []
        idle.append(time.perf_counter() - started)
    idle_ms = statistics.median(idle) * 1000

    def burst(at: datetime) -> tuple[float, int]:
        clock[0] = at
        started = time.perf_counter()
        fired = 0
        while batch := scheduler.tick():  # one tick handles BATCH × MAX_BATCHES_PER_TICK at most
            fired += len(batch)
        return time.perf_counter() - started, fired

    run_seconds, started_runs = burst(T0 + timedelta(minutes=1))
    skip_seconds, skips = burst(T0 + timedelta(minutes=2))
    engine.dispose()
    per_run_ms = run_seconds * 1000 / max(started_runs, 1)
    per_skip_ms = skip_seconds * 1000 / max(skips, 1)
    print(f"{kind:8} {count:>7,} schedules (batches of {BATCH}, ≤ {MAX_BATCHES_PER_TICK} per tick)")
    print(f"  idle tick      {idle_ms:8.2f} ms median")
    print(f"  burst          {run_seconds * 1000:8.0f} ms for {started_runs:,} runs  ({started_runs / run_seconds:,.0f}/s, "
          f"{per_run_ms:.2f} ms each = {per_run_ms / idle_ms:.0f}× an idle tick)")  # fmt: skip
    print(f"  skip burst     {skip_seconds * 1000:8.0f} ms for {skips:,} skips ({skips / skip_seconds:,.0f}/s, "
          f"{per_skip_ms:.2f} ms each)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--databases", default=None, help="sqlite,postgres (default: sqlite, plus postgres with a URL)")
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    kinds = (args.databases or ("sqlite,postgres" if args.postgres_url else "sqlite")).split(",")
    if "postgres" in kinds and not args.postgres_url:
        parser.error("--databases postgres needs --postgres-url")
    for kind in kinds:
        with database(kind.strip(), args.postgres_url) as url:
            measure(kind.strip(), url, args.schedules)


if __name__ == "__main__":
    main()
