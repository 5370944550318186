"""Loading a run's vectors and persisting its memberships (issue 12, goal 5), old path against new.

Goal: 100k × 384 vectors load in ≤ 1 s and 100k memberships persist in ≤ 1 s, on SQLite and
PostgreSQL, the way users run it (a machine that is doing other work too).

    load     what a run reads: ids, texts and every vector into one float32 (N, d) array
             old: rows through SQLAlchemy (PostgreSQL: text format, so each vector comes as hex), one
                  ``b"".join`` + copy per 5,000-row batch
             new: ``store.documents.load_run_documents`` as the runner calls it
    persist  writing N memberships inside the completing transaction (rolled back afterwards)
             old: one Python tuple per row; ``COPY … FROM STDIN`` via ``write_row`` (PostgreSQL),
                  ``executemany`` in 50k batches through SQLAlchemy (SQLite)
             new: ``store.queue.insert_members`` as ``complete_execution`` calls it

Sides alternate (old first on odd repeats, new first on even ones); the table shows medians, the
ratio old ÷ new and whether the new median meets the 1 s goal, for wall time and for CPU time (this
process plus, with a local PostgreSQL, its backend process). ``--busy N`` runs N CPU-bound processes
meanwhile (a pure-Python loop each), since the goal must hold on a machine that is not idle.

Usage::

    python benchmarks/bench_load_persist.py                                           # SQLite only
    python benchmarks/bench_load_persist.py --postgres-url postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_load_persist.py --postgres-url … --busy 1

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
from bench_engine import Dataset, _pending_run, make_dataset, postgres_url, store_dataset, vacuum_members
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from clusterbook.models.clusters import Cluster
from clusterbook.store.db import is_sqlite, make_sessionmaker, transaction
from clusterbook.store.documents import load_run_documents
from clusterbook.store.queue import insert_members
from clusterbook.store.tables import documents

GOAL_SECONDS = 1.0
COLUMNS = ("run_id", "document_id", "cluster_id", "distance")


# ---------------------------------------------------------------- the old paths, as they were


def old_load(session: Session, cluster: Cluster, total: int, dimension: int) -> np.ndarray:
    """The previous loading loop: SQLAlchemy rows, one join + copy per batch."""
    d = documents.c
    vectors = np.empty((total, dimension), dtype=np.float32)
    ids: list[str] = []
    texts: list[str | None] = []
    stmt = (
        select(d.document_id, d.text, d.vector)
        .where(d.collection_id == cluster.collection_ids[0])
        .order_by(d.document_id)
        .execution_options(stream_results=True, max_row_buffer=5000, yield_per=5000)
    )
    with closing(session.execute(stmt)) as result:
        for batch in result.partitions():
            blobs = [record[2] for record in batch]
            block = np.frombuffer(b"".join(blobs), dtype="<f4")
            vectors[len(ids) : len(ids) + len(batch)] = block.reshape(len(batch), -1)
            ids.extend(record[0] for record in batch)
            texts.extend(record[1] for record in batch)
    return vectors


def old_persist(session: Session, run_id: str, ids: Sequence[str], clusters: Sequence[str | None], dist: Any) -> None:
    rows = ((run_id, a, b, c) for a, b, c in zip(ids, clusters, dist, strict=True))
    if not is_sqlite(session):
        driver: Any = session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY execution_members ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)
        return
    statement = f"INSERT INTO execution_members ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?)"
    connection = session.connection()
    while chunk := list(itertools.islice(rows, 50_000)):
        connection.exec_driver_sql(statement, chunk)


# ---------------------------------------------------------------- the new paths: the store's


def new_load(session: Session, cluster: Cluster, total: int, dimension: int) -> np.ndarray:
    loaded = load_run_documents(
        session,
        namespace_id=cluster.namespace_id,
        collection_ids=list(cluster.collection_ids),
        filters=None,
        with_metadata=False,
    )
    assert loaded.vectors is not None
    return loaded.vectors


def new_persist(session: Session, run_id: str, ids: Sequence[str], clusters: Sequence[str | None], dist: Any) -> None:
    insert_members(session, run_id, ids, clusters, dist)


# ---------------------------------------------------------------- measuring

Loader = Callable[[Session, Cluster, int, int], np.ndarray]
Persister = Callable[[Session, str, Sequence[str], Sequence[str | None], Any], None]


class Clock:
    """Wall seconds, and CPU seconds of this process plus (PostgreSQL on this machine) the session's
    backend process, read from /proc: on a shared machine the wall time mostly measures the queue for
    a core, the CPU time what the work itself costs."""

    def __init__(self, session: Session) -> None:
        self.backend: int | None = None
        if not is_sqlite(session):
            self.backend = int(session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    def _cpu(self) -> float:
        total = time.process_time()
        if self.backend is not None:
            try:
                with open(f"/proc/{self.backend}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
            except OSError:  # a remote server: client CPU only
                pass
        return total

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, self._cpu() - self.cpu


def time_load(engine: Engine, cluster: Cluster, data: Dataset, load: Loader) -> tuple[float, float]:
    with transaction(make_sessionmaker(engine, snapshot=True)) as session:  # the runner's load session
        clock = Clock(session)
        vectors = load(session, cluster, len(data.document_ids), data.vectors.shape[1])
        seconds = clock.stop()
    assert np.array_equal(vectors, data.vectors), "loaded vectors differ from the stored ones"
    return seconds


def time_persist(
    engine: Engine, cluster: Cluster, data: Dataset, outcome: tuple[Any, Any], persist: Persister
) -> float:
    """A fresh pending run each time, as in real use: PostgreSQL keeps a rolled-back run's index
    entries until VACUUM, and each unique check of the same run id again would wade through them
    (that, not the write, was most of the 1.5–3.8 s reported before). Untimed: the run, the VACUUM."""
    labels, distances = outcome
    run_id = _pending_run(engine, cluster)
    with make_sessionmaker(engine, writes=True)() as session, session.begin() as tx:
        clock = Clock(session)
        persist(session, run_id, data.document_ids, labels, distances)
        session.flush()
        seconds = clock.stop()
        tx.rollback()
    vacuum_members(engine)
    return seconds


def spin(stop: Any) -> None:
    """A CPU-bound neighbour: pure Python arithmetic until told to stop."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x = (x + i * i) % 1_000_003


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres-url", default=None, help="also measure on this PostgreSQL database")
    parser.add_argument("--busy", type=int, default=0, help="CPU-bound processes running meanwhile")
    args = parser.parse_args()

    start = time.perf_counter()
    data = make_dataset(args.points, args.dims, 20, 40.0, 0)
    print(f"dataset: {args.points:,} × {args.dims} float32, built in {time.perf_counter() - start:.1f} s", flush=True)
    rng = np.random.default_rng(1)
    label_ids = rng.integers(-1, 20, size=args.points)  # -1: noise, stored as NULL
    names = {i: f"cl_{i}" for i in range(20)}
    labels = [names.get(i) for i in label_ids.tolist()]
    distances = np.where(label_ids < 0, np.nan, rng.random(args.points)).astype(np.float32)
    outcome = (labels, [None if np.isnan(x) else float(x) for x in distances.tolist()])

    sqlite_url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench_load_persist.db'}"
    targets: list[tuple[str, Engine, Cluster]] = []
    for name, url in [("sqlite", sqlite_url), ("postgresql", postgres_url(args.postgres_url))]:
        if url:
            start = time.perf_counter()
            engine, cluster = store_dataset(url, data, 20, 0)
            targets.append((name, engine, cluster))
            print(f"stored in {name} in {time.perf_counter() - start:.1f} s", flush=True)

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    neighbours = [context.Process(target=spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for process in neighbours:
        process.start()
    sides: dict[str, tuple[Loader, Persister]] = {"old": (old_load, old_persist), "new": (new_load, new_persist)}
    times: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    try:
        for r in range(args.repeat):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for name, engine, cluster in targets:
                for side in order:
                    load, persist = sides[side]
                    times.setdefault((name, "load", side), []).append(time_load(engine, cluster, data, load))
                    seconds = time_persist(engine, cluster, data, outcome, persist)
                    times.setdefault((name, "persist", side), []).append(seconds)
    finally:
        stop.set()
        for process in neighbours:
            process.join()

    busy = f", {args.busy} CPU-bound neighbour process(es)" if args.busy else ", no neighbour load"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.points:,} documents × {args.dims}, medians of {args.repeat} (sides interleaved){busy}:")
    print(f"  machine: {os.cpu_count()} cores, load average at the end {load}")
    print(f"  {'':<20} {'wall seconds':^34}  {'CPU seconds (client + backend)':^30}")
    header = f"{'old':>8} {'new':>8} {'old÷new':>8}"
    print(f"  {'database':<11} {'phase':<8} {header}  goal ≤ {GOAL_SECONDS:g} s  {header}")
    for name, *_ in targets:
        for phase in ("load", "persist"):
            old = [statistics.median(x) for x in zip(*times[(name, phase, "old")], strict=True)]
            new = [statistics.median(x) for x in zip(*times[(name, phase, "new")], strict=True)]
            verdict = "met" if new[0] <= GOAL_SECONDS else "MISSED"
            print(
                f"  {name:<11} {phase:<8} {old[0]:7.3f}s {new[0]:7.3f}s {old[0] / new[0]:7.2f}×  {verdict:<10}  "
                f"{old[1]:7.3f}s {new[1]:7.3f}s {old[1] / max(new[1], 1e-9):7.2f}×"
            )


if __name__ == "__main__":
    main()
