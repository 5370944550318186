"""The webhook delivery queue: claim due deliveries, record each attempt's answer, list the log.

Deliveries are claimed like runs (``store/queue.py``): PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets
several workers' loops pass each other; SQLite's write transaction (``BEGIN IMMEDIATE``) plus a
conditional UPDATE does the same. A claim stamps a token and a lease; only the token's holder may
record the answer, so a worker that stalled past its lease and then answers changes nothing. A
delivery whose worker died mid-send (lease lapsed) is claimed again: delivery is at least once,
and receivers dedupe on the event id.

Lifecycle: ``pending`` (due at ``next_attempt_at``) → ``delivering`` (claimed) → ``delivered`` on a
2xx, else back to ``pending`` after an exponential backoff, and ``failed`` (given up) once it has
used ``max_attempts``. Deliveries of an inactive endpoint wait, unclaimed, until it is active again.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from clusterbook.models.webhooks import DeliveryStatus, WebhookDelivery
from clusterbook.store.db import is_sqlite
from clusterbook.store.fields import DELIVERY_FIELDS
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import webhook_deliveries, webhooks

_d = webhook_deliveries.c
PENDING, DELIVERING = DeliveryStatus.PENDING.value, DeliveryStatus.DELIVERING.value
DELIVERED, FAILED = DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value
LIVE = (PENDING, DELIVERING)
"""The statuses of the partial index ``ix_webhook_deliveries_due``."""
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker now sends: to the endpoint's current URL, signed with its secret."""

    delivery_id: str
    webhook_id: str
    token: str
    attempt: int
    url: str
    secret: str
    event: str
    event_id: str
    payload: dict[str, Any]


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Wait after failed attempt ``attempt`` (1-based): ``base``, 2×, 4×, … at most ``cap``."""
    return float(min(cap, base * 2 ** min(attempt - 1, 60)))


def _changed(session: Session, statement: Any) -> int:
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _due(now: datetime) -> Any:
    """Pending and due, or claimed by a worker whose lease lapsed (it died mid-send)."""
    return and_(
        _d.status.in_(LIVE),
        or_(
            and_(_d.status == PENDING, _d.next_attempt_at <= now),
            and_(_d.status == DELIVERING, _d.lease_expires_at < now),
        ),
    )


def claim_deliveries(
    session: Session,
    *,
    limit: int,
    lease_seconds: float,
    max_attempts: int,
    now: datetime | None = None,
    busy: Mapping[str, int] | None = None,
    per_webhook: int | None = None,
) -> list[ClaimedDelivery]:
    """Take up to ``limit`` due deliveries of active endpoints, oldest due first. A lapsed claim that
    had already used ``max_attempts`` is given up instead of sent again.

    ``busy`` (deliveries the caller is sending now, by endpoint) and ``per_webhook`` cap what one
    endpoint may hold of the caller's senders, so a slow endpoint cannot take every one of them:
    its further deliveries wait for its own sends to end while the other endpoints' go out."""
    now = now or datetime.now(UTC)
    held = dict(busy or {})
    full = [webhook for webhook, count in held.items() if per_webhook is not None and count >= per_webhook]
    stmt = (
        select(
            _d.id,
            _d.delivery_id,
            _d.webhook_id,
            _d.attempts,
            _d.status,
            _d.event,
            _d.event_id,
            _d.payload,
            webhooks.c.url,
            webhooks.c.secret,
        )  # fmt: skip
        .join(webhooks, webhooks.c.webhook_id == _d.webhook_id)
        .where(_due(now), webhooks.c.active.is_(True))
        .order_by(_d.next_attempt_at, _d.id)
        .limit(limit if per_webhook is None else limit * 4)  # room to pass over a capped endpoint's rows
    )
    if full:
        stmt = stmt.where(_d.webhook_id.not_in(full))
    if not is_sqlite(session):
        stmt = stmt.with_for_update(skip_locked=True, of=webhook_deliveries)
    claimed: list[ClaimedDelivery] = []
    for row in session.execute(stmt).all():
        if len(claimed) >= limit:
            break
        if per_webhook is not None and held.get(row.webhook_id, 0) >= per_webhook:
            continue  # left pending (and unlocked at commit) for a free sender
        if row.status == DELIVERING and row.attempts >= max_attempts:
            _changed(
                session,
                update(webhook_deliveries)
                .where(_d.id == row.id, _due(now))
                .values(
                    status=FAILED,
                    claim_token=None,
                    lease_expires_at=None,
                    last_error=f"given up: the worker sending attempt {row.attempts} of {max_attempts} stopped "
                    "before it recorded the answer",
                ),
            )
            continue
        token = secrets.token_hex(16)
        taken = _changed(
            session,
            update(webhook_deliveries)
            .where(_d.id == row.id, _due(now))
            .values(
                status=DELIVERING,
                claim_token=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                attempts=_d.attempts + 1,
                last_attempt_at=now,
            ),
        )
        if taken == 1:
            held[row.webhook_id] = held.get(row.webhook_id, 0) + 1
            claimed.append(
                ClaimedDelivery(
                    row.delivery_id,
                    row.webhook_id,
                    token,
                    row.attempts + 1,
                    row.url,
                    row.secret,
                    row.event,
                    row.event_id,
                    row.payload,
                )  # fmt: skip
            )
    return claimed


