"""Latency of the dashboard's aggregate endpoints at scale, through the real app over real HTTP.

Seeds N executions (default 1,000,000, all in ONE cluster) into an SQLite file (or uses the one
already there), serves the app on a free localhost port, and prints p50 / min / max latency of:

    trends per day / per week over the whole history · per hour over its last three days
    · trends of completed runs with silhouette ≥ 0.5 · trends of a search term
    · the cluster overview (run counts, latest and latest completed run)
    · for comparison, the listing's first page with stats over every run

Usage::

    python benchmarks/bench_trends.py                                    # /tmp/clusterbook-trends.db
    python benchmarks/bench_trends.py --database-url sqlite:////tmp/x.db --repeat 5
    python benchmarks/bench_trends.py --database-url postgresql://postgres@127.0.0.1:5432/test

The database is seeded only when it holds fewer than ``--executions`` runs. Timing figures are
printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, make_sessionmaker, migrate
from clusterbook.store.seed import seed
from clusterbook.store.tables import clusters, executions

DEFAULT_URL = "sqlite:////tmp/clusterbook-trends.db"


@dataclass
class Scenario:
    name: str
    call: Callable[[httpx.Client], httpx.Response]
    describe: Callable[[dict[str, Any]], str]


def prepare(url: str, count: int) -> tuple[str, int, datetime]:
    """The id of the biggest cluster and the number of runs, seeding first when there are too few."""
    engine = make_engine(url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        existing = int(session.execute(select(func.count()).select_from(executions)).scalar_one())
    if existing < count:
        print(f"seeding {count - existing:,} executions into {url} (one cluster) …", flush=True)
        started = time.perf_counter()
        seed(engine, executions_count=count - existing, clusters_count=1, days=180)
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    with factory() as session:
        cluster_id, runs = session.execute(
            select(executions.c.cluster_id, func.count())
            .join(clusters, clusters.c.cluster_id == executions.c.cluster_id)
            .group_by(executions.c.cluster_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        newest = session.execute(
            select(func.max(executions.c.created_at)).where(executions.c.cluster_id == cluster_id)
        ).scalar_one()
    engine.dispose()
    return str(cluster_id), int(runs), newest


def scenarios(cluster_id: str, newest: datetime) -> list[Scenario]:
    trends = f"/v1/clusters/{cluster_id}/executions/trends"
    since = (newest - timedelta(days=3)).isoformat()

    def buckets(data: dict[str, Any]) -> str:
        return f"{data['total_count']:,} runs in {len(data['buckets']):,} buckets"

    def post(path: str, body: dict[str, Any], **params: Any) -> Callable[[httpx.Client], httpx.Response]:
        return lambda client: client.post(path, json=body, params=params)

    return [
        Scenario("trends per day, whole history", post(trends, {"bucket": "day"}), buckets),
        Scenario(
            "trends per day in UTC+2, whole history",
            post(trends, {"bucket": "day", "utc_offset_minutes": 120}),
            buckets,
        ),
        Scenario("trends per week, whole history", post(trends, {"bucket": "week"}), buckets),
        Scenario(
            "trends per hour, last 3 days",
            post(trends, {"bucket": "hour", "filters": {"created_at": {"gte": since}}}),
            buckets,
        ),
        Scenario(
            "trends per day, completed & silhouette ≥ 0.5",
            post(
                trends, {"bucket": "day", "filters": {"status": "completed", "metrics.silhouette_score": {"gte": 0.5}}}
            ),
            buckets,
        ),
        Scenario("trends per day, search 'memory'", post(trends, {"bucket": "day", "search": "memory"}), buckets),
        Scenario(
            "cluster overview (1 cluster)",
            post("/v1/clusters/overview", {"cluster_ids": [cluster_id]}),
            lambda data: f"{data['results'][0]['run_count']:,} runs counted",
        ),
        Scenario(
            "listing page 1, stats_scope all (comparison)",
            post(f"/v1/clusters/{cluster_id}/executions/list", {"stats_scope": "all"}),
            lambda data: f"{data['total_count']:,} runs",
        ),
    ]


def measure(client: httpx.Client, scenario: Scenario, repeat: int) -> tuple[list[float], str]:
    first = scenario.call(client)  # warm-up (and the figure it returns)
    first.raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = scenario.call(client)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples, scenario.describe(first.json())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default {DEFAULT_URL}")
    parser.add_argument("--executions", type=int, default=1_000_000, help="runs the database should hold")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per scenario (default 5)")
    args = parser.parse_args()

    cluster_id, runs, newest = prepare(args.database_url, args.executions)
    print(f"\n{args.database_url}: cluster {cluster_id} with {runs:,} executions; {args.repeat} timed requests each\n")
    print(f"{'scenario':<48} {'p50 ms':>9} {'min ms':>9} {'max ms':>9}  result")
    settings = Settings(database_url=args.database_url)
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=600) as client:
        for scenario in scenarios(cluster_id, newest):
            samples, result = measure(client, scenario, args.repeat)
            print(
                f"{scenario.name:<48} {statistics.median(samples):>9.0f} {min(samples):>9.0f} {max(samples):>9.0f}  {result}",
                flush=True,
            )


if __name__ == "__main__":
    main()
