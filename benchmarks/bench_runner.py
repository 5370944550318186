"""The local runner against the Ray runner on this machine: queued small runs and one large run.

Both runners compute the same pending runs from one SQLite database (``--database-url`` for another)
through their real worker pools (``runner.worker.make_pool``), ``--workers`` runs at once:

    small   ``--small`` queued kmeans runs over 300 × 16 vectors; total wall time from the pool's
            start to the last run ending, and the per-run overhead: the median of the run's
            ``duration_ms`` (claim to completion) minus its own measured steps (``timings_ms``),
            i.e. starting the process or task, the database round trips and the hand-offs
    large   one kmeans run over ``--large-points`` × 384 vectors (100k by default), wall time

Ray is started once (``ray.init(num_cpus=cores)``) before anything is timed, and each side gets one
untimed warm-up run, so neither pays its first start in the figures. Sides alternate per repeat
(local first on odd repeats); the table shows medians. Figures are printed, never asserted.

Usage::

    python benchmarks/bench_runner.py                          # 3 repeats, 20 small runs, 100k × 384
    python benchmarks/bench_runner.py --repeat 1 --large-points 20000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_engine import _pending_run, make_dataset, store_dataset
from sqlalchemy import Engine, select

from clusterbook.runner.worker import make_pool
from clusterbook.settings import Settings, available_cores
from clusterbook.store.tables import executions

TERMINAL = ("completed", "failed", "canceled")


def wait_done(engine: Engine, run_ids: list[str], timeout: float = 3600) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(executions.c.run_id, executions.c.status, executions.c.duration_ms, executions.c.details).where(
                    executions.c.run_id.in_(run_ids)
                )
            ).all()
        if len(rows) == len(run_ids) and all(r.status in TERMINAL for r in rows):
            failed = [r.run_id for r in rows if r.status != "completed"]
            assert not failed, f"runs did not complete: {failed}"
            return list(rows)
        assert time.monotonic() < deadline, "runs did not finish in time"
        time.sleep(0.05)


def overhead_ms(row: Any) -> float:
    steps = (row.details or {}).get("timings_ms", {})
    return float(row.duration_ms) - sum(float(v) for v in steps.values() if isinstance(v, int | float))


def measure(engine: Engine, settings: Settings, workers: int, cluster: Any, count: int) -> tuple[float, list[Any]]:
    """Queue ``count`` runs of ``cluster``, start a pool, time until the last one ends."""
    run_ids = [_pending_run(engine, cluster) for _ in range(count)]
    pool = make_pool(engine, settings, workers=workers)
    started = time.perf_counter()
    with pool:
        rows = wait_done(engine, run_ids)
        total = time.perf_counter() - started
    return total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large-points", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=available_cores())
    parser.add_argument("--database-url")
    args = parser.parse_args()

    import ray

    ray.init(address="local", num_cpus=available_cores(), include_dashboard=False, log_to_driver=False)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        small_engine, small = store_dataset(url, make_dataset(300, 16, 4, 1.0, seed=1), 4, 1)
        large_data = make_dataset(args.large_points, 384, 8, 1.0, seed=2)
        large_engine, large = store_dataset(url, large_data, 8, 2)
        del large_data
        base = {"database_url": url, "heartbeat_seconds": 0.2, "poll_seconds": 0.05, "lease_seconds": 60.0}
        sides = {name: Settings(runner=name, **base) for name in ("local", "ray")}  # type: ignore[arg-type]
        print(
            f"{args.small} small runs (300 × 16) and one {args.large_points:,} × 384 run, {args.workers} workers, "
            f"{available_cores()} cores, {small_engine.dialect.name}; medians of {args.repeat}",
            flush=True,
        )
        for name, settings in sides.items():  # warm-up: fork server / Ray workers started and imported
            measure(small_engine, settings, args.workers, small, args.workers)
            print(f"warmed up {name}", flush=True)
        figures: dict[str, dict[str, list[float]]] = {n: {"small": [], "overhead": [], "large": []} for n in sides}
        for r in range(args.repeat):
            for name in list(sides) if r % 2 == 0 else list(reversed(sides)):
                total, rows = measure(small_engine, sides[name], args.workers, small, args.small)
                figures[name]["small"].append(total)
                figures[name]["overhead"].append(statistics.median(overhead_ms(row) for row in rows))
                large_total, _ = measure(large_engine, sides[name], args.workers, large, 1)
                figures[name]["large"].append(large_total)
                print(
                    f"  repeat {r + 1} {name:5}: small {total:6.2f} s (overhead/run "
                    f"{figures[name]['overhead'][-1]:6.0f} ms), large {large_total:6.1f} s",
                    flush=True,
                )
        med = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
        print(f"\n{'':24}{'local':>10}{'ray':>10}{'ray/local':>11}")
        for key, label, unit in (
            ("small", f"{args.small} small runs, total", "s"),
            ("overhead", "overhead per small run", "ms"),
            ("large", f"{args.large_points:,} × 384 run", "s"),
        ):
            lo, ra = med["local"][key], med["ray"][key]
            print(f"{label:24}{lo:8.2f}{unit:>2}{ra:8.2f}{unit:>2}{ra / lo if lo else float('nan'):10.2f}x")
    ray.shutdown()


if __name__ == "__main__":
    main()
