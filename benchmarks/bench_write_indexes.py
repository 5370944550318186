"""What the percentile indexes (migration 0037, ``store/percentiles.py``) cost writes.

Each side starts from a freshly migrated database; the "without" side then drops the sixteen
``ix_executions_pct_*`` indexes. Per side and round it times:

* ``seed``: bulk-seeding N runs (``store/seed.py``: mostly completed runs with metrics, the worst
  case for partial indexes, since every measure a run has is an index entry);
* ``submit``: 300 single-run inserts of pending runs, each its own transaction (no measure yet, so a
  partial index takes no entry);
* ``complete``: 300 single-run UPDATEs writing a completion's measures, each its own transaction.

Sides alternate (with, without, with, …) and the medians and their ratio are printed.

Usage::

    python benchmarks/bench_write_indexes.py --runs 20000 --repeat 3 --databases sqlite,postgres

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_list import DEFAULT_POSTGRES_URL, postgres_target, sqlite_target  # noqa: E402

from clusterbook.store.db import make_engine, migrate  # noqa: E402
from clusterbook.store.executions import execution_values  # noqa: E402
from clusterbook.store.percentiles import PERCENTILE_MEASURES  # noqa: E402
from clusterbook.store.seed import seed  # noqa: E402
from clusterbook.store.tables import executions  # noqa: E402

SINGLE = 300


def one_side(target, with_indexes: bool, runs: int) -> dict[str, float]:
    target.reset()
    engine = make_engine(target.url)
    migrate(engine)
    if not with_indexes:
        with engine.begin() as conn:
            for m in PERCENTILE_MEASURES:
                conn.execute(sa.text(f"DROP INDEX {m.index_name}"))
    started = time.perf_counter()
    seed(engine, executions_count=runs, clusters_count=1, namespace="default")
    out = {"seed": time.perf_counter() - started}
    with engine.connect() as conn:
        cluster_id, namespace_id = conn.execute(
            sa.select(executions.c.cluster_id, executions.c.namespace_id).limit(1)
        ).one()
    ids = []
    started = time.perf_counter()
    for _ in range(SINGLE):
        row = execution_values(namespace_id=namespace_id, cluster_id=cluster_id, status="pending",
                               created_at=datetime.now(UTC), num_clusters=0, num_points=0)  # fmt: skip
        with engine.begin() as conn:
            ids.append(conn.execute(sa.insert(executions).values(**row).returning(executions.c.id)).scalar_one())
    out["submit"] = time.perf_counter() - started
    measures = {m.column: 0.5 for m in PERCENTILE_MEASURES if m.column != "duration_ms"}
    started = time.perf_counter()
    for execution_id in ids:
        with engine.begin() as conn:
            conn.execute(
                sa.update(executions).where(executions.c.id == execution_id)
                .values(status="completed", duration_ms=1234.5, completed_at=datetime.now(UTC), **measures)
            )  # fmt: skip
    out["complete"] = time.perf_counter() - started
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--sqlite-path", type=Path, default=Path(tempfile.gettempdir()) / "clusterbook-bench-writes.db")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--postgres-schema", default="bench_writes")
    args = parser.parse_args()
    for name in args.databases.split(","):
        target = (
            sqlite_target(args.sqlite_path)
            if name == "sqlite"
            else postgres_target(args.postgres_url, args.postgres_schema)
        )
        sides: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for _ in range(args.repeat):
            for with_indexes in (True, False):
                sides[with_indexes].append(one_side(target, with_indexes, args.runs))
        target.reset()
        print(f"\n=== {name}: {args.runs:,} seeded runs, {SINGLE} single submits and completions, {args.repeat} rounds")
        for step in ("seed", "submit", "complete"):
            with_ = statistics.median(r[step] for r in sides[True])
            without = statistics.median(r[step] for r in sides[False])
            per = "" if step == "seed" else f"  ({with_ / SINGLE * 1000:.2f} vs {without / SINGLE * 1000:.2f} ms each)"
            print(f"  {step:<9} with indexes {with_:8.2f} s   without {without:8.2f} s   with/without = "
                  f"{with_ / without:.2f}×{per}")  # fmt: skip


if __name__ == "__main__":
    main()
