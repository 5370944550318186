"""Webhook endpoints (create, read, update, delete, list) and the outbox they are fed from.

:func:`enqueue_event` is the one way an event reaches the endpoints: in the *caller's* transaction it
writes one delivery row per active endpoint of the namespace subscribed to the event, so the event
and its deliveries commit (or roll back) together — a run that completed is never announced as
anything else, and an announcement is never lost between the transition and the send. The worker's
delivery loop (``runner/webhooks.py``, over ``store/deliveries.py``) sends them later, off the
request and the run path. Runs publish through :func:`enqueue_run_event`, called by every terminal
transition (``store.queue.complete_execution`` / ``fail_execution``, ``store.executions.cancel_execution``);
their deliveries are written as that transaction commits, so they carry the run as committed.

The signing secret is kept in clear: the server must compute HMACs with it. It is returned once, by
:func:`create_webhook`; every other reader maps rows without it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, event, func, insert, select, update
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict
from clusterbook.models.storable import is_storable_ref
from clusterbook.models.webhooks import (
    MAX_WEBHOOKS_PER_NAMESPACE,
    RUN_EVENTS,
    WEBHOOK_EVENTS,
    DeliveryStatus,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookUpdate,
)
from clusterbook.store.executions import row_to_result
from clusterbook.store.fields import WEBHOOK_FIELDS
from clusterbook.store.ids import encode_base62, new_id
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import executions, webhook_deliveries, webhooks

_w = webhooks.c
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """``whsec_`` and 43 base-62 characters: 256 random bits."""
    return SECRET_PREFIX + encode_base62(secrets.randbits(256), 43)


def _to_webhook(row: Row[Any]) -> Webhook:
    m = row._mapping
    return Webhook(
        webhook_id=m["webhook_id"],
        namespace_id=m["namespace_id"],
        url=m["url"],
        events=list(m["events"]),
        description=m["description"],
        active=bool(m["active"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def count_webhooks(session: Session, *, namespace_id: str) -> int:
    return int(session.execute(select(func.count()).where(_w.namespace_id == namespace_id)).scalar_one())


def create_webhook(session: Session, *, namespace_id: str, data: WebhookCreate) -> WebhookCreated:
    """A new endpoint and its secret (the only answer that carries it). Conflict past the per-namespace bound."""
    if count_webhooks(session, namespace_id=namespace_id) >= MAX_WEBHOOKS_PER_NAMESPACE:
        raise Conflict(
            f"this namespace already has {MAX_WEBHOOKS_PER_NAMESPACE} webhook endpoints, the most it may have; "
            "delete one (DELETE /v1/webhooks/{webhook_id}) or subscribe an existing one to more events"
        )
    now = datetime.now(UTC)
    webhook_id, secret = new_id("wh"), new_secret()
    values: dict[str, Any] = {
        "webhook_id": webhook_id,
        "namespace_id": namespace_id,
        "url": data.url,
        "events": list(data.events),
        "description": data.description,
        "active": data.active,
        "secret": secret,
        "created_at": now,
        "updated_at": now,
    }
    session.execute(insert(webhooks).values(**values))
    found = read_webhook(session, namespace_id=namespace_id, webhook_id=webhook_id)
    assert found is not None
    return WebhookCreated(**found.model_dump(), secret=secret)


def read_webhook(session: Session, *, namespace_id: str, webhook_id: str) -> Webhook | None:
    """An endpoint of this namespace; ``None`` when absent (or in another namespace)."""
    if not is_storable_ref(webhook_id):
        return None
    row = session.execute(select(webhooks).where(_w.namespace_id == namespace_id, _w.webhook_id == webhook_id)).first()
    return _to_webhook(row) if row else None


def update_webhook(session: Session, *, namespace_id: str, webhook_id: str, data: WebhookUpdate) -> Webhook | None:
    """Apply the fields present in ``data``. Deliveries already queued go to the URL the endpoint has
    when they are sent, so fixing a wrong URL lets the pending retries land."""
    changes: dict[str, Any] = {name: getattr(data, name) for name in data.model_fields_set}
    changes["updated_at"] = datetime.now(UTC)
    session.execute(
        update(webhooks).where(_w.namespace_id == namespace_id, _w.webhook_id == webhook_id).values(**changes)
    )
    return read_webhook(session, namespace_id=namespace_id, webhook_id=webhook_id)


def delete_webhook(session: Session, *, namespace_id: str, webhook_id: str) -> bool:
    """Delete an endpoint and its delivery log; False when it does not exist here."""
    if read_webhook(session, namespace_id=namespace_id, webhook_id=webhook_id) is None:
        return False
    session.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    session.execute(delete(webhooks).where(_w.webhook_id == webhook_id))
    return True


def list_webhooks(
    session: Session, *, namespace_id: str, query: ListQuery, page: PageRequest
) -> tuple[list[Webhook], PageRows]:
    compiled = compile_query(session, WEBHOOK_FIELDS, _w.namespace_id == namespace_id, query)
    fetched = fetch_page(session, WEBHOOK_FIELDS, compiled, page)
    return [_to_webhook(row) for row in fetched.rows], fetched


# ----------------------------------------------------------------------------- the outbox


def _subscribers(session: Session, namespace_id: str, event: str) -> list[str]:
    """Active endpoints of the namespace subscribed to ``event`` (at most the per-namespace bound)."""
    rows = session.execute(
        select(_w.webhook_id, _w.events).where(_w.namespace_id == namespace_id, _w.active.is_(True))
    ).all()
    return [row.webhook_id for row in rows if event in (row.events or ())]


def _write(session: Session, namespace_id: str, event: str, payload: Mapping[str, Any], targets: list[str]) -> int:
    if not targets:
        return 0
    now = datetime.now(UTC)
    event_id = new_id("evt")
    body = {
        "id": event_id,
        "type": event,
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "namespace_id": namespace_id,
        "data": dict(payload),
    }
    rows = [
        {
            "delivery_id": new_id("whd"),
            "webhook_id": webhook_id,
            "namespace_id": namespace_id,
            "event_id": event_id,
            "event": event,
            "payload": body,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for webhook_id in targets
    ]
    session.execute(insert(webhook_deliveries), rows)
    return len(rows)


def enqueue_event(session: Session, *, namespace_id: str, event: str, payload: dict[str, Any]) -> int:
    """Queue ``event`` for every active endpoint of the namespace subscribed to it, in the caller's
    transaction; returns how many deliveries were written (0 when nobody listens). ``payload`` becomes
    the body's ``data``; it must be JSON-ready (``model_dump(mode="json")``)."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}; declared events: {', '.join(WEBHOOK_EVENTS)}")
    return _write(session, namespace_id, event, payload, _subscribers(session, namespace_id, event))


