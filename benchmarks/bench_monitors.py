"""Cost of evaluating monitors and of a ``/metrics`` scrape, small history against a large one.

A run's end evaluates every monitor of its cluster, and the timer evaluates them all, so an
evaluation must cost the same at 1,000 runs as at 1,000,000: it reads index entries bounded by the
rule (``store/monitor_checks.py``). This seeds two SQLite files (``--small`` and ``--large`` runs in
one cluster, via ``store.seed``), puts ``MAX_MONITORS_PER_CLUSTER`` monitors of every kind on the
cluster, and prints the median time of one evaluation pass over them and of one scrape of the
database figures (``api.metrics.DatabaseCollector``), with the large/small ratio.

Usage::

    python benchmarks/bench_monitors.py                     # 1,000 vs 200,000 runs under /tmp
    python benchmarks/bench_monitors.py --large 1000000 --repeat 20

Figures are printed, never asserted. On a shared machine they are inflated by other load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from sqlalchemy import func, select

from clusterbook.api.metrics import DatabaseCollector, _Scrape
from clusterbook.models.measures import MEASURES
from clusterbook.models.monitors import MAX_MONITORS_PER_CLUSTER, MonitorCreate
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, refresh_statistics
from clusterbook.store.monitors import count_monitors, create_monitor, evaluate_cluster_monitors
from clusterbook.store.seed import seed
from clusterbook.store.tables import clusters, executions


def rules() -> list[dict[str, Any]]:
    """MAX_MONITORS_PER_CLUSTER rules, every kind and every declared measure, the largest reads."""
    found: list[dict[str, Any]] = [
        {"kind": "failure_rate", "last_runs": 1000, "above": 0.3},
        {"kind": "failure_rate", "window_seconds": 90 * 86400, "above": 0.3},
        {"kind": "no_completed_run", "for_seconds": 3600},
    ]
    for measure in MEASURES:
        found.append({"kind": "metric", "measure": measure.name, "below": 0.5})
        found.append({"kind": "metric", "measure": measure.name, "below_median": {"last_runs": 1000, "delta": 0.1}})
    while len(found) < MAX_MONITORS_PER_CLUSTER:
        found.append({"kind": "failure_rate", "last_runs": 1000, "above": 0.5})
    return found[:MAX_MONITORS_PER_CLUSTER]


def prepare(path: Path, count: int) -> tuple[Any, str]:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    factory = make_sessionmaker(engine, writes=True)
    with factory() as session:
        existing = int(session.execute(select(func.count()).select_from(executions)).scalar_one())
    if existing < count:
        print(f"seeding {count - existing:,} runs into {path} …", flush=True)
        seed(engine, executions_count=count - existing, clusters_count=1, days=180)
        refresh_statistics(engine, after_bulk_load=True)
    with factory() as session, session.begin():
        row = session.execute(select(clusters.c.cluster_id, clusters.c.namespace_id).limit(1)).one()
        if count_monitors(session, cluster_id=row.cluster_id) == 0:
            for i, rule in enumerate(rules()):
                data = MonitorCreate.model_validate({"name": f"m{i}", "rule": rule})
                create_monitor(session, namespace_id=row.namespace_id, cluster_id=row.cluster_id, data=data)
    return engine, row.cluster_id


def median_ms(action: Any, repeat: int) -> float:
    action()  # warm the page cache and the statement cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(path: Path, count: int, repeat: int) -> tuple[float, float]:
    engine, cluster_id = prepare(path, count)
    writes = make_sessionmaker(engine, writes=True)
    reads = make_sessionmaker(engine)

    def evaluate() -> None:
        with writes() as session, session.begin():
            evaluate_cluster_monitors(session, cluster_id=cluster_id, now=datetime.now(UTC))

    def scrape() -> None:
        with reads() as session:
            generate_latest(_Scrape(DatabaseCollector(session, lease_seconds=30.0)))  # type: ignore[arg-type]

    result = median_ms(evaluate, repeat), median_ms(scrape, repeat)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--directory", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    small = measure(args.directory / f"clusterbook-monitors-{args.small}.db", args.small, args.repeat)
    large = measure(args.directory / f"clusterbook-monitors-{args.large}.db", args.large, args.repeat)
    print(f"\n{MAX_MONITORS_PER_CLUSTER} monitors on one cluster; median of {args.repeat} (ms)")
    print(f"{'':34}{args.small:>12,}{args.large:>12,}{'ratio':>8}")
    for name, a, b in (
        ("evaluate every monitor (one pass)", small[0], large[0]),
        ("scrape /metrics' database figures", small[1], large[1]),
    ):
        print(f"{name:34}{a:12.1f}{b:12.1f}{b / a:8.2f}")


if __name__ == "__main__":
    main()
