"""What webhooks cost: the outbox on a run's terminal transition, and the delivery loop's throughput.

    transition  median ms of one cancel transaction (``store.executions.cancel_execution``, committed)
                with 0, 1 and 100 endpoints subscribed in the namespace, and the ratio to 0: the
                outbox adds one indexed query when nobody listens, and one read of the run plus one
                batched INSERT when somebody does
    delivery    deliveries per second of one ``DeliveryLoop`` (``--concurrency`` sending threads) to a
                local receiver answering 204; then the same with a second endpoint that holds every
                request ``--slow-seconds`` (past the timeout) — the fast endpoint's rate shows what a
                slow one takes from the others (at most the threads it holds)

SQLite in a temporary file by default (``--database-url`` for PostgreSQL: a database of its own, never
one tests use, since its tables are emptied first). The receivers listen on ``--port`` and the next port. Figures are printed, never asserted;
the machine is shared, so compare ratios rather than absolute times.

Usage::

    python benchmarks/bench_webhooks.py
    python benchmarks/bench_webhooks.py --database-url postgresql://postgres@127.0.0.1/bench --events 1000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select

from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.webhooks import WebhookCreate
from clusterbook.runner.webhooks import DeliveryLoop
from clusterbook.settings import Settings
from clusterbook.store.clusters import create_cluster
from clusterbook.store.db import make_engine, make_sessionmaker, migrate
from clusterbook.store.executions import cancel_execution, execution_values, insert_executions
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import clusters, executions, webhook_deliveries, webhooks
from clusterbook.store.webhooks import create_webhook, enqueue_event


def receiver(port: int, hold_seconds: float = 0.0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if hold_seconds:
                time.sleep(hold_seconds)
            try:
                self.send_response(204)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def reset(engine: Engine) -> str:
    with make_sessionmaker(engine)() as session, session.begin():
        session.execute(delete(webhook_deliveries))
        session.execute(delete(webhooks))
        session.execute(delete(executions))
        session.execute(delete(clusters))
        return ensure_namespace(session, name="default").namespace_id


def add_hooks(engine: Engine, namespace_id: str, count: int, url: str, events: list[str]) -> list[str]:
    with make_sessionmaker(engine)() as session, session.begin():
        data = WebhookCreate(url=url, events=events)
        return [create_webhook(session, namespace_id=namespace_id, data=data).webhook_id for _ in range(count)]


def transition_cost(engine: Engine, runs: int) -> dict[int, float]:
    """Median ms per committed cancel with 0, 1 and 100 subscribed endpoints."""
    medians = {}
    factory = make_sessionmaker(engine, writes=True)
    for subscribers in (0, 1, 100):
        namespace_id = reset(engine)
        add_hooks(engine, namespace_id, subscribers, "https://example.com/hook", ["execution.canceled"])
        with factory() as session, session.begin():
            cluster = create_cluster(session, namespace_id=namespace_id, data=ClusterCreate(cluster_name="bench"))
            rows = [
                execution_values(
                    namespace_id=namespace_id, cluster_id=cluster.cluster_id, status="pending", num_points=10
                )
                for _ in range(runs)
            ]
            insert_executions(session, rows)
        times = []
        for row in rows:
            started = time.perf_counter()
            with factory() as session, session.begin():
                cancel_execution(session, cluster_id=cluster.cluster_id, run_id=row["run_id"])
            times.append((time.perf_counter() - started) * 1000.0)
        with factory() as session:
            written = session.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one()
        assert written == runs * subscribers, (written, runs, subscribers)
        medians[subscribers] = statistics.median(times)
    return medians


def delivery_rate(engine: Engine, settings: Settings, events: int, fast_url: str, slow_url: str | None) -> float:
    """Deliveries per second to the fast endpoint (with a held one beside it when ``slow_url``)."""
    namespace_id = reset(engine)
    (fast,) = add_hooks(engine, namespace_id, 1, fast_url, ["monitor.triggered"])
    if slow_url:
        add_hooks(engine, namespace_id, 1, slow_url, ["monitor.triggered"])
    with make_sessionmaker(engine)() as session, session.begin():
        for i in range(events):
            enqueue_event(session, namespace_id=namespace_id, event="monitor.triggered", payload={"n": i})
    done = select(func.count()).where(
        webhook_deliveries.c.webhook_id == fast, webhook_deliveries.c.status == "delivered"
    )
    loop = DeliveryLoop(engine, settings)
    started = time.perf_counter()
    loop.start()
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(done).scalar_one() >= events:
                    break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        loop.stop(timeout=1)
    return events / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--runs", type=int, default=200, help="transitions timed per case")
    parser.add_argument("--events", type=int, default=300, help="deliveries sent per case")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=8126)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        migrate(engine)
        costs = transition_cost(engine, args.runs)
        print(f"transition (median ms per committed cancel, {args.runs} runs, {engine.dialect.name})")
        for subscribers, ms in costs.items():
            print(f"  {subscribers:>3} endpoints  {ms:7.2f} ms   × {ms / costs[0]:.2f}")
        fast = receiver(args.port)
        slow = receiver(args.port + 1, hold_seconds=args.slow_seconds)
        settings = Settings(
            database_url=url,
            webhook_concurrency=args.concurrency,
            webhook_timeout_seconds=max(0.5, args.slow_seconds / 2),
            webhook_poll_seconds=0.05,
            webhook_backoff_seconds=3600,
        )
        try:
            alone = delivery_rate(engine, settings, args.events, f"http://127.0.0.1:{args.port}/", None)
            beside = delivery_rate(
                engine, settings, args.events, f"http://127.0.0.1:{args.port}/", f"http://127.0.0.1:{args.port + 1}/"
            )
        finally:
            fast.shutdown()
            slow.shutdown()
        print(f"delivery ({args.events} events, {args.concurrency} sending threads)")
        print(f"  fast endpoint alone                 {alone:8.1f} deliveries/s")
        print(
            f"  beside one held {args.slow_seconds:g} s per request   {beside:8.1f} deliveries/s   × {beside / alone:.2f}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
