"""Webhook delivery against a real HTTP receiver on localhost, on both databases: a real run's end
arrives signed with the run as the listing shows it; retries on 500 then success; give-up after the
limit; no storm with two delivery loops racing; a held endpoint slows neither runs nor the API; and
at least once across a worker killed mid-send (``clusterbook worker`` subprocesses, kill -9)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import verify_signature
from clusterbook.models.webhooks import WebhookCreate
from clusterbook.runner.webhooks import DeliveryLoop
from clusterbook.settings import Settings
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import webhook_deliveries
from clusterbook.store.webhooks import create_webhook, enqueue_event
from tests.runner.conftest import FAST_RUNNER, create_cluster, execute, ok, upload_collection, wait_for
from tests.webhook_receiver import Receiver, closed_port_url

FAST_DELIVERY = {
    "webhook_backoff_seconds": 0.2,
    "webhook_backoff_max_seconds": 0.5,
    "webhook_poll_seconds": 0.1,
    "webhook_timeout_seconds": 2.0,
    "webhook_max_attempts": 3,
}


def settings_for(db_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=db_url, secret_key="test-signing-key", **{**FAST_RUNNER, **FAST_DELIVERY, **overrides})


def add_hook(factory: sessionmaker[Session], url: str, events: list[str]) -> tuple[str, str]:
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        created = create_webhook(session, namespace_id=ns, data=WebhookCreate(url=url, events=events))
    return created.webhook_id, created.secret


def publish(factory: sessionmaker[Session], payload: dict[str, Any] | None = None) -> None:
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload=payload or {"monitor_id": "mon_1"})


def log_of(factory: sessionmaker[Session], webhook_id: str | None = None) -> list[Any]:
    stmt = select(webhook_deliveries).order_by(webhook_deliveries.c.id)
    if webhook_id is not None:
        stmt = stmt.where(webhook_deliveries.c.webhook_id == webhook_id)
    with factory() as session:
        return list(session.execute(stmt).all())


def wait_until(check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def delivering(engine: Engine, settings: Settings) -> Iterator[DeliveryLoop]:
    loop = DeliveryLoop(engine, settings).start()
    try:
        yield loop
    finally:
        loop.stop()


def vectors(n: int = 12) -> list[dict[str, Any]]:
    return [{"document_id": f"d{i}", "vector": [float(i % 2) * 10 + i * 0.01, 1.0]} for i in range(n)]


@pytest.mark.slow
def test_a_real_run_end_arrives_signed_carrying_the_listed_run(db_url: str) -> None:
    settings = settings_for(db_url)
    with Receiver() as rx, BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url) as api:
        created = ok(api.post("/v1/webhooks", json={"url": rx.url, "events": ["execution.completed"]}), 201)
        upload_collection(api, "points", vectors())
        cluster = create_cluster(
            api, "two", "points", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}}
        )
        run = execute(api, cluster["cluster_id"])
        wait_for(api, cluster["cluster_id"], run["run_id"], until=("completed",))
        (got,) = rx.wait_for(1)
        verify_signature(created["secret"], got.headers["clusterbook-signature"], got.body)
        with pytest.raises(ValueError, match="does not match"):
            verify_signature(created["secret"], got.headers["clusterbook-signature"], got.body + b" ")
        body = got.json()
        listing = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/list", json={}))
        assert body["type"] == got.headers["clusterbook-event"] == "execution.completed"
        assert body["id"] == got.headers["clusterbook-event-id"]
        assert body["data"] == listing["results"][0] and body["data"]["run_id"] == run["run_id"]
        log = wait_until(
            lambda: [
                d
                for d in ok(api.get(f"/v1/webhooks/{created['webhook_id']}/deliveries"))["results"]
                if d["status"] == "delivered"
            ],  # fmt: skip
            what="the delivery log to say delivered",
        )
        assert log[0]["delivery_id"] == got.headers["clusterbook-delivery"]
        assert (log[0]["attempts"], log[0]["response_code"], log[0]["last_error"]) == (1, 200, None)


def test_a_500_is_retried_with_backoff_until_the_endpoint_accepts(db_url: str, engine: Engine,
                                                                   session_factory: sessionmaker[Session]) -> None:  # fmt: skip
    settings = settings_for(db_url, webhook_max_attempts=5)
    with Receiver(statuses=[500, 503]) as rx:
        webhook_id, secret = add_hook(session_factory, rx.url, ["monitor.triggered"])
        publish(session_factory)
        with delivering(engine, settings):
            got = rx.wait_for(3)
            (row,) = wait_until(
                lambda: [r for r in log_of(session_factory) if r.status == "delivered"], what="delivered"
            )
    assert (row.attempts, row.response_code, row.last_error) == (3, 200, None)
    assert len({r.headers["clusterbook-delivery"] for r in got}) == 1
    assert len({r.body for r in got}) == 1  # the same body each time, each attempt signed at its own time
    for attempt in got:
        verify_signature(secret, attempt.headers["clusterbook-signature"], attempt.body)
    assert len(rx.received) == 3


def test_a_delivery_is_given_up_after_the_attempt_limit(db_url: str, engine: Engine,
                                                         session_factory: sessionmaker[Session]) -> None:  # fmt: skip
    settings = settings_for(db_url, webhook_max_attempts=3)
    with Receiver(default=500) as rx:
        refusing, _ = add_hook(session_factory, rx.url, ["monitor.triggered"])
        dead, _ = add_hook(session_factory, closed_port_url(), ["monitor.triggered"])
        publish(session_factory)
        with delivering(engine, settings):
            wait_until(lambda: all(r.status == "failed" for r in log_of(session_factory)), what="both given up")
            time.sleep(1.0)  # several polls and backoffs more: nothing is sent again
        assert len(rx.received) == 3
    (refused,) = log_of(session_factory, refusing)
    assert refused.attempts == 3 and refused.response_code == 500
    assert refused.last_error.startswith("given up after 3 attempts: HTTP 500")
    assert "receiver says no" in refused.last_error
    (unreachable,) = log_of(session_factory, dead)
    assert unreachable.attempts == 3 and unreachable.response_code is None
    assert "ConnectError" in unreachable.last_error


def test_no_storm_one_event_is_one_request_per_endpoint_even_with_two_loops(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    settings = settings_for(db_url)
    with Receiver() as first, Receiver() as second:
        add_hook(session_factory, first.url, ["monitor.triggered"])
        add_hook(session_factory, second.url, ["monitor.triggered", "execution.failed"])
        add_hook(session_factory, first.url, ["execution.failed"])  # not subscribed: sent nothing
        for i in range(10):
            publish(session_factory, {"monitor_id": f"mon_{i}"})
        with delivering(engine, settings), delivering(engine, settings):  # two workers' loops race
            wait_until(lambda: len(log_of(session_factory)) == 20 and all(
                r.status == "delivered" for r in log_of(session_factory)), what="all delivered")  # fmt: skip
            time.sleep(1.0)
        for rx in (first, second):
            assert len(rx.received) == 10
            assert sorted(r.json()["data"]["monitor_id"] for r in rx.received) == sorted(f"mon_{i}" for i in range(10))
            assert len({r.headers["clusterbook-delivery"] for r in rx.received}) == 10
    assert all(r.attempts == 1 for r in log_of(session_factory))


@pytest.mark.slow
def test_a_held_endpoint_slows_neither_runs_nor_the_api(db_url: str) -> None:
    settings = settings_for(db_url, webhook_timeout_seconds=30.0)
    with (
        Receiver(hold=True) as rx,
        BackgroundServer(settings, workers=1) as server,
        httpx.Client(base_url=server.url, timeout=30) as api,
    ):
        created = ok(api.post("/v1/webhooks", json={"url": rx.url, "events": ["execution.completed"]}), 201)
        upload_collection(api, "points", vectors())
        cluster = create_cluster(
            api, "two", "points", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}}
        )
        first = execute(api, cluster["cluster_id"])
        wait_for(api, cluster["cluster_id"], first["run_id"], until=("completed",))
        rx.wait_for(1)  # the endpoint holds the first delivery open
        second = execute(api, cluster["cluster_id"])  # runs still complete, the API still answers
        wait_for(api, cluster["cluster_id"], second["run_id"], until=("completed",))
        log = ok(api.get(f"/v1/webhooks/{created['webhook_id']}/deliveries"))
        assert not rx.released.is_set()
        assert log["total_count"] == 2 and "delivering" in {d["status"] for d in log["results"]}
        rx.release()
        wait_until(
            lambda: all(d["status"] == "delivered"
                        for d in ok(api.get(f"/v1/webhooks/{created['webhook_id']}/deliveries"))["results"]),
            what="both delivered once released",
        )  # fmt: skip


def start_worker(db_url: str, log: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CLUSTERBOOK_DATABASE_URL": db_url,
        "CLUSTERBOOK_WORKERS": "1",
        **{f"CLUSTERBOOK_{k.upper()}": str(v) for k, v in {**FAST_RUNNER, **FAST_DELIVERY}.items()},
    }
    return subprocess.Popen(
        [sys.executable, "-m", "clusterbook.cli", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


@pytest.mark.slow
def test_at_least_once_across_a_worker_killed_mid_send(db_url: str, session_factory: sessionmaker[Session],
                                                       tmp_path: Any) -> None:  # fmt: skip
    with Receiver(hold=True) as rx, open(tmp_path / "worker.log", "wb") as log:
        webhook_id, secret = add_hook(session_factory, rx.url, ["monitor.triggered"])
        publish(session_factory)
        first = start_worker(db_url, log)
        try:
            (sent,) = rx.wait_for(1, timeout=120)  # claimed and sent; the endpoint has not answered yet
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(30)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
        (row,) = log_of(session_factory)
        assert (row.status, row.attempts) == ("delivering", 1)  # the claim outlived its worker
        rx.release()
        second = start_worker(db_url, log)
        try:
            again = rx.wait_for(2, timeout=120)[1]  # once the dead worker's lease lapsed
            (row,) = wait_until(lambda: [r for r in log_of(session_factory) if r.status == "delivered"],
                                what="delivered after the restart")  # fmt: skip
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(60)
    assert again.headers["clusterbook-delivery"] == sent.headers["clusterbook-delivery"] == row.delivery_id
    assert again.headers["clusterbook-event-id"] == sent.headers["clusterbook-event-id"]
    verify_signature(secret, again.headers["clusterbook-signature"], again.body)
    assert (row.attempts, row.response_code) == (2, 200)
    assert len(rx.received) == 2


def test_a_held_endpoint_takes_at_most_half_the_senders(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    settings = settings_for(db_url, webhook_concurrency=2, webhook_timeout_seconds=30.0)
    with Receiver(hold=True) as slow, Receiver() as fast:
        add_hook(session_factory, slow.url, ["monitor.triggered"])
        fast_id, _ = add_hook(session_factory, fast.url, ["monitor.triggered"])
        for i in range(6):
            publish(session_factory, {"monitor_id": f"mon_{i}"})
        with delivering(engine, settings):
            fast.wait_for(6)  # every delivery to the fast endpoint, while the slow one holds its first
            wait_until(lambda: all(r.status == "delivered" for r in log_of(session_factory, fast_id)), what="recorded")
            assert len(slow.received) == 1
            slow.release()
            slow.wait_for(6)
