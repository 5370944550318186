"""PostgreSQL's load and persist, lever by lever (issue 12, goal 5): which change buys what.

Each persist lever writes the same 100k memberships (binary COPY, one transaction, rolled back, then
VACUUM) into its own copy of ``execution_members`` in a private schema:

    full         the table as migrated before 0017: primary key, two listing indexes, FK to executions
    no-fk        the same without the foreign key (migration 0017)
    no-fk-1ix    without the FK and without ``ix_execution_members_distance``
    pk-only      without the FK and both listing indexes (a floor: the listing needs them)
    staging      no-fk, the rows COPYed into an UNLOGGED staging table first, then INSERT … SELECT

Load levers read every vector of the collection into one float32 array:

    load rows    ``load_run_documents`` in a READ COMMITTED session: a binary server cursor, (id, text,
                 vector) per row (as before; still the path of a filtered load)
    load copy    the same in the runner's snapshot session: ``COPY (SELECT vector …) TO STDOUT (FORMAT
                 BINARY)`` copied straight into the array, ids and texts by one plain query

Levers alternate (the order rotates each repeat); medians of wall and CPU (client + backend) seconds.

    python benchmarks/bench_pg_levers.py --postgres-url postgresql://postgres@127.0.0.1:5432/db --repeat 5

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from bench_engine import make_dataset, postgres_url, store_dataset
from bench_load_persist import Clock
from sqlalchemy import Engine

from clusterbook.models.clusters import Cluster
from clusterbook.store.db import copy_rows, make_sessionmaker, transaction
from clusterbook.store.documents import load_run_documents
from clusterbook.store.queue import MEMBER_COLUMNS, MEMBER_TYPES

LEVERS = {
    "full": ("fk", "cluster", "distance"),
    "no-fk": ("cluster", "distance"),
    "no-fk-1ix": ("cluster",),
    "pk-only": (),
    "staging": ("cluster", "distance", "staging"),
}


def make_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for name, features in LEVERS.items():
            table = f"lever_{name.replace('-', '_')}"
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            fk = " REFERENCES executions (run_id) ON DELETE CASCADE" if "fk" in features else ""
            conn.exec_driver_sql(
                f'CREATE TABLE {table} (run_id varchar(40) COLLATE "C" NOT NULL{fk}, '
                'document_id varchar(256) COLLATE "C" NOT NULL, cluster_id varchar(16), distance float8, '
                "PRIMARY KEY (run_id, document_id))"
            )
            if "cluster" in features:
                conn.exec_driver_sql(f"CREATE INDEX ON {table} (run_id, cluster_id, distance, document_id)")
            if "distance" in features:
                conn.exec_driver_sql(f"CREATE INDEX ON {table} (run_id, distance, document_id)")


def pending_run_id(engine: Engine, cluster: Cluster) -> str:
    from bench_engine import _pending_run

    return _pending_run(engine, cluster)


def persist(engine: Engine, lever: str, run_id: str, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    table = f"lever_{lever.replace('-', '_')}"
    with make_sessionmaker(engine, writes=True)() as session, session.begin() as tx:
        clock = Clock(session)
        if "staging" in LEVERS[lever]:
            session.connection().exec_driver_sql(
                "CREATE UNLOGGED TABLE IF NOT EXISTS lever_stage (run_id text, document_id text, "
                "cluster_id text, distance float8)"
            )
            copy_rows(session, "lever_stage", MEMBER_COLUMNS, iter(rows), MEMBER_TYPES)
            session.connection().exec_driver_sql(f"INSERT INTO {table} SELECT * FROM lever_stage")
        else:
            copy_rows(session, table, MEMBER_COLUMNS, iter(rows), MEMBER_TYPES)
        seconds = clock.stop()
        tx.rollback()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"VACUUM {table}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    data = make_dataset(args.points, args.dims, 20, 40.0, 0)
    url = postgres_url(args.postgres_url)
    assert url
    engine, cluster = store_dataset(url, data, 20, 0)
    make_tables(engine)
    rng = np.random.default_rng(1)
    label_ids = rng.integers(-1, 20, size=args.points).tolist()
    dist = rng.random(args.points).tolist()
    times: dict[str, list[tuple[float, float]]] = {}

    loads: dict[str, Callable[[], Any]] = {}
    if not args.skip_load:

        def load_with(snapshot: bool) -> Callable[[], tuple[float, float]]:
            def load() -> tuple[float, float]:
                with transaction(make_sessionmaker(engine, snapshot=snapshot)) as session:
                    clock = Clock(session)
                    loaded = load_run_documents(
                        session,
                        namespace_id=cluster.namespace_id,
                        collection_ids=list(cluster.collection_ids),
                        filters=None,
                        with_metadata=False,
                    )
                    seconds = clock.stop()
                assert loaded.vectors is not None and np.array_equal(loaded.vectors, data.vectors)
                return seconds

            return load

        loads = {"load rows": load_with(False), "load copy": load_with(True)}
    names = list(LEVERS) + list(loads)
    for r in range(args.repeat):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            if name in loads:
                times.setdefault(name, []).append(loads[name]())
                continue
            run_id = pending_run_id(engine, cluster) if "fk" in LEVERS[name] else f"run_{uuid.uuid4().hex[:20]}"
            rows = [
                (run_id, doc, None if c < 0 else f"cl_{c}", None if c < 0 else x)
                for doc, c, x in zip(data.document_ids, label_ids, dist, strict=True)
            ]
            times.setdefault(name, []).append(persist(engine, name, run_id, rows))
        print(f"  repeat {r + 1}: " + ", ".join(f"{n} {times[n][-1][0]:.2f}" for n in names), flush=True)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.points:,} × {args.dims}, medians of {args.repeat}, load average at the end {load}:")
    print(f"  {'lever':<14} {'wall s':>8} {'CPU s':>8}")
    for name in names:
        wall = statistics.median(t[0] for t in times[name])
        cpu = statistics.median(t[1] for t in times[name])
        print(f"  {name:<14} {wall:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
