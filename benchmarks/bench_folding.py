"""Case-insensitive ``contains`` over a large history: the old rule against the stored fold, side by side.

Before (the rule until migration 0005): ``lower(column) LIKE '%term%'``, where SQLite's ``lower``
was a Python function called per row and PostgreSQL's its own (no index). After: the compiler's
SQL for the same filter, comparing the stored ``<column>_folded`` with the folded operand
(pg_trgm GIN indexes on PostgreSQL). Both run against the same database, interleaved, and the
medians and their ratio are printed; with ``--explain`` PostgreSQL's plan of the new query too.

Seed a history first (the database is migrated to the latest schema here, and the time that
takes is printed, so a history seeded by an older version measures the back-fill too)::

    clusterbook seed --executions 200000 --database-url sqlite:///history.db
    python benchmarks/bench_folding.py --database-url sqlite:///history.db --repeats 3

Timing figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event

from clusterbook.models.filters import parse_filter_tree
from clusterbook.store.compiler import compile_filter, escape_like
from clusterbook.store.db import make_engine, migrate
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.tables import executions

TERMS = 100
WORDS = ["MEMORY", "Heartbeating", "TIMED OUT", "noise", "Dimension", "RE-EMBED", "sampling", "Affinity"]


def run_name_terms() -> list[str]:
    """Run names look like ``nightly-20250314`` (the seeder's days end today): 100 kind-and-day terms
    of the last 100 days, in mixed case."""
    kinds = ["NIGHTLY", "Manual", "BACKFILL", "Tuning", "SCHEDULED"]
    today = datetime.now(UTC)
    return [f"{kinds[i % 5]}-{today - timedelta(days=i):%Y%m%d}" for i in range(TERMS)]


def error_terms() -> list[str]:
    """A few words of the seeded failures (any case) and error codes that match nothing."""
    return WORDS + [f"ERR-{i:04d}" for i in range(TERMS - len(WORDS))]


def _old_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def old_engine(url: str) -> Engine:
    """An engine with the old rule: on SQLite, ``lower()`` replaced by Python's on each connection."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _lower(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.create_function("lower", 1, _old_lower, deterministic=True)

    return engine


def before(field: str, terms: list[str]) -> Any:
    column = executions.c[field]
    return sa.or_(*(sa.func.lower(column).like(f"%{escape_like(t.lower())}%", escape="\\") for t in terms))


def after(field: str, terms: list[str], dialect: str) -> Any:
    tree = parse_filter_tree({"OR": [{field: {"contains": t}} for t in terms]})
    return compile_filter(tree, EXECUTION_FIELDS, dialect)


def timed(engine: Engine, where: Any, cluster_id: str) -> tuple[float, int]:
    """One listing's work: the count of matches and the first page, newest first."""
    scope = sa.and_(executions.c.cluster_id == cluster_id, where)
    started = time.perf_counter()
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(executions).where(scope)).scalar_one()
        conn.execute(
            sa.select(executions.c.run_id).where(scope).order_by(executions.c.created_at.desc()).limit(10)
        ).all()
    return time.perf_counter() - started, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", action="append", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    for url in args.database_url:
        new = make_engine(url)
        started = time.perf_counter()
        migrate(new)
        print(f"{new.dialect.name}: migrated to the latest schema in {time.perf_counter() - started:.1f} s")
        old = old_engine(url)
        with new.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one()
            cluster_id = conn.execute(
                sa.select(executions.c.cluster_id)
                .group_by(executions.c.cluster_id)
                .order_by(sa.func.count().desc())
                .limit(1)
            ).scalar_one()
        print(f"{new.dialect.name}: {total:,} runs; the largest cluster is measured")
        for field, terms in (("run_name", run_name_terms()), ("error_message", error_terms())):
            times: dict[str, list[float]] = {"before": [], "after": []}
            counts: dict[str, int] = {}
            for _ in range(args.repeats):  # interleaved, so both see the same cache and machine load
                for label, engine, where in (
                    ("before", old, before(field, terms)),
                    ("after", new, after(field, terms, new.dialect.name)),
                ):
                    seconds, counts[label] = timed(engine, where, cluster_id)
                    times[label].append(seconds)
            b, a = statistics.median(times["before"]), statistics.median(times["after"])
            agree = "same matches" if counts["before"] == counts["after"] else "DIFFERENT matches"
            print(
                f"  {TERMS} OR-ed contains on {field}: before {b * 1000:,.0f} ms, after {a * 1000:,.0f} ms "
                f"(×{b / a:,.1f} faster; medians of {args.repeats}; {counts['after']:,} matches, {agree})"
            )
            if args.explain and new.dialect.name == "postgresql":
                scope = sa.and_(executions.c.cluster_id == cluster_id, after(field, terms, "postgresql"))
                query = sa.select(sa.func.count()).select_from(executions).where(scope)
                sql = str(query.compile(new, compile_kwargs={"literal_binds": True}))
                with new.connect() as conn:
                    plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql)]
                used = sorted({line.split(" on ")[1].split()[0] for line in plan if "Index Scan on" in line})
                print(f"    plan: {plan[0].split('  (')[0]} …, index scans on {', '.join(used)}")
        old.dispose()
        new.dispose()


if __name__ == "__main__":
    main()
