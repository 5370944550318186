"""Hostile request shapes against a real server: does every one stay within the query budget?

Seeds N executions (default 200,000, one cluster) with the same seeder and targets as
``bench_list.py`` (``--reuse`` keeps an existing file/schema), serves the app with uvicorn on a free
localhost port, and fires the shapes that once bought minutes of server time, several at once:

    100 OR-ed contains on run_name · the same on error_message · sort by algorithm at offset 100,000
    · 16 two-character search terms · 4 two-character terms · {"AND": [{}, …]} × 349k
    · 100 contains with stats_scope "all" · clients that give up after 1 s on the 100-contains shape

while a poller asks ``/healthz`` every 50 ms. Prints, per shape, the worst latency and the answer
(status and code), the p50/max ``/healthz`` latency meanwhile, and how many listing queries still
run a second after clients that gave up left (pool connections held; on PostgreSQL, active backends). The verdict line checks that no shape took
longer than the budget plus a margin; figures are printed, never asserted: this is a benchmark.

Usage::

    python benchmarks/bench_hostile.py --databases sqlite,postgres --reuse
    python benchmarks/bench_hostile.py --executions 50000 --databases sqlite --budget 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from bench_list import DEFAULT_POSTGRES_URL, Target, prepare, targets_of  # noqa: E402

from clusterbook.api.background import BackgroundServer  # noqa: E402
from clusterbook.settings import Settings  # noqa: E402
from clusterbook.store.db import make_engine  # noqa: E402


@dataclass
class Shape:
    name: str
    body: Any
    params: dict[str, Any] = field(default_factory=dict)
    give_up_after: float | None = None
    """Seconds after which the client disconnects (None: waits for the answer)."""


def contains_or(field_name: str) -> dict[str, Any]:
    return {"OR": [{"field": field_name, "operator": "contains", "value": f"zq{i:03d}xw"} for i in range(100)]}


def shapes() -> list[Shape]:
    two_char = [f"{a}{b}" for a, b in zip("abcdefghijklmnop", "ponmlkjihgfedcba", strict=True)]
    return [
        Shape("100 contains on run_name", {"filters": contains_or("run_name")}),
        Shape("100 contains on error_message", {"filters": contains_or("error_message")}),
        Shape("sort algorithm, offset 100000", {"sort": {"field": "algorithm", "direction": "asc"}}, {"offset": 100_000}),
        Shape("16 two-character terms", {"search": " ".join(two_char)}),
        Shape("4 two-character terms", {"search": " ".join(two_char[:4])}),
        Shape("1 indexed + 4 two-character terms", {"search": "memory " + " ".join(two_char[:4])}),
        Shape("AND of 349k empty groups", {"filters": {"AND": [{}] * 349_000}}),
        Shape("100 contains + stats_scope all", {"filters": contains_or("run_name"), "stats_scope": "all"}),
        *(Shape(f"gives up after 1 s (#{i + 1})", {"filters": contains_or("run_name")}, give_up_after=1.0)
          for i in range(4)),
    ]  # fmt: skip


@dataclass
class Outcome:
    shape: Shape
    seconds: list[float] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)


def fire(url: str, path: str, outcome: Outcome) -> None:
    shape = outcome.shape
    content = json.dumps(shape.body, separators=(",", ":"))
    timeout = shape.give_up_after or 120.0
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=url, timeout=timeout) as client:
            response = client.post(
                path, params=shape.params, content=content, headers={"content-type": "application/json"}
            )
        code = response.json().get("code", "") if response.status_code >= 400 else ""
        outcome.answers.append(f"{response.status_code} {code}".strip())
    except httpx.TimeoutException:
        outcome.answers.append("gave up")
    outcome.seconds.append(time.perf_counter() - started)


def poll_health(url: str, stop: threading.Event, samples: list[float]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            samples.append(time.perf_counter() - started)
            stop.wait(0.05)


def still_running(target: Target, server: BackgroundServer) -> int:
    """Listing queries still running: connections the app holds and, on PostgreSQL, active backends."""
    busy = server.engine.pool.checkedout()
    if target.name != "postgres":
        return int(busy)
    engine = make_engine(target.url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND pid <> pg_backend_pid() AND query ILIKE '%FROM executions%'"
            )
        ).scalar_one()
    engine.dispose()
    return int(found) + int(busy)


def run(target: Target, args: argparse.Namespace) -> bool:
    print(f"\n=== {target.name}: {target.describe}")
    cluster_id = prepare(target, args.executions, 1, args.reuse)
    print(f"  benchmark cluster {cluster_id} holds {target.extra['cluster_rows']:,} executions")
    settings = Settings(
        database_url=target.url,
        secret_key="bench-signing-key",
        query_timeout=args.budget,
        max_body_bytes=2 * 1024 * 1024,  # let the 349k empty groups in: the filter bound must refuse them
    )
    path = f"/v1/clusters/{cluster_id}/executions/list"
    outcomes = [Outcome(shape) for shape in shapes()]
    health: list[float] = []
    leftover = 0
    with BackgroundServer(settings) as server:
        httpx.post(server.url + path, json={}, timeout=60).raise_for_status()  # warm up
        stop = threading.Event()
        poller = threading.Thread(target=poll_health, args=(server.url, stop, health))
        poller.start()
        for _ in range(args.rounds):
            threads = [threading.Thread(target=fire, args=(server.url, path, o)) for o in outcomes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        stop.set()
        poller.join()
        # Then the impatient clients alone: once they have left, nothing of theirs may still run.
        impatient = [o for o in outcomes if o.shape.give_up_after is not None]
        threads = [threading.Thread(target=fire, args=(server.url, path, o)) for o in impatient]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(args.settle)
        leftover = still_running(target, server)
    # What a request refused before any query costs at the same moment (parsing, queueing on a busy
    # machine) is latency the budget does not cover: the limit allows it beside the margin.
    refused = [
        max(o.seconds) for o in outcomes if any(a.startswith("4") and "query_timeout" not in a for a in o.answers)
    ]
    baseline = max(refused, default=0.0)
    limit = args.budget + max(args.margin, baseline)
    width = max(len(o.shape.name) for o in outcomes) + 2
    print(f"\n  {'shape':<{width}} {'worst s':>8}  answers")
    print("  " + "-" * (width + 40))
    over = []
    for o in outcomes:
        worst = max(o.seconds)
        flag = "" if worst <= limit else "  OVER BUDGET"
        if flag:
            over.append(o.shape.name)
        print(f"  {o.shape.name:<{width}} {worst:>8.2f}  {', '.join(sorted(set(o.answers)))}{flag}")
    print(
        f"\n  /healthz while they ran: p50 {statistics.median(health) * 1000:.1f} ms, "
        f"max {max(health) * 1000:.1f} ms over {len(health)} requests"
    )
    print(f"  listing queries still running {args.settle:.1f} s after the impatient clients left: {leftover}")
    if leftover:
        over.append("queries left running")
    verdict = "OK" if not over else f"FAILED ({', '.join(over)})"
    print(
        f"  limit {limit:.2f} s = budget {args.budget:g} s + max(margin {args.margin:g} s, slowest refused-at-once "
        f"request {baseline:.2f} s): {verdict}"
    )
    return not over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=200_000, help="rows to seed (default 200,000)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument("--postgres-schema", default="bench_hostile", help="schema to seed into")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database already holds the rows")
    parser.add_argument("--budget", type=float, default=5.0, help="CLUSTERBOOK_QUERY_TIMEOUT of the server (s)")
    parser.add_argument("--margin", type=float, default=1.0, help="latency allowed beyond the budget, at least (s)")
    parser.add_argument("--rounds", type=int, default=2, help="times every shape is fired (all at once)")
    parser.add_argument("--settle", type=float, default=1.0, help="wait after the early clients leave (s)")
    args = parser.parse_args()
    targets = targets_of(parser, args)
    print(
        f"clusterbook hostile-request benchmark: {args.executions:,} executions, budget {args.budget:g} s, "
        f"{args.rounds} round(s) of {len(shapes())} requests at once"
    )
    ok = True
    for target in targets:
        ok = run(target, args) and ok
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
