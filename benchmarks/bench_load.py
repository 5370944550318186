"""The history listing under load, through the real app over real HTTP, with the runner working.

A server with 2 workers serves a seeded history (default 20,000 runs in one cluster) whose cluster is
pointed at a real 60-vector collection; a writer submits a real run every 50 ms while 2,000 listing
requests at concurrency 20 mix filters, sorts, searches, stats and cursor pages. Reported: errors
(must be 0), p50/p99 latency, and keyset walks (sorts on keys that never change) that must neither
repeat nor skip any row that existed when their first page was read.

Usage::

    python benchmarks/bench_load.py                       # SQLite in a temporary directory
    python benchmarks/bench_load.py --database-url postgresql://postgres@127.0.0.1:5432/test --executions 50000

Timing figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, migrate
from clusterbook.store.seed import seed
from clusterbook.store.tables import executions

SCENARIOS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("default page", {}, {}),
    ("status filter", {"filters": {"status": "completed"}}, {}),
    (
        "status+silhouette by silhouette",
        {
            "filters": {"AND": [{"field": "silhouette_score", "operator": "gt", "value": 0.5}]},
            "sort": {"field": "silhouette_score", "direction": "desc"},
        },
        {},
    ),
    ("by duration asc", {"sort": {"field": "duration_ms", "direction": "asc"}}, {}),
    ("by num_clusters", {"sort": {"field": "num_clusters", "direction": "desc"}}, {"page_size": 50}),
    ("search common", {"search": "memory"}, {}),
    ("search rare", {"search": "zzqx"}, {}),
    ("failed + search", {"filters": {"status": ["failed", "canceled"]}, "search": "error"}, {}),
    ("stats all", {"filters": {"status": "completed"}, "stats_scope": "all"}, {}),
    ("page 20 by offset", {}, {"page": 20}),
]


def documents(n: int = 60) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    means = rng.normal(0, 10, size=(3, 8))
    return [
        {"document_id": f"d{i:03d}", "vector": (means[i % 3] + rng.normal(0, 0.5, 8)).round(4).tolist()}
        for i in range(n)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def walk(api: httpx.Client, path: str, body: dict[str, Any], existing: set[str]) -> tuple[int, int, int]:
    """Walk every cursor page of one listing; returns (rows seen, repeats, rows of ``existing`` missed)."""
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"page_size": 100}
        if cursor:
            params["cursor"] = cursor
        page = api.post(path, json=body, params=params)
        page.raise_for_status()
        data = page.json()
        seen.extend(r["run_id"] for r in data["results"])
        cursor = data["pagination"]["next_cursor"]
        if cursor is None:
            break
    return len(seen), len(seen) - len(set(seen)), len(existing - set(seen))


def ids_now(engine: sa.Engine, cluster_id: str, where: Any = None) -> set[str]:
    stmt = sa.select(executions.c.run_id).where(executions.c.cluster_id == cluster_id)
    if where is not None:
        stmt = stmt.where(where)
    with engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--executions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'load.db'}"
    engine = make_engine(url)
    migrate(engine)
    report = seed(engine, executions_count=args.executions, clusters_count=1, namespace="default")
    cluster_id = report.cluster_ids[0]
    print(f"database: {engine.dialect.name}; seeded {report.executions:,} runs in {report.seconds:.1f} s")

    settings = Settings(database_url=url, secret_key="bench-load", heartbeat_seconds=0.5, poll_seconds=0.2)
    with BackgroundServer(settings, workers=2) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        api.post("/v1/collections", json={"collection_name": "load"}).raise_for_status()
        api.post("/v1/collections/load/documents", json={"documents": documents()}).raise_for_status()
        api.patch(
            f"/v1/clusters/{cluster_id}",
            json={
                "collection_ids": ["load"],
                "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}},
            },
        ).raise_for_status()
        path = f"/v1/clusters/{cluster_id}/executions/list"
        stop = threading.Event()
        submitted: list[str] = []
        writer_errors: list[str] = []

        def writer() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                while not stop.is_set():
                    response = client.post(f"/v1/clusters/{cluster_id}/execute", json={})
                    if response.status_code == 202:
                        submitted.append(response.json()["run_id"])
                    else:
                        writer_errors.append(f"{response.status_code} {response.text[:200]}")
                    stop.wait(0.05)

        threading.Thread(target=writer, daemon=True).start()
        time.sleep(1.0)  # runs in flight before the first listing

        # keyset walks on immutable keys, started now, finished while the writer keeps adding runs
        walks = [
            ("created_at desc", {"sort": {"field": "created_at", "direction": "desc"}}, None),
            ("created_at asc", {"sort": {"field": "created_at", "direction": "asc"}}, None),
            (
                "completed by silhouette",
                {"filters": {"status": "completed"}, "sort": {"field": "silhouette_score", "direction": "desc"}},
                executions.c.status == "completed",
            ),
        ]
        walk_results = []
        walker_pool = ThreadPoolExecutor(len(walks))
        walk_futures = []
        for name, body, where in walks:
            existing = ids_now(engine, cluster_id, where)  # the rows that exist as page 1 is read
            walk_futures.append((name, existing, walker_pool.submit(walk, api, path, body, existing)))

        rng = random.Random(11)
        plan = [rng.choice(SCENARIOS) for _ in range(args.requests)]
        latencies: dict[str, list[float]] = {name: [] for name, _, _ in SCENARIOS}
        errors: list[str] = []
        lock = threading.Lock()
        local = threading.local()

        def one(item: tuple[str, dict[str, Any], dict[str, Any]]) -> None:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=server.url, timeout=60)
            name, body, params = item
            started = time.perf_counter()
            try:
                response = local.client.post(path, json=body, params=params)
                elapsed = (time.perf_counter() - started) * 1000
                ok = response.status_code == 200
                detail = f"{name}: {response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                elapsed, ok, detail = (time.perf_counter() - started) * 1000, False, f"{name}: {exc!r}"
            with lock:
                latencies[name].append(elapsed)
                if not ok:
                    errors.append(detail)

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, plan))
        wall = time.perf_counter() - started
        for name, existing, future in walk_futures:
            walk_results.append((name, len(existing), *future.result()))
        walker_pool.shutdown()
        stop.set()
        time.sleep(0.2)
        with engine.connect() as conn:
            by_status = dict(
                conn.execute(
                    sa.select(executions.c.status, sa.func.count())
                    .where(executions.c.run_id.in_(submitted))
                    .group_by(executions.c.status)
                ).all()
            )

    everything = [x for values in latencies.values() for x in values]
    print(
        f"{args.requests} listing requests at concurrency {args.concurrency} in {wall:.1f} s "
        f"({args.requests / wall:.0f} req/s) while the writer submitted {len(submitted)} runs "
        f"(now {by_status}; writer errors: {len(writer_errors)})"
    )
    print(f"errors: {len(errors)}" + (f"  first: {errors[0]}" if errors else ""))
    print(f"all requests: p50 {percentile(everything, 50):.1f} ms  p99 {percentile(everything, 99):.1f} ms")
    for name, values in latencies.items():
        if values:
            print(
                f"  {name:<34} n={len(values):<4} p50 {percentile(values, 50):7.1f} ms  "
                f"p99 {percentile(values, 99):7.1f} ms  mean {statistics.fmean(values):7.1f} ms"
            )
    print("keyset walks (page_size 100, cursor) during the load:")
    for name, existing, seen, repeats, missed in walk_results:
        verdict = "OK" if repeats == 0 and missed == 0 else "BROKEN"
        print(
            f"  {name:<26} existed at page 1: {existing:,}  rows seen: {seen:,}  repeats: {repeats}  missed: {missed}  {verdict}"
        )
    tmp.cleanup()


if __name__ == "__main__":
    main()