PENDING_RUN_EVENTS = "clusterbook.run_events"
"""Where a session's ``info`` holds the runs whose terminal transition it must publish at commit."""


def enqueue_run_event(session: Session, *, run_id: str) -> None:
    """Publish a run's terminal transition (completed, failed, canceled) written in this transaction.

    The deliveries are written when the transaction commits (``before_commit``, still inside it),
    so the payload is the run exactly as the history listing returns it *as committed*: a
    completion also writes the agreement with its baseline after the transition, in the same
    transaction. A transaction that rolls back publishes nothing."""
    session.info.setdefault(PENDING_RUN_EVENTS, []).append(run_id)


def publish_run_event(session: Session, *, run_id: str) -> int:
    """Write the deliveries of the run's terminal state now; returns how many. Costs one query when
    nobody listens; reads and maps the run only when somebody does."""
    head = session.execute(select(executions.c.namespace_id, executions.c.status).where(
        executions.c.run_id == run_id
    )).first()  # fmt: skip
    if head is None or head.status not in RUN_EVENTS:
        return 0
    event = RUN_EVENTS[head.status]
    targets = _subscribers(session, head.namespace_id, event)
    if not targets:
        return 0
    row = session.execute(select(executions).where(executions.c.run_id == run_id)).one()
    payload = row_to_result(row).model_dump(mode="json", by_alias=True)
    return _write(session, head.namespace_id, event, payload, targets)


@event.listens_for(Session, "before_commit")
def _publish_at_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT's release fires this too: wait for the real commit
        return
    for run_id in dict.fromkeys(session.info.pop(PENDING_RUN_EVENTS, None) or ()):
        publish_run_event(session, run_id=run_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():  # the whole transaction went, not a savepoint inside it
        session.info.pop(PENDING_RUN_EVENTS, None)
