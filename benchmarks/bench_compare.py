"""Time and memory of the server-side compare at 100k and 1M shared documents, on SQLite and PostgreSQL.

For each database and size, four completed runs of one cluster get memberships over the same N
documents through the bulk path the runner uses (``store.queue.insert_members``: COPY on PostgreSQL):
the reference has 8 clusters; the others move ~10% of the documents, split a cluster or add noise.
Then, interleaved round by round, it times:

    cells    the contingency GROUP BY of one pair (store/relation.py)
    score    ARI/AMI and the matching of that pair from its table (engine/agreement.py)
    moved    the LIMITed sample of moved documents of one pair
    compare2 the whole compare of 2 runs, in process (runner/compare.py)
    compare4 the whole compare of 4 runs (3 pairs), in process
    http4    the compare of 4 runs through the real app over HTTP, under the query budget

and the memory of one compare of 4 runs: the Python peak (tracemalloc: numpy and Python objects) and
the process's resident-set growth at its peak (VmHWM, which includes the database's own caches).
Medians over ``--rounds``. Figures are printed, never asserted.

Usage::

    python benchmarks/bench_compare.py                                   # 100k and 1M, both databases
    python benchmarks/bench_compare.py --sizes 100000 --databases sqlite --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_list import DEFAULT_POSTGRES_URL, Target, targets_of  # noqa: E402

from clusterbook.api.background import BackgroundServer  # noqa: E402
from clusterbook.engine.agreement import Contingency, agreement  # noqa: E402
from clusterbook.models.clusters import ClusterCreate  # noqa: E402
from clusterbook.models.collections import CollectionCreate  # noqa: E402
from clusterbook.runner.compare import compare_runs  # noqa: E402
from clusterbook.settings import Settings  # noqa: E402
from clusterbook.store.clusters import create_cluster  # noqa: E402
from clusterbook.store.collections import create_collection  # noqa: E402
from clusterbook.store.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from clusterbook.store.executions import create_execution  # noqa: E402
from clusterbook.store.namespaces import ensure_namespace  # noqa: E402
from clusterbook.store.queue import insert_members  # noqa: E402
from clusterbook.store.relation import contingency_cells, moved_documents_sample  # noqa: E402

K = 8
BATCH = 200_000


def rss_mib(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS
        return True
    except OSError:
        return False


def labelings(n: int, seed: int = 0) -> list[np.ndarray]:
    """Four labelings of n documents (-1 is noise): a reference and three variations of it."""
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, K, size=n)
    moved = reference.copy()
    picked = rng.random(n) < 0.1
    moved[picked] = rng.integers(0, K, size=int(picked.sum()))
    split = reference.copy()
    split[(reference == 0) & (rng.random(n) < 0.5)] = K  # cluster 0 split in two
    noisy = reference.copy()
    noisy[rng.random(n) < 0.05] = -1
    return [reference, moved, split, noisy]


def memory_of_compare(url: str, namespace_id: str, runs: list[str]) -> tuple[float, float, float, int]:
    """In a fresh process: (Python peak MiB, resident-set growth at its peak MiB, ARI, shared) of one compare."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as session:  # connect and import everything first: only the compare is measured
        compare_runs(session, namespace_id=namespace_id, run_ids=runs[:2])
    gc.collect()
    had_hwm = reset_peak()
    before = rss_mib()
    tracemalloc.start()
    with factory() as session:
        result = compare_runs(session, namespace_id=namespace_id, run_ids=runs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = (rss_mib("VmHWM") - before) if had_hwm else float("nan")
    engine.dispose()
    pair = result.pairs[0]
    return peak / 2**20, growth, pair.ari or 0.0, pair.shared_documents


def seed_runs(target: Target, n: int) -> tuple[str, str, list[str]]:
    """A namespace, a cluster and four completed runs with memberships; returns (namespace id, cluster id, runs)."""
    target.reset()
    engine = make_engine(target.url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    documents = [f"doc-{i:08d}" for i in range(n)]
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name="default")
        collection = create_collection(
            session, namespace_id=ns.namespace_id, data=CollectionCreate(collection_name="c")
        )
        cluster = create_cluster(
            session,
            namespace_id=ns.namespace_id,
            data=ClusterCreate(cluster_name="bench", collection_ids=[collection.collection_id]),
        )
    runs = []
    for i, labels in enumerate(labelings(n)):
        clusters = [None if x < 0 else f"cl_{x}" for x in labels.tolist()]
        with factory() as session, session.begin():
            run = create_execution(
                session,
                namespace_id=ns.namespace_id,
                cluster_id=cluster.cluster_id,
                status="completed",
                num_points=n,
                num_clusters=K,
                config={"algorithm": "kmeans", "params": {"n_clusters": K + (i == 2)}, "random_state": i},
                centroids=[{"cluster_id": f"cl_{c}", "num_members": 1, "label": f"topic {c}"} for c in range(K + 1)],
            )
        for start in range(0, n, BATCH):
            with factory() as session, session.begin():
                part = slice(start, start + BATCH)
                insert_members(session, run.run_id, documents[part], clusters[part], [0.0] * len(documents[part]))
        runs.append(run.run_id)
    if target.name == "postgres":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE execution_members")
    engine.dispose()
    return ns.namespace_id, cluster.cluster_id, runs


def measure(target: Target, n: int, rounds: int, budget: float) -> dict[str, Any]:
    started = time.perf_counter()
    namespace_id, cluster_id, runs = seed_runs(target, n)
    seeded = time.perf_counter() - started
    engine = make_engine(target.url)
    factory = make_sessionmaker(engine)
    reference, other = runs[0], runs[1]
    with factory() as session:
        table = Contingency.from_cells(contingency_cells(session, reference_run_id=reference, other_run_id=other))
        matched = {m.reference: m.other for m in agreement(table).matches if m.other is not None}

    def cells() -> object:
        with factory() as session:
            return contingency_cells(session, reference_run_id=reference, other_run_id=other)

    def score() -> object:
        return agreement(table)

    def moved() -> object:
        with factory() as session:
            return moved_documents_sample(
                session, reference_run_id=reference, other_run_id=other, matched=matched, limit=20
            )

    def compare(count: int) -> Callable[[], object]:
        def run() -> object:
            with factory() as session:
                return compare_runs(session, namespace_id=namespace_id, run_ids=runs[:count])

        return run

    settings = Settings(database_url=target.url, secret_key="bench", query_timeout=budget)  # type: ignore[arg-type]
    timings: dict[str, list[float]] = {
        name: [] for name in ("cells", "score", "moved", "compare2", "compare4", "http4")
    }
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=600) as http:

        def over_http() -> object:
            response = http.post(f"/v1/clusters/{cluster_id}/executions/compare", json={"run_ids": runs})
            if response.status_code != 200:
                raise RuntimeError(f"compare over HTTP answered {response.status_code}: {response.text[:300]}")
            return response

        steps = {
            "cells": cells,
            "score": score,
            "moved": moved,
            "compare2": compare(2),
            "compare4": compare(4),
            "http4": over_http,
        }
        for step in steps.values():  # warm the caches once
            step()
        for _ in range(rounds):
            for name, step in steps.items():
                t0 = time.perf_counter()
                step()
                timings[name].append(time.perf_counter() - t0)

    engine.dispose()
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # a fresh process: its RSS growth is the compare's
        python_peak, rss_growth, ari, shared = pool.apply(memory_of_compare, (target.url, namespace_id, runs))
    return {
        "database": target.name,
        "documents": n,
        "seed_s": seeded,
        **{name: statistics.median(values) for name, values in timings.items()},
        "python_peak_mib": python_peak,
        "rss_growth_mib": rss_growth,
        "ari": ari,
        "shared": shared,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="shared documents per run, comma-separated")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per figure (median)")
    parser.add_argument(
        "--budget", type=float, default=300.0, help="CLUSTERBOOK_QUERY_TIMEOUT of the server for http4 (s; default 300)"
    )
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument("--postgres-schema", default="bench_compare", help="schema to build in (dropped first)")
    args = parser.parse_args()
    args.executions = "compare"  # names the default SQLite file (targets_of)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows = []
    for n in sizes:
        for target in targets_of(parser, args):
            print(f"{target.name}: {n:,} shared documents, 4 runs ({target.describe})", flush=True)
            rows.append(measure(target, n, args.rounds, args.budget))
            print(f"  seeded in {rows[-1]['seed_s']:.1f} s; ARI of the 10%-moved run {rows[-1]['ari']:.4f}", flush=True)
    print()
    print(f"median of {args.rounds} interleaved rounds, seconds; memory of one 4-run compare, MiB")
    header = (
        f"{'database':<9} {'documents':>10} {'cells':>7} {'score':>7} {'moved':>7} {'compare2':>9} {'compare4':>9} "
        f"{'http4':>7} {'py peak':>8} {'rss +':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['database']:<9} {r['documents']:>10,} {r['cells']:>7.3f} {r['score']:>7.3f} {r['moved']:>7.3f} {r['compare2']:>9.3f} "
            f"{r['compare4']:>9.3f} {r['http4']:>7.3f} {r['python_peak_mib']:>8.1f} {r['rss_growth_mib']:>7.1f}"
        )
    print(
        "http4 within the default 5 s query budget: "
        + ", ".join(f"{r['database']} {r['documents']:,} {'yes' if r['http4'] < 5 else 'NO'}" for r in rows)
    )
    by = {(r["database"], r["documents"]): r for r in rows}
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        for name in ("sqlite", "postgres"):
            if (name, small) in by and (name, large) in by:
                ratio = by[(name, large)]["compare4"] / by[(name, small)]["compare4"]
                print(
                    f"{name}: compare4 at {large:,} / at {small:,} = {ratio:.1f}x for {large / small:.0f}x the documents"
                )


if __name__ == "__main__":
    main()
