"""The webhook delivery loop: one thread beside each worker pool that claims due deliveries from the
outbox (``store/deliveries.py``), POSTs them signed (``models/signatures.py``) and records the answer.

Why here: an event is written in the transaction of what it announces (a run's end, a monitor's
firing), and sent later by this loop, so neither a request nor a run ever waits on a receiver. A
slow or dead endpoint costs at most ``webhook_timeout_seconds`` of one of ``webhook_concurrency``
sending threads, and holds at most half of them (``per_webhook``); the other endpoints' deliveries keep
going. Several pools (``serve`` and ``worker`` processes on one
database) share the outbox safely, since a claim is exclusive until its lease lapses.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from clusterbook import __version__
from clusterbook.models.signatures import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    signature_header,
)
from clusterbook.settings import Settings
from clusterbook.store.db import make_sessionmaker, transaction
from clusterbook.store.deliveries import ClaimedDelivery, claim_deliveries, record_delivered, record_failure

logger = logging.getLogger(__name__)
USER_AGENT = f"clusterbook-webhooks/{__version__}"
ANSWER_BYTES = 300
"""How much of a refusing endpoint's answer is kept in ``last_error`` (the rest is never read)."""


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class DeliveryLoop:
    """``start()`` / ``wake()`` / ``stop()``; ``wake`` makes an idle loop look for due deliveries at once."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.writes = make_sessionmaker(engine, writes=True)
        self.stopping = threading.Event()
        self.work_available = threading.Event()
        self.thread: threading.Thread | None = None
        self.senders: ThreadPoolExecutor | None = None
        self.client: httpx.Client | None = None
        self.in_flight: dict[str, int] = {}
        """Deliveries being sent now, by endpoint (``per_webhook`` caps each)."""
        self.lock = threading.Lock()

    def start(self) -> DeliveryLoop:
        if self.thread is not None:
            return self
        self.stopping.clear()
        timeout = self.settings.webhook_timeout_seconds
        concurrency = self.settings.webhook_concurrency
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # a redirect is a misconfigured endpoint: retried, and visible in the log
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": USER_AGENT},
        )
        self.senders = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="clusterbook-webhook-send")
        self.thread = threading.Thread(target=self._loop, name="clusterbook-webhooks", daemon=True)
        self.thread.start()
        return self

    def wake(self) -> None:
        self.work_available.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming and let the sends in flight finish (each is bounded by the timeout)."""
        self.stopping.set()
        self.work_available.set()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None
        if self.senders is not None:
            self.senders.shutdown(wait=True)
            self.senders = None
        if self.client is not None:
            self.client.close()
            self.client = None

    # -- the loop --------------------------------------------------------------------------------

    @property
    def per_webhook(self) -> int:
        """At most half the senders for one endpoint: a slow one leaves the rest to the others."""
        return max(1, self.settings.webhook_concurrency // 2)

    def _free(self) -> int:
        with self.lock:
            return self.settings.webhook_concurrency - sum(self.in_flight.values())

    def _loop(self) -> None:
        while not self.stopping.is_set():
            free = self._free()
            claimed = self._claim(free) if free > 0 else []
            for delivery in claimed:
                with self.lock:
                    self.in_flight[delivery.webhook_id] = self.in_flight.get(delivery.webhook_id, 0) + 1
                assert self.senders is not None
                self.senders.submit(self._send_and_release, delivery)
            if not claimed or len(claimed) < free:
                self.work_available.wait(self.settings.webhook_poll_seconds)
                self.work_available.clear()

    def _claim(self, limit: int) -> list[ClaimedDelivery]:
        with self.lock:
            busy = dict(self.in_flight)
        try:
            with transaction(self.writes) as session:
                return claim_deliveries(
                    session,
                    limit=limit,
                    lease_seconds=self.settings.webhook_lease_seconds,
                    max_attempts=self.settings.webhook_max_attempts,
                    busy=busy,
                    per_webhook=self.per_webhook,
                )
        except SQLAlchemyError as exc:
            logger.warning("claiming webhook deliveries failed, will retry: %s", str(exc).splitlines()[0])
            return []

    def _send_and_release(self, delivery: ClaimedDelivery) -> None:
        try:
            self.send(delivery)
        except Exception:  # a sending thread must outlive any one delivery
            logger.exception("sending webhook delivery %s failed", delivery.delivery_id)
        finally:
            with self.lock:
                left = self.in_flight.get(delivery.webhook_id, 1) - 1
                if left > 0:
                    self.in_flight[delivery.webhook_id] = left
                else:
                    self.in_flight.pop(delivery.webhook_id, None)
            self.work_available.set()  # a slot is free

    def send(self, delivery: ClaimedDelivery) -> None:
        """POST one delivery and record what the endpoint answered."""
        assert self.client is not None
        body = encode_body(delivery.payload)
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: delivery.event,
            EVENT_ID_HEADER: delivery.event_id,
            DELIVERY_HEADER: delivery.delivery_id,
            SIGNATURE_HEADER: signature_header(delivery.secret, body),
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            with self.client.stream("POST", delivery.url, content=body, headers=headers) as response:
                code = response.status_code
                if not 200 <= code < 300:
                    answer = b""
                    for chunk in response.iter_bytes(ANSWER_BYTES):
                        answer = chunk[:ANSWER_BYTES]
                        break
                    text = answer.decode("utf-8", "replace").strip()
                    error = f"HTTP {code} {response.reason_phrase}" + (f": {text}" if text else "")
        except httpx.TimeoutException:
            error = f"timed out after {self.settings.webhook_timeout_seconds:g} s (CLUSTERBOOK_WEBHOOK_TIMEOUT_SECONDS)"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        elapsed = (time.monotonic() - started) * 1000.0
        self._record(delivery, code, error, elapsed)

    def _record(self, delivery: ClaimedDelivery, code: int | None, error: str | None, elapsed_ms: float) -> None:
        settings = self.settings
        try:
            with transaction(self.writes) as session:
                if error is None:
                    assert code is not None
                    ours = record_delivered(
                        session, delivery_id=delivery.delivery_id, token=delivery.token,
                        response_code=code, response_ms=elapsed_ms,
                    )  # fmt: skip
                    status: str | None = "delivered" if ours else None
                else:
                    status = record_failure(
                        session,
                        delivery_id=delivery.delivery_id,
                        token=delivery.token,
                        error=error,
                        response_code=code,
                        response_ms=elapsed_ms,
                        max_attempts=settings.webhook_max_attempts,
                        backoff_base=settings.webhook_backoff_seconds,
                        backoff_cap=settings.webhook_backoff_max_seconds,
                    )
        except SQLAlchemyError as exc:  # the lease lapses and another attempt sends it again
            logger.warning("recording webhook delivery %s failed: %s", delivery.delivery_id, str(exc).splitlines()[0])
            return
        if status is None:
            logger.info("webhook delivery %s was reclaimed while it was being sent", delivery.delivery_id)
        elif status == "failed":
            logger.warning("webhook delivery %s given up after attempt %d: %s", delivery.delivery_id,
                           delivery.attempt, error)  # fmt: skip
        elif error is not None:
            logger.info("webhook delivery %s attempt %d failed (%s); will retry", delivery.delivery_id,
                        delivery.attempt, error)  # fmt: skip
