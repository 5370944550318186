"""Parameter-aware history at scale: ``config.params`` filters, ``group_by`` and percentiles.

Seeds N executions (default 1,000,000 in ONE cluster; seeded runs record an effective config) into
SQLite and/or PostgreSQL as ``bench_list.py`` does (``--reuse`` keeps an existing file/schema),
serves the app with uvicorn on a free localhost port and, through real HTTP, prints medians of:

* a filter on ``config.params.n_clusters`` next to the same filter on the real column
  ``num_clusters`` (first page + count, and ``stats_scope: "all"``), the two sides interleaved;
* for reference, the same count answered by parsing every config document (``json_extract`` /
  ``->>``), which is what the ``execution_params`` side table avoids;
* ``group_by`` status / algorithm / ``config.params.n_clusters`` and ``percentiles: [50, 95]``.

Usage::

    python benchmarks/bench_params.py                               # 1M rows, both databases
    python benchmarks/bench_params.py --executions 100000 --databases sqlite --reuse

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_list import DEFAULT_POSTGRES_URL, Target, prepare, targets_of  # noqa: E402

from clusterbook.api.background import BackgroundServer  # noqa: E402
from clusterbook.settings import Settings  # noqa: E402
from clusterbook.store.db import make_engine  # noqa: E402


def timed(client: httpx.Client, path: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{body}: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


def pair(client: httpx.Client, path: str, name: str, a: dict[str, Any], b: dict[str, Any], repeat: int) -> None:
    """Both sides in turn, ``repeat`` times each after a warm-up: medians and their ratio."""
    timed(client, path, a)
    timed(client, path, b)
    side_a, side_b = [], []
    total_a = total_b = 0
    for _ in range(repeat):
        elapsed, body = timed(client, path, a)
        side_a.append(elapsed)
        total_a = body["total_count"]
        elapsed, body = timed(client, path, b)
        side_b.append(elapsed)
        total_b = body["total_count"]
    ma, mb = statistics.median(side_a), statistics.median(side_b)
    print(f"  {name}")
    print(f"    config.params.n_clusters: median {ma:8.1f} ms  ({total_a:,} runs)")
    print(f"    num_clusters (column)   : median {mb:8.1f} ms  ({total_b:,} runs)   params/column = {ma / mb:.2f}×")


def single(client: httpx.Client, path: str, name: str, body: dict[str, Any], repeat: int) -> None:
    started = time.perf_counter()
    first = client.post(path, json=body)
    if first.status_code != 200:  # e.g. past the read budget: the clear 422 query_timeout is the answer
        elapsed = (time.perf_counter() - started) * 1000
        print(f"  {name:<42} {first.status_code} {first.json().get('code')} after {elapsed:8.1f} ms")
        return
    samples = []
    answer: dict[str, Any] = first.json()
    refused = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.post(path, json=body)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code == 200:
            answer = response.json()
        else:
            refused += 1
    extra = f"{len(answer['groups'])} groups" if answer.get("groups") else ""
    if refused:
        extra += f" ({refused} of {repeat} refused: past the read budget)"
    print(f"  {name:<42} median {statistics.median(samples):8.1f} ms  max {max(samples):8.1f} ms  {extra}")


def document_scan(target: Target, cluster_id: str, repeat: int) -> None:
    """The count a filter on the config document itself costs: every run's JSON parsed."""
    engine = make_engine(target.url)
    if engine.dialect.name == "sqlite":
        sql = (
            "SELECT count(*) FROM executions WHERE cluster_id = :c AND json_extract(config, '$.params.n_clusters') = 5"
        )
    else:
        sql = (
            "SELECT count(*) FROM executions WHERE cluster_id = :c "
            "AND (config::jsonb -> 'params' ->> 'n_clusters') = '5'"
        )
    samples = []
    found = 0
    with engine.connect() as conn:
        for _ in range(max(1, repeat // 3)):
            started = time.perf_counter()
            found = conn.execute(sa.text(sql), {"c": cluster_id}).scalar_one()
            samples.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    print(f"  reference: count by parsing every config document: median {statistics.median(samples):8.1f} ms "
          f"({found:,} runs)")  # fmt: skip


def run(target: Target, args: argparse.Namespace) -> None:
    print(f"\n=== {target.name}: {target.describe}")
    cluster_id = prepare(target, args.executions, 1, args.reuse)
    print(f"  benchmark cluster {cluster_id} holds {target.extra['cluster_rows']:,} executions")
    settings = Settings(database_url=target.url, secret_key="bench-signing-key")
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=300) as client:
        path = f"/v1/clusters/{cluster_id}/executions/list"
        by_param = {"filters": {"config.params.n_clusters": 5}}
        by_column = {"filters": {"num_clusters": 5}}
        pair(client, path, "filter == 5, first page + count", by_param, by_column, args.repeat)
        range_param = {"filters": {"config.params.n_clusters": {"gte": 10}}}
        range_column = {"filters": {"num_clusters": {"gte": 10}}}
        pair(client, path, "filter >= 10, first page + count", range_param, range_column, args.repeat)
        pair(client, path, 'filter == 5, stats_scope "all"', {**by_param, "stats_scope": "all"},
             {**by_column, "stats_scope": "all"}, args.repeat)  # fmt: skip
        document_scan(target, cluster_id, args.repeat)
        for name, body in [
            ('stats_scope "all" (no grouping)', {"stats_scope": "all"}),
            ("group_by status", {"stats_scope": "all", "group_by": "status"}),
            ("group_by algorithm", {"stats_scope": "all", "group_by": "algorithm"}),
            ("group_by config.params.n_clusters", {"stats_scope": "all", "group_by": "config.params.n_clusters"}),
            ("group_by config.embedder, filtered", {"stats_scope": "all", "group_by": "config.embedder",
                                                    "filters": {"config.params.n_clusters": {"gte": 10}}}),
            ("percentiles [50, 95]", {"stats_scope": "all", "percentiles": [50, 95]}),
            ("percentiles [50, 95], status completed", {"stats_scope": "all", "percentiles": [50, 95],
                                                        "filters": {"status": "completed"}}),
        ]:  # fmt: skip
            single(client, path, name, body, args.repeat)
        del server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000, help="rows to seed (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per side (default 9)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument("--postgres-schema", default="bench", help="schema to seed into (dropped unless --reuse)")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database already holds the rows")
    args = parser.parse_args()
    print(f"clusterbook parameter-aware history benchmark: {args.executions:,} executions in one cluster, "
          f"{args.repeat} timed requests per scenario")  # fmt: skip
    for target in targets_of(parser, args):
        run(target, args)


if __name__ == "__main__":
    main()
