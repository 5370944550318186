"""Latency of the execution-history listing at scale, through the real app over real HTTP.

Seeds N executions (default 1,000,000, all in ONE cluster: the hard case) into SQLite and/or
PostgreSQL with ``clusterbook.store.seed.seed``, serves the app with uvicorn on a free localhost
port, and prints p50/p95 latency of the listing scenarios the history UI leans on:

    default first page · status+silhouette filter sorted by silhouette · page 1000 by offset
    · page 1000 by cursor · a common and a rare search term · stats_scope "all"
    · status-filtered page · stats_scope "all" filtered by status / created_at range / algorithm
    · trends per hour/day/week (whole history) and over a range · the overview of 100 clusters

With ``--sizes 10000,1000000`` it seeds one database per size (reused with ``--reuse``), serves them
side by side and interleaves their requests (one to each size in turn), then prints each scenario's
p50 at every size beside its goal and the largest ÷ smallest ratio (goal ≤ 1.5×; ≤ 3× for metric
filters and search).

Usage::

    python benchmarks/bench_list.py                                  # 1M rows, both databases
    python benchmarks/bench_list.py --executions 100000 --databases sqlite
    python benchmarks/bench_list.py --reuse --explain                # re-measure, print query plans
    python benchmarks/bench_list.py --sizes 10000,1000000 --reuse    # goals and the growth ratio

Timing figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import Engine, event

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, normalise_url
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.seed import ensure_clusters, seed
from clusterbook.store.tables import clusters, executions

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
NAMESPACE = "default"
PAGE_SIZE = 10
DEEP_PAGE = 1000


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (with its parameters) the engine runs inside the block."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


# ---------------------------------------------------------------- databases


@dataclass
class Target:
    name: str
    url: str
    describe: str
    size: Callable[[Engine], int]
    reset: Callable[[], None]
    ensure: Callable[[], None] = lambda: None
    """Make the (possibly reused) target exist without dropping anything in it."""
    seed_seconds: float | None = None
    seeded_rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def sqlite_target(path: Path) -> Target:
    def reset() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def size(_engine: Engine) -> int:
        return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())

    return Target("sqlite", f"sqlite:///{path}", f"SQLite file {path}", size, reset)


def postgres_target(base_url: str, schema: str) -> Target:
    base_url = normalise_url(base_url)
    sep = "&" if "?" in base_url else "?"
    url = f"{base_url}{sep}options=-csearch_path%3D{schema},public"

    def schema_statements(*statements: str) -> None:
        admin = make_engine(base_url)
        with admin.begin() as conn:
            # pg_trgm lives in public so every schema (and the migration's IF NOT EXISTS) finds it.
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
            for statement in statements:
                conn.execute(sa.text(statement))
        admin.dispose()

    def reset() -> None:
        schema_statements(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"')

    def ensure() -> None:
        # Without its schema, the migration would find the search path's next one (public) and build there.
        schema_statements(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    def size(engine: Engine) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relkind = 'r'"
                    ),
                    {"s": schema},
                ).scalar_one()
            )

    return Target("postgres", url, f"PostgreSQL schema {schema!r} at {base_url}", size, reset, ensure)


def targets_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[Target]:
    """The databases named by ``--databases`` (sqlite, postgres), in that order, from the common options
    ``--sqlite-path``, ``--postgres-url``, ``--postgres-schema`` and ``--executions``."""
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(wanted) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown database(s) {sorted(unknown)}; accepted: sqlite, postgres")
    sqlite_path = args.sqlite_path or Path(tempfile.gettempdir()) / f"clusterbook-bench-{args.executions}.db"
    return [
        sqlite_target(sqlite_path) if name == "sqlite" else postgres_target(args.postgres_url, args.postgres_schema)
        for name in wanted
    ]


def prepare(target: Target, executions_count: int, clusters_count: int, reuse: bool) -> str:
    """Seed (unless reusing a database that already holds the rows); return the biggest cluster's id."""
    if reuse:
        target.ensure()
    else:
        target.reset()
    engine = make_engine(target.url)
    migrate(engine)
    with engine.connect() as conn:
        existing = conn.execute(sa.select(sa.func.count()).select_from(executions)).scalar_one()
    if reuse and existing >= executions_count:
        print(f"  reusing {existing:,} existing executions (no seeding)")
    else:
        if existing:
            print(f"  database holds {existing:,} executions, fewer than asked: reseeding from scratch")
            engine.dispose()
            target.reset()
            engine = make_engine(target.url)
            migrate(engine)
        done = [0]
        last = [time.perf_counter()]

        def progress(n: int) -> None:
            done[0] += n
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                print(f"    … {done[0]:,} rows", flush=True)

        report = seed(
            engine,
            executions_count=executions_count,
            clusters_count=clusters_count,
            namespace=NAMESPACE,
            progress=progress,
        )
        target.seed_seconds = report.seconds
        target.seeded_rows = report.executions
        print(
            f"  seeded {report.executions:,} executions over {clusters_count} cluster(s) in {report.seconds:.1f} s "
            f"({report.executions / report.seconds:,.0f} rows/s)"
        )
    with engine.connect() as conn:
        cluster_id = conn.execute(
            sa.select(executions.c.cluster_id)
            .join(clusters, clusters.c.cluster_id == executions.c.cluster_id)
            .group_by(executions.c.cluster_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).scalar_one()
        in_cluster = conn.execute(
            sa.select(sa.func.count()).select_from(executions).where(executions.c.cluster_id == cluster_id)
        ).scalar_one()
    target.extra["cluster_rows"] = in_cluster
    with make_sessionmaker(engine, writes=True)() as session, session.begin():  # the overview's 100 clusters
        ns = ensure_namespace(session, name=NAMESPACE)
        others = [c.cluster_id for c in ensure_clusters(session, ns.namespace_id, 100) if c.cluster_id != cluster_id]
    target.extra["overview_ids"] = [str(cluster_id), *others[:99]]
    target.extra["db_bytes"] = target.size(engine)
    engine.dispose()
    return str(cluster_id)


# ---------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    name: str
    body: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    setup: Callable[[Scenario], None] | None = None
    """Runs once, untimed, before the scenario is measured (e.g. walking to a cursor)."""
    path: str | None = None
    """Another endpoint than the listing (``{cluster}`` is the benchmark cluster's id)."""
    goal_ms: float | None = None


@dataclass
class Result:
    name: str
    p50: float
    p95: float
    best: float
    total: int
    returned: int
    sql_p50: float = 0.0
    """The same request's listing statements (those reading ``executions``), run raw on the driver."""

    @property
    def fixed(self) -> float:
        """What the request costs beyond its SQL: HTTP p50 − raw SQL p50."""
        return self.p50 - self.sql_p50


METRIC_FILTER: dict[str, Any] = {
    "filters": {"field": "metrics.silhouette_score", "operator": ">", "value": 0.5},
    "sort": {"field": "metrics.silhouette_score", "direction": "desc"},
}


SILHOUETTE_FILTER: dict[str, Any] = {
    "filters": {
        "operator": "AND",
        "conditions": [
            {"field": "status", "operator": "==", "value": "completed"},
            {"field": "metrics.silhouette_score", "operator": ">", "value": 0.5},
        ],
    },
    "sort": {"field": "metrics.silhouette_score", "direction": "desc"},
}


def scenarios(client: httpx.Client, path: str, walk: bool) -> list[Scenario]:
    first = client.post(path, json={}).raise_for_status().json()
    if not first["results"]:
        raise SystemExit("the benchmark cluster has no executions")
    # A rare term: part of one specific run id (matches that run alone, or almost).
    rare = first["results"][min(4, len(first["results"]) - 1)]["run_id"].removeprefix("run_")[:10].lower()

    def walk_to_deep_page(scenario: Scenario) -> None:
        # Page N-1 by number hands out the same signed cursor for page N that walking N-1 pages by
        # cursor would (same query fingerprint, same last row), in one request instead of N-1.
        if walk:  # the literal way: N-1 requests, each following the previous next_cursor
            cursor = None
            for _ in range(DEEP_PAGE - 1):
                params = {"page_size": PAGE_SIZE} if cursor is None else {"cursor": cursor}
                cursor = (
                    client.post(path, params=params, json={}).raise_for_status().json()["pagination"]["next_cursor"]
                )
                if cursor is None:
                    break
        else:
            before = client.post(path, params={"page": DEEP_PAGE - 1}, json={}).raise_for_status().json()
            cursor = before["pagination"]["next_cursor"]
        if cursor is None:
            raise SystemExit(f"fewer than {DEEP_PAGE} pages: seed more executions")
        by_cursor = client.post(path, params={"cursor": cursor}, json={}).raise_for_status().json()
        by_page = client.post(path, params={"page": DEEP_PAGE}, json={}).raise_for_status().json()
        if [r["run_id"] for r in by_cursor["results"]] != [r["run_id"] for r in by_page["results"]]:
            raise SystemExit(f"page {DEEP_PAGE} by cursor differs from page {DEEP_PAGE} by number")
        scenario.params = {"cursor": cursor}

    return [
        Scenario("default first page", {}),
        Scenario("completed & silhouette>0.5, by silhouette desc", SILHOUETTE_FILTER),
        Scenario("silhouette>0.5, by silhouette desc", METRIC_FILTER),
        Scenario(f"page {DEEP_PAGE} by offset (?page={DEEP_PAGE})", {}, {"page": DEEP_PAGE}),
        Scenario(f"page {DEEP_PAGE} by cursor", {}, setup=walk_to_deep_page),
        Scenario('search common term "refund"', {"search": "refund"}),
        Scenario(f'search rare term "{rare}"', {"search": rare}),
        Scenario('stats_scope "all"', {"stats_scope": "all"}),
        *rollup_scenarios(client, path),
    ]


GOALS = {
    "default first page": 10, "status=failed page": 10, f"page {DEEP_PAGE} by cursor": 10,
    "completed & silhouette>0.5, by silhouette desc": 30, "silhouette>0.5, by silhouette desc": 30, 'search common term "refund"': 150, 'stats_scope "all"': 15,
}  # fmt: skip
"""The issue's goals (HTTP p50 ms at 1M runs in one cluster) by scenario name; see ``goal_of``."""


def goal_of(scenario: Scenario) -> float | None:
    if scenario.goal_ms is not None:
        return scenario.goal_ms
    return GOALS.get(scenario.name.split(" (")[0])


def rollup_scenarios(client: httpx.Client, path: str) -> list[Scenario]:
    """The requests the rollups serve: totals, stats over the whole set, trends, the overview."""
    newest = client.post(path, json={}).raise_for_status().json()["results"][0]["created_at"]
    end = datetime.fromisoformat(newest)
    start = (end - timedelta(days=30)).replace(minute=17, second=3)  # ragged: exact edges + rollup hours
    in_range = {
        "operator": "AND",
        "conditions": [
            {"field": "created_at", "operator": ">=", "value": start.isoformat()},
            {"field": "created_at", "operator": "<", "value": (end - timedelta(hours=5, minutes=41)).isoformat()},
        ],
    }
    trends = "/v1/clusters/{cluster}/executions/trends"
    return [
        Scenario("status=failed page", {"filters": {"status": "failed"}}),
        Scenario("stats all, status=failed", {"stats_scope": "all", "filters": {"status": "failed"}}, goal_ms=15),
        Scenario("stats all, created_at 30-day range", {"stats_scope": "all", "filters": in_range}, goal_ms=15),
        Scenario("stats all, algorithm=kmeans", {"stats_scope": "all", "filters": {"algorithm": "kmeans"}}, goal_ms=15),
        Scenario("trends per hour, last 30 days", {"bucket": "hour", "filters": in_range}, path=trends, goal_ms=50),
        Scenario("trends per day, whole history", {"bucket": "day"}, path=trends, goal_ms=50),
        Scenario("trends per week, whole history", {"bucket": "week"}, path=trends, goal_ms=50),
        Scenario("trends per day, 30-day range", {"bucket": "day", "filters": in_range}, path=trends, goal_ms=50),
        Scenario("overview of 100 clusters", {}, path="overview", goal_ms=20),
    ]


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def listing_statements(server: BackgroundServer, client: httpx.Client, path: str, scenario: Scenario) -> list[Any]:
    """The statements of one request that read the history (not the key/namespace/cluster lookups,
    nor PostgreSQL's budget ``set_config``), with their driver parameters."""
    with captured_sql(server.engine) as statements:
        client.post(path, params=scenario.params, json=scenario.body).raise_for_status()
    return [(sql, params) for sql, params in statements if "executions" in sql and "set_config" not in sql]


def run_raw(server: BackgroundServer, statements: list[Any]) -> float:
    """Milliseconds to run the statements on a bare driver connection, fetching every row."""
    raw = server.engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        raw.rollback()
        return elapsed
    finally:
        raw.close()


def measure_with_sql(
    server: BackgroundServer, client: httpx.Client, path: str, scenario: Scenario, repeat: int
) -> Result:
    if scenario.setup:
        scenario.setup(scenario)
    for _ in range(2):  # warm caches and the connection pool
        client.post(path, params=scenario.params, json=scenario.body).raise_for_status()
    statements = listing_statements(server, client, path, scenario)
    samples, raw_samples = [], []
    body: dict[str, Any] = {}
    for _ in range(repeat):  # interleaved: one request, then its SQL raw
        started = time.perf_counter()
        response = client.post(path, params=scenario.params, json=scenario.body)
        elapsed = (time.perf_counter() - started) * 1000
        body = response.raise_for_status().json()
        samples.append(elapsed)
        raw_samples.append(run_raw(server, statements))
    return Result(
        scenario.name,
        percentile(samples, 50),
        percentile(samples, 95),
        min(samples),
        int(body["total_count"]),
        len(body["results"]),
        percentile(raw_samples, 50),
    )


def request_of(scenario: Scenario, path: str, target: Target) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(path, params, body) of one request of the scenario against this target."""
    if scenario.path == "overview":
        return "/v1/clusters/overview", {}, {"cluster_ids": target.extra["overview_ids"]}
    if scenario.path:
        return scenario.path.format(cluster=target.extra["cluster_id"]), scenario.params, scenario.body
    return path, scenario.params, scenario.body


def _total(body: dict[str, Any]) -> int:
    if "total_count" in body:
        return int(body["total_count"])
    return sum(int(c["run_count"]) for c in body.get("results", body.get("clusters", [])))


def measure(client: httpx.Client, path: str, scenario: Scenario, repeat: int, target: Target | None = None) -> Result:
    return measure_interleaved([(client, path, target, scenario)], repeat)[0]


def measure_interleaved(
    sides: list[tuple[httpx.Client, str, Target | None, Scenario]],
    repeat: int,
    servers: list[BackgroundServer] | None = None,
) -> list[Result]:
    """One scenario against every side (each with its own copy of it: cursors and run ids differ),
    one request to each in turn, so machine noise hits all sides alike. With ``servers`` (one per
    side), each request is followed by its history statements run raw on the driver (``sql_p50``)."""
    requests = []
    statements: list[list[Any]] = []
    for i, (client, path, target, scenario) in enumerate(sides):
        if scenario.setup:
            scenario.setup(scenario)
        where, params, body = request_of(scenario, path, target) if target else (path, scenario.params, scenario.body)
        requests.append((client, where, dict(params), body))
        for _ in range(2):  # warm caches and the connection pool
            client.post(where, params=params, json=body).raise_for_status()
        if servers is not None:
            with captured_sql(servers[i].engine) as seen:
                client.post(where, params=params, json=body).raise_for_status()
            statements.append(
                [(q, p) for q, p in seen if ("executions" in q or "execution_rollups" in q) and "set_config" not in q]
            )
    samples: list[list[float]] = [[] for _ in sides]
    raw: list[list[float]] = [[] for _ in sides]
    last: list[dict[str, Any]] = [{} for _ in sides]
    for _ in range(repeat):
        for i, (client, where, params, body) in enumerate(requests):
            started = time.perf_counter()
            response = client.post(where, params=params, json=body)
            samples[i].append((time.perf_counter() - started) * 1000)
            last[i] = response.raise_for_status().json()
            if servers is not None:
                raw[i].append(run_raw(servers[i], statements[i]))
    return [
        Result(side[3].name, percentile(s, 50), percentile(s, 95), min(s), _total(b),
               len(b.get("results", b.get("buckets", []))), percentile(r, 50) if r else 0.0)
        for side, s, r, b in zip(sides, samples, raw, last, strict=True)
    ]  # fmt: skip


def explain(server: BackgroundServer, client: httpx.Client, path: str, scenario: Scenario) -> None:
    """Print the plan of every listing statement one request of this scenario runs."""
    with captured_sql(server.engine) as statements:
        client.post(path, params=scenario.params, json=scenario.body).raise_for_status()
    sqlite = server.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
    print(f"\n  --- plans: {scenario.name}")
    with server.engine.connect() as conn:
        for statement, parameters in statements:
            if "FROM executions" not in statement:
                continue
            print("  SQL: " + " ".join(statement.split())[:400])
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
            for row in rows:
                print("    " + (f"{row[1]:>3} {row[3]}" if sqlite else str(row[0])))


# ---------------------------------------------------------------- report


def print_table(target: Target, results: list[Result]) -> None:
    base = results[0].p50
    width = max(len(r.name) for r in results) + 2
    print(
        f"\n  {'scenario':<{width}} {'p50 ms':>9} {'p95 ms':>9} {'min ms':>9} {'SQL p50':>9} {'fixed':>7} "
        f"{'x first':>8} {'total':>10} {'rows':>5}"
    )
    print("  " + "-" * (width + 74))
    for r in results:
        print(
            f"  {r.name:<{width}} {r.p50:>9.1f} {r.p95:>9.1f} {r.best:>9.1f} {r.sql_p50:>9.1f} {r.fixed:>7.1f} "
            f"{r.p50 / base:>8.1f} {r.total:>10,} {r.returned:>5}"
        )
    with_sql = [r for r in results if r.sql_p50]
    if with_sql:
        fixed = sorted(r.fixed for r in with_sql)
        print(
            f"  {'fixed cost (HTTP p50 - raw SQL p50), median over listing scenarios':<{width}} "
            f"{fixed[len(fixed) // 2]:>9.1f} ms   (goal <= 3 ms; first page {with_sql[0].fixed:.1f} ms)"
        )
    by_name = {r.name.split(" (")[0]: r for r in results}
    offset, cursor = by_name.get(f"page {DEEP_PAGE} by offset"), by_name.get(f"page {DEEP_PAGE} by cursor")
    if offset and cursor:
        print(
            f"\n  page {DEEP_PAGE}: cursor p50 {cursor.p50:.1f} ms vs offset p50 {offset.p50:.1f} ms "
            f"→ offset/cursor = {offset.p50 / cursor.p50:.1f}×"
        )
    stats = next((r for r in results if r.name.startswith("stats_scope")), None)
    if stats:
        print(f"  stats_scope all vs default first page: {stats.p50 / base:.1f}×")
    print(f"  database size: {target.extra['db_bytes'] / 2**20:,.0f} MiB ({target.describe})")


def run(target: Target, args: argparse.Namespace) -> None:
    print(f"\n=== {target.name}: {target.describe}")
    cluster_id = prepare(target, args.executions, args.clusters, args.reuse)
    target.extra["cluster_id"] = cluster_id
    print(f"  benchmark cluster {cluster_id} holds {target.extra['cluster_rows']:,} executions")
    settings = Settings(database_url=target.url, secret_key="bench-signing-key")
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=300) as client:
        path = f"/v1/clusters/{cluster_id}/executions/list"
        results = []
        for scenario in scenarios(client, path, args.walk):
            if scenario.path is None:  # a listing request: its SQL raw beside it
                result = measure_with_sql(server, client, path, scenario, args.repeat)
            else:
                result = measure(client, path, scenario, args.repeat, target)
            print(
                f"  {result.name}: p50 {result.p50:.1f} ms, p95 {result.p95:.1f} ms, raw SQL p50 "
                f"{result.sql_p50:.1f} ms, fixed {result.fixed:.1f} ms",
                flush=True,
            )
            results.append(result)
            if args.explain and scenario.path is None:
                explain(server, client, path, scenario)
    print_table(target, results)


def run_sizes(name: str, sized: list[tuple[int, Target]], args: argparse.Namespace) -> None:
    """Every scenario at every size, interleaved; p50 per size, the goal, largest ÷ smallest."""
    print(f"\n=== {name}: sizes {', '.join(f'{n:,}' for n, _ in sized)} (interleaved requests)")
    for size, target in sized:
        target.extra["cluster_id"] = prepare(target, size, args.clusters, args.reuse)
        print(f"  {size:,}: {target.describe}, benchmark cluster holds {target.extra['cluster_rows']:,}")
    with contextlib.ExitStack() as stack:
        sides = []
        servers: list[BackgroundServer] = []
        for _, target in sized:
            settings = Settings(database_url=target.url, secret_key="bench-signing-key")
            server = stack.enter_context(BackgroundServer(settings))
            client = stack.enter_context(httpx.Client(base_url=server.url, timeout=300))
            servers.append(server)
            sides.append((client, f"/v1/clusters/{target.extra['cluster_id']}/executions/list", target))
        rows = []
        per_side = [scenarios(client, path, args.walk) for client, path, _ in sides]
        for copies in zip(*per_side, strict=True):
            scenario = copies[0]  # each side's copy walks to its own deep cursor (its own run ids)
            try:
                results = measure_interleaved(
                    [(c, p, t, s) for (c, p, t), s in zip(sides, copies, strict=True)], args.repeat, servers
                )
            except httpx.HTTPStatusError as exc:  # e.g. a query_timeout on a loaded machine: say so, go on
                print(f"  {scenario.name}: HTTP {exc.response.status_code} {exc.response.text[:200]}", flush=True)
                continue
            rows.append((scenario, results))
            figures = ", ".join(f"{n:,}: {r.p50:.1f} ms" for (n, _), r in zip(sized, results, strict=True))
            print(f"  {scenario.name}: {figures}", flush=True)
    width = max(len(s.name) for s, _ in rows) + 2
    heads = "".join(f"{f'p50 @{n:,}':>14}" for n, _ in sized)
    sql_heads = "".join(f"{f'SQL @{n:,}':>14}" for n, _ in sized)
    print(
        f"\n  {'scenario':<{width}} {'goal ms':>8}{heads} {'ratio':>7}{sql_heads} {'SQL ratio':>9} {'total @max':>11}"
    )
    print("  " + "-" * (width + 38 + 28 * len(sized)))
    for scenario, results in rows:
        goal = goal_of(scenario)
        cells = "".join(f"{r.p50:>14.1f}" for r in results)
        sql_cells = "".join(f"{r.sql_p50:>14.2f}" for r in results)
        ratio = results[-1].p50 / results[0].p50 if results[0].p50 else float("nan")
        sql_ratio = results[-1].sql_p50 / results[0].sql_p50 if results[0].sql_p50 else float("nan")
        goal_text = f"≤{goal:g}" if goal is not None else "—"
        print(
            f"  {scenario.name:<{width}} {goal_text:>8}{cells} {ratio:>6.2f}×{sql_cells} {sql_ratio:>8.2f}× "
            f"{results[-1].total:>11,}"
        )
    print("  (SQL: the request's statements reading the history, run raw on the driver, p50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000, help="rows to seed (default 1,000,000)")
    parser.add_argument("--clusters", type=int, default=1, help="spread them over this many clusters (default 1)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per scenario (default 30)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument("--postgres-schema", default="bench", help="schema to seed into (dropped unless --reuse)")
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database already holds the rows")
    parser.add_argument(
        "--walk", action="store_true", help=f"reach page {DEEP_PAGE}'s cursor by walking every page (slow at 1M)"
    )
    parser.add_argument(
        "--sizes", default=None, help="comma-separated history sizes, e.g. 10000,1000000: goals + ratio"
    )
    parser.add_argument("--explain", action="store_true", help="print the query plan of every scenario's SQL")
    args = parser.parse_args()

    if args.sizes:
        sizes = sorted(int(n) for n in args.sizes.split(","))
        for name in [n.strip() for n in args.databases.split(",") if n.strip()]:
            sized = []
            for size in sizes:
                if name == "sqlite":
                    default = Path(tempfile.gettempdir()) / f"clusterbook-bench-{size}.db"
                    path = (
                        default
                        if args.sqlite_path is None
                        else args.sqlite_path.with_name(f"{args.sqlite_path.stem}-{size}.db")
                    )
                    sized.append((size, sqlite_target(path)))
                else:
                    sized.append((size, postgres_target(args.postgres_url, f"{args.postgres_schema}_{size}")))
            run_sizes(name, sized, args)
        return
    targets = targets_of(parser, args)
    print(
        f"clusterbook listing benchmark: {args.executions:,} executions over {args.clusters} cluster(s), "
        f"{args.repeat} timed requests per scenario, page size {PAGE_SIZE}, {os.cpu_count()} CPUs"
    )
    for target in targets:
        run(target, args)


if __name__ == "__main__":
    main()