def _held(delivery_id: str, token: str) -> Any:
    return and_(_d.delivery_id == delivery_id, _d.claim_token == token, _d.status == DELIVERING)


def record_delivered(session: Session, *, delivery_id: str, token: str, response_code: int, response_ms: float) -> bool:
    """The endpoint answered 2xx. False (nothing written) when the claim is no longer ours."""
    now = datetime.now(UTC)
    values = {
        "status": DELIVERED,
        "claim_token": None,
        "lease_expires_at": None,
        "delivered_at": now,
        "response_code": response_code,
        "response_ms": response_ms,
        "last_error": None,
    }
    return _changed(session, update(webhook_deliveries).where(_held(delivery_id, token)).values(**values)) == 1


def record_failure(
    session: Session,
    *,
    delivery_id: str,
    token: str,
    error: str,
    response_code: int | None,
    response_ms: float | None,
    max_attempts: int,
    backoff_base: float,
    backoff_cap: float,
) -> str | None:
    """The attempt failed (non-2xx, timeout, connection error): retry after a backoff, or give up
    after ``max_attempts``. Returns the new status, or None when the claim is no longer ours."""
    row = session.execute(select(_d.attempts).where(_held(delivery_id, token))).first()
    if row is None:
        return None
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "claim_token": None,
        "lease_expires_at": None,
        "response_code": response_code,
        "response_ms": response_ms,
    }
    if row.attempts >= max_attempts:
        values["status"] = FAILED
        values["last_error"] = f"given up after {row.attempts} attempts: {error}"[:MAX_ERROR_LENGTH]
    else:
        values["status"] = PENDING
        values["last_error"] = error[:MAX_ERROR_LENGTH]
        wait = backoff_seconds(row.attempts, base=backoff_base, cap=backoff_cap)
        values["next_attempt_at"] = now + timedelta(seconds=wait)
    changed = _changed(session, update(webhook_deliveries).where(_held(delivery_id, token)).values(**values))
    return str(values["status"]) if changed == 1 else None


def _to_delivery(row: Any, include_payload: bool) -> WebhookDelivery:
    m = row._mapping
    return WebhookDelivery(
        delivery_id=m["delivery_id"],
        webhook_id=m["webhook_id"],
        event_id=m["event_id"],
        event=m["event"],
        status=m["status"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"] if m["status"] == PENDING else None,
        last_error=m["last_error"],
        response_code=m["response_code"],
        response_ms=m["response_ms"],
        created_at=m["created_at"],
        last_attempt_at=m["last_attempt_at"],
        delivered_at=m["delivered_at"],
        payload=m["payload"] if include_payload else None,
    )


def list_deliveries(
    session: Session, *, webhook_id: str, query: ListQuery, page: PageRequest, include_payload: bool = False
) -> tuple[list[WebhookDelivery], PageRows]:
    """One page of an endpoint's delivery log, newest first."""
    compiled = compile_query(session, DELIVERY_FIELDS, _d.webhook_id == webhook_id, query)
    fetched = fetch_page(session, DELIVERY_FIELDS, compiled, page)
    return [_to_delivery(row, include_payload) for row in fetched.rows], fetched
