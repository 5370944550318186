"""Time and peak memory of relating two runs (agreement with a baseline) at 100k and 1M shared documents.

For each database (SQLite and/or PostgreSQL) and each size, writes two completed runs' memberships
with the bulk path the runner uses (``store.queue.insert_members``: COPY on PostgreSQL), the second
a perturbed copy of the first (about 10% of the documents moved, 5% noise, 20 clusters), and then
measures, interleaved, each measurement in a fresh process:

    relate_runs  — the contingency table counted in the database (k × k'), scored from the table
    naive        — both runs' labels loaded into Python, then scikit-learn's ARI/AMI on them

printing the median seconds, the peak Python allocation (tracemalloc) and the peak growth of the
process's resident set (Linux VmHWM, reset before each measurement), side by side, with ratios.
``--explain`` prints the contingency query's plan (EXPLAIN ANALYZE on PostgreSQL), to check that
the join reads the members' primary key (run_id, document_id).

Usage::

    python benchmarks/bench_agreement.py                               # 100k and 1M, both databases
    python benchmarks/bench_agreement.py --sizes 100000 --databases sqlite --repeat 3
    python benchmarks/bench_agreement.py --postgres-url postgresql://user@host:5432/db --explain

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_list import DEFAULT_POSTGRES_URL, Target, targets_of  # noqa: E402

from clusterbook.models.clusters import ClusterCreate  # noqa: E402
from clusterbook.models.collections import CollectionCreate  # noqa: E402
from clusterbook.runner.relation import relate_runs  # noqa: E402
from clusterbook.store.clusters import create_cluster  # noqa: E402
from clusterbook.store.collections import create_collection  # noqa: E402
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, transaction  # noqa: E402
from clusterbook.store.executions import create_execution  # noqa: E402
from clusterbook.store.namespaces import ensure_namespace  # noqa: E402
from clusterbook.store.queue import insert_members  # noqa: E402
from clusterbook.store.relation import contingency_cells  # noqa: E402
from clusterbook.store.tables import execution_members  # noqa: E402

CLUSTERS = 20
MOVED = 0.10
NOISE = 0.05
BATCH = 200_000


def labelings(n: int, seed: int = 0) -> tuple[list[str], list[str | None], list[str | None]]:
    """Document ids and two labelings: the second moves ``MOVED`` of the documents, both have noise."""
    rng = np.random.default_rng(seed)
    ids = [f"doc-{i:08d}" for i in range(n)]
    first = rng.integers(0, CLUSTERS, n)
    second = first.copy()
    moved = rng.random(n) < MOVED
    second[moved] = rng.integers(0, CLUSTERS, int(moved.sum()))

    def named(labels: np.ndarray) -> list[str | None]:
        noise = rng.random(n) < NOISE
        return [None if is_noise else f"cl_{label}" for label, is_noise in zip(labels.tolist(), noise, strict=True)]

    return ids, named(first), named(second)


def prepare(target: Target, n: int, other_runs: int = 0) -> tuple[str, str, float]:
    """Two completed runs with ``n`` memberships each (and ``other_runs`` more of the same documents,
    so the two are a minority of the table as in a real history); the two ids and the seconds the
    bulk writes of the two took."""
    target.reset()
    engine = make_engine(target.url)
    migrate(engine)
    writes = make_sessionmaker(engine, writes=True)
    ids, first, second = labelings(n)
    with transaction(writes) as session:
        namespace = ensure_namespace(session, name="bench")
        create_collection(session, namespace_id=namespace.namespace_id, data=CollectionCreate(collection_name="docs"))
        cluster = create_cluster(
            session,
            namespace_id=namespace.namespace_id,
            data=ClusterCreate(cluster_name="agreement", collection_ids=["docs"]),
        )
        runs = [
            create_execution(
                session, namespace_id=namespace.namespace_id, cluster_id=cluster.cluster_id, status="completed"
            ).run_id
            for _ in range(2 + other_runs)
        ]
    started = time.perf_counter()
    for run_id, labels in zip(runs, (first, second), strict=True):
        for start in range(0, n, BATCH):
            with transaction(writes) as session:
                part = slice(start, start + BATCH)
                insert_members(session, run_id, ids[part], labels[part], [0.0] * len(ids[part]))
    seconds = time.perf_counter() - started
    for run_id in runs[2:]:
        for start in range(0, n, BATCH):
            with transaction(writes) as session:
                part = slice(start, start + BATCH)
                insert_members(session, run_id, ids[part], second[part], [0.0] * len(ids[part]))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE execution_members"))
        else:
            conn.execute(sa.text("ANALYZE"))
    engine.dispose()
    return runs[0], runs[1], seconds


def by_relate_runs(session: Session, reference: str, other: str) -> tuple[float, float]:
    _, found = relate_runs(session, reference_run_id=reference, other_run_id=other)
    assert found.ari is not None and found.ami is not None
    return found.ari, found.ami


def by_loading_labels(session: Session, reference: str, other: str) -> tuple[float, float]:
    """What a client would do without the table: every membership of both runs into Python."""
    m = execution_members.c

    def labels(run_id: str) -> dict[str, str]:
        rows = session.execute(sa.select(m.document_id, m.cluster_id).where(m.run_id == run_id))
        return {d: c or "noise" for d, c in rows}

    left, right = labels(reference), labels(other)
    shared = [d for d in left if d in right]
    a = [left[d] for d in shared]
    b = [right[d] for d in shared]
    return float(adjusted_rand_score(a, b)), float(adjusted_mutual_info_score(a, b))


APPROACHES = {"relate_runs": by_relate_runs, "naive": by_loading_labels}


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _measure(url: str, approach: str, reference: str, other: str, out: Any) -> None:
    """In a fresh process: seconds, tracemalloc peak and resident-set growth of one approach."""
    engine = make_engine(url)
    reads = make_sessionmaker(engine)
    with reads() as session:  # connect (and warm the dialect) before measuring
        session.execute(sa.text("SELECT 1"))
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        rss_before = _status_kb("VmRSS")
        tracemalloc.start()
        started = time.perf_counter()
        ari, ami = APPROACHES[approach](session, reference, other)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    hwm = _status_kb("VmHWM")
    growth = None if hwm is None or rss_before is None else max(0, hwm - rss_before) * 1024
    engine.dispose()
    out.put((seconds, peak, growth, ari, ami))


@dataclass
class Figures:
    seconds: list[float]
    python_peak: list[int]
    rss_growth: list[int]
    scores: tuple[float, float] | None = None


def measure(url: str, reference: str, other: str, repeat: int) -> dict[str, Figures]:
    context = multiprocessing.get_context("spawn")
    figures = {name: Figures([], [], []) for name in APPROACHES}
    for round_ in range(repeat):
        order = list(APPROACHES) if round_ % 2 == 0 else list(reversed(APPROACHES))  # interleaved
        for name in order:
            queue = context.Queue()
            process = context.Process(target=_measure, args=(url, name, reference, other, queue))
            process.start()
            seconds, peak, growth, ari, ami = queue.get()
            process.join()
            got = figures[name]
            got.seconds.append(seconds)
            got.python_peak.append(peak)
            if growth is not None:
                got.rss_growth.append(growth)
            got.scores = (ari, ami)
    return figures


def mb(value: float) -> str:
    return f"{value / 2**20:8.1f} MB"


def report(name: str, n: int, write_seconds: float, figures: dict[str, Figures]) -> None:
    table, naive = figures["relate_runs"], figures["naive"]
    print(f"\n{name}: {n:,} shared documents ({CLUSTERS} clusters, {MOVED:.0%} moved, {NOISE:.0%} noise)")
    print(f"  bulk write of both runs' memberships: {write_seconds:.1f} s")
    print(f"  {'':14}{'relate_runs':>16}{'naive':>16}{'naive / relate':>18}")
    rows = [
        ("median time", statistics.median(table.seconds), statistics.median(naive.seconds), lambda v: f"{v:13.2f} s  "),
        ("python peak", statistics.median(table.python_peak), statistics.median(naive.python_peak), mb),
    ]
    if table.rss_growth and naive.rss_growth:
        rows.append(("RSS growth", statistics.median(table.rss_growth), statistics.median(naive.rss_growth), mb))
    for label, a, b, fmt in rows:
        ratio = f"{b / a:15.1f}x" if a else "      n/a"
        print(f"  {label:14}{fmt(a):>16}{fmt(b):>16}{ratio:>18}")
    assert table.scores is not None and naive.scores is not None
    same = np.allclose(table.scores, naive.scores, atol=1e-12)
    print(f"  ARI/AMI: {table.scores[0]:.6f}/{table.scores[1]:.6f}; same as naive: {same}")


def explain(url: str, reference: str, other: str) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        m = execution_members.alias("reference")
        o = execution_members.alias("other")
        statement = (
            sa.select(m.c.cluster_id, o.c.cluster_id, sa.func.count())
            .select_from(m.join(o, m.c.document_id == o.c.document_id))
            .where(m.c.run_id == reference, o.c.run_id == other)
            .group_by(m.c.cluster_id, o.c.cluster_id)
        )
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN (ANALYZE, BUFFERS)" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
        print("  plan of the contingency query:")
        for row in session.execute(sa.text(f"{prefix} {compiled}")):
            print("    " + " ".join(str(part) for part in row))
        assert contingency_cells(session, reference_run_id=reference, other_run_id=other)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated shared documents")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per approach (interleaved; median)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument("--postgres-schema", default="bench_agreement", help="schema to write into (dropped)")
    parser.add_argument("--explain", action="store_true", help="print the contingency query's plan")
    parser.add_argument(
        "--other-runs", type=int, default=0, help="memberships of this many more runs in the table (default 0)"
    )
    args = parser.parse_args()
    args.executions = "agreement"  # names the default SQLite file of targets_of
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for target in targets_of(parser, args):
        for n in sizes:
            reference, other, write_seconds = prepare(target, n, args.other_runs)
            report(target.name, n, write_seconds, measure(target.url, reference, other, args.repeat))
            if args.explain:
                explain(target.url, reference, other)


if __name__ == "__main__":
    main()
