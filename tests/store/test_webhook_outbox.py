"""The webhook outbox on both databases: each terminal transition of a run writes one delivery per
subscribed active endpoint, in the transition's own transaction, with the run as the listing returns
it; transitions that do not land write nothing; claims are exclusive; retries back off and give up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.webhooks import WebhookCreate
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.deliveries import backoff_seconds, claim_deliveries, record_delivered, record_failure
from clusterbook.store.executions import cancel_execution, list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.queue import RunOutcome, claim_next_execution, complete_execution, fail_execution
from clusterbook.store.tables import executions, webhook_deliveries
from clusterbook.store.webhooks import create_webhook, enqueue_event
from tests.factories import make_cluster, make_runs

ALL_RUN_EVENTS = ["execution.completed", "execution.failed", "execution.canceled"]


def hook(factory: sessionmaker[Session], events: list[str], namespace: str = "default", **fields: Any) -> str:
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name=namespace)
        data = WebhookCreate(url="https://example.com/hook", events=events, **fields)
        return create_webhook(session, namespace_id=ns.namespace_id, data=data).webhook_id


def deliveries(factory: sessionmaker[Session]) -> list[Any]:
    with factory() as session:
        return list(session.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id)).all())


def pending_run(factory: sessionmaker[Session]) -> tuple[Any, str]:
    cluster = make_cluster(factory)
    (run_id,) = make_runs(factory, cluster, [{"status": "pending", "num_points": 4, "num_clusters": 0}])
    return cluster, run_id


def claim(factory: sessionmaker[Session]) -> Any:
    with make_sessionmaker(factory.kw["bind"], writes=True)() as session, session.begin():
        found = claim_next_execution(session, worker_id="test", lease_seconds=30)
    assert found is not None
    return found


def outcome() -> RunOutcome:
    centroids = [{"cluster_id": "cl_0", "num_members": 4, "label": "alpha", "keywords": ["a"]}]
    return RunOutcome(2, 4, {"silhouette_score": 0.5}, centroids, [], {"algorithm": "kmeans"}, {})


def listed(factory: sessionmaker[Session], cluster_id: str, run_id: str) -> dict[str, Any]:
    """The run exactly as the history listing returns it."""
    with factory() as session:
        page = list_executions(
            session, cluster_id=cluster_id, query=ListQuery(None, None, (), None), page=PageRequest(1, 100, 0)
        )
    (row,) = [r for r in page.results if r.run_id == run_id]
    return row.model_dump(mode="json", by_alias=True)


def test_completion_publishes_the_listed_run_to_each_subscriber_once(session_factory: sessionmaker[Session]) -> None:
    cluster, run_id = pending_run(session_factory)
    first = hook(session_factory, ["execution.completed"])
    second = hook(session_factory, ALL_RUN_EVENTS)
    hook(session_factory, ["execution.failed"])  # not subscribed to completions
    hook(session_factory, ["execution.completed"], active=False)  # inactive: sent nothing new
    hook(session_factory, ["execution.completed"], namespace="other")  # another namespace
    held = claim(session_factory)
    with session_factory() as session, session.begin():
        assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
    rows = deliveries(session_factory)
    assert sorted(r.webhook_id for r in rows) == sorted([first, second])
    assert {r.event for r in rows} == {"execution.completed"}
    assert len({r.event_id for r in rows}) == 1  # one event, one id for every endpoint
    body = rows[0].payload
    assert body["type"] == "execution.completed" and body["id"] == rows[0].event_id
    assert body["data"] == listed(session_factory, cluster.cluster_id, run_id)
    assert body["data"]["status"] == "completed" and body["data"]["centroids"][0]["label"] == "alpha"


def test_failure_and_cancel_publish_their_events(session_factory: sessionmaker[Session]) -> None:
    cluster, failing = pending_run(session_factory)
    (waiting,) = make_runs(session_factory, cluster, [{"status": "pending", "num_points": 4, "num_clusters": 0}])
    hook(session_factory, ALL_RUN_EVENTS)
    held = claim(session_factory)
    assert held.run_id == failing
    with session_factory() as session, session.begin():
        assert fail_execution(session, run_id=failing, token=held.token, message="too few documents")
    with session_factory() as session, session.begin():
        assert cancel_execution(session, cluster_id=cluster.cluster_id, run_id=waiting) is not None
    with session_factory() as session, session.begin():  # canceling again changes nothing, announces nothing
        assert cancel_execution(session, cluster_id=cluster.cluster_id, run_id=waiting) is not None
    rows = deliveries(session_factory)
    assert [(r.event, r.payload["data"]["run_id"]) for r in rows] == [
        ("execution.failed", failing),
        ("execution.canceled", waiting),
    ]
    assert rows[0].payload["data"]["error_message"] == "too few documents"


def test_a_transition_that_does_not_land_or_rolls_back_announces_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    _, run_id = pending_run(session_factory)
    hook(session_factory, ALL_RUN_EVENTS)
    held = claim(session_factory)
    with session_factory() as session, session.begin():  # another attempt's token: not ours, nothing written
        assert not complete_execution(session, run_id=run_id, token="f" * 32, outcome=outcome())
    with pytest.raises(RuntimeError), session_factory() as session, session.begin():
        assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
        raise RuntimeError("the transaction fails after the transition")
    assert deliveries(session_factory) == []
    with session_factory() as session, session.begin():
        assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
    assert len(deliveries(session_factory)) == 1


def test_enqueue_event_refuses_an_undeclared_event(session_factory: sessionmaker[Session]) -> None:
    hook(session_factory, ["monitor.triggered"])
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        with pytest.raises(ValueError, match="declared events"):
            enqueue_event(session, namespace_id=ns, event="monitor.fired", payload={})
        assert enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"monitor_id": "m"}) == 1


def _queue_one(factory: sessionmaker[Session]) -> None:
    hook(factory, ["monitor.triggered"])
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"x": 1})


def test_a_claim_is_exclusive_until_its_lease_lapses(session_factory: sessionmaker[Session]) -> None:
    _queue_one(session_factory)
    writes = make_sessionmaker(session_factory.kw["bind"], writes=True)
    with writes() as session, session.begin():
        (first,) = claim_deliveries(session, limit=10, lease_seconds=30, max_attempts=3)
    with writes() as session, session.begin():
        assert claim_deliveries(session, limit=10, lease_seconds=30, max_attempts=3) == []
    later = datetime.now(UTC) + timedelta(seconds=31)  # the sender died: its lease lapsed
    with writes() as session, session.begin():
        (again,) = claim_deliveries(session, limit=10, lease_seconds=30, max_attempts=3, now=later)
    assert again.delivery_id == first.delivery_id and again.attempt == 2 and again.token != first.token
    with writes() as session, session.begin():  # the old claim's answer lands nowhere
        assert not record_delivered(session, delivery_id=first.delivery_id, token=first.token, response_code=200,
                                    response_ms=1.0)  # fmt: skip
        assert record_delivered(session, delivery_id=again.delivery_id, token=again.token, response_code=200,
                                response_ms=1.0)  # fmt: skip
    (row,) = deliveries(session_factory)
    assert (row.status, row.attempts, row.response_code) == ("delivered", 2, 200)


def test_failures_back_off_exponentially_then_give_up(session_factory: sessionmaker[Session]) -> None:
    _queue_one(session_factory)
    writes = make_sessionmaker(session_factory.kw["bind"], writes=True)
    now = datetime.now(UTC)
    seen = []
    for _ in range(3):
        with writes() as session, session.begin():
            session.execute(update(webhook_deliveries).values(next_attempt_at=now))  # due at once
            (held,) = claim_deliveries(session, limit=1, lease_seconds=30, max_attempts=3)
            status = record_failure(
                session, delivery_id=held.delivery_id, token=held.token, error="HTTP 500", response_code=500,
                response_ms=2.0, max_attempts=3, backoff_base=10.0, backoff_cap=15.0,
            )  # fmt: skip
        (row,) = deliveries(session_factory)
        seen.append((status, row.attempts, row.status))
        if status == "pending":
            wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
            assert wait == pytest.approx(backoff_seconds(row.attempts, base=10.0, cap=15.0), abs=1.0)
    assert seen == [("pending", 1, "pending"), ("pending", 2, "pending"), ("failed", 3, "failed")]
    assert row.last_error == "given up after 3 attempts: HTTP 500"
    with writes() as session, session.begin():  # a given-up delivery is never claimed again
        session.execute(update(webhook_deliveries).values(next_attempt_at=now))
        assert claim_deliveries(session, limit=1, lease_seconds=30, max_attempts=3) == []
    assert [backoff_seconds(n, base=10.0, cap=15.0) for n in (1, 2, 3)] == [10.0, 15.0, 15.0]


def test_a_lapsed_claim_on_its_last_attempt_is_given_up(session_factory: sessionmaker[Session]) -> None:
    _queue_one(session_factory)
    writes = make_sessionmaker(session_factory.kw["bind"], writes=True)
    with writes() as session, session.begin():
        (held,) = claim_deliveries(session, limit=1, lease_seconds=1, max_attempts=1)
    with writes() as session, session.begin():
        later = datetime.now(UTC) + timedelta(seconds=5)
        assert claim_deliveries(session, limit=1, lease_seconds=1, max_attempts=1, now=later) == []
    (row,) = deliveries(session_factory)
    assert row.status == "failed" and "stopped before it recorded the answer" in row.last_error


def test_the_payload_is_the_run_as_committed_not_at_a_savepoint(session_factory: sessionmaker[Session]) -> None:
    cluster, run_id = pending_run(session_factory)
    hook(session_factory, ALL_RUN_EVENTS)
    held = claim(session_factory)
    with session_factory() as session, session.begin():
        assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
        with session.begin_nested():  # a savepoint released after the transition publishes nothing yet
            pass
        assert deliveries(session_factory) == []  # (another connection: nothing committed so far)
        session.execute(update(executions).where(executions.c.run_id == run_id).values(run_name="renamed later"))
    (row,) = deliveries(session_factory)
    assert row.payload["data"]["run_name"] == "renamed later"
    assert row.payload["data"] == listed(session_factory, cluster.cluster_id, run_id)
