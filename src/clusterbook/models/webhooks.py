"""Wire models of webhooks: the events one can subscribe to, endpoints, and their delivery log.

The events are declared once here (``WEBHOOK_EVENTS``): the API's validation and its 422 message,
the store's fan-out, the SDK, the CLI's choices and the dashboard's form all read this tuple.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.listing import PaginationResponse


class WebhookEvent(StrEnum):
    """What a webhook endpoint can be told about."""

    EXECUTION_COMPLETED = "execution.completed"
    EXECUTION_FAILED = "execution.failed"
    EXECUTION_CANCELED = "execution.canceled"
    MONITOR_TRIGGERED = "monitor.triggered"


EVENT_MEANINGS: dict[WebhookEvent, str] = {
    WebhookEvent.EXECUTION_COMPLETED: "A run completed; data is the run as the history listing returns it.",
    WebhookEvent.EXECUTION_FAILED: "A run failed (its error_message says why); data is the run.",
    WebhookEvent.EXECUTION_CANCELED: "A run was canceled; data is the run.",
    WebhookEvent.MONITOR_TRIGGERED: "A monitor went into its bad state; data is the alert with the values that "
    "triggered it.",
}
WEBHOOK_EVENTS: tuple[str, ...] = tuple(e.value for e in WebhookEvent)
RUN_EVENTS: dict[str, str] = {
    "completed": WebhookEvent.EXECUTION_COMPLETED.value,
    "failed": WebhookEvent.EXECUTION_FAILED.value,
    "canceled": WebhookEvent.EXECUTION_CANCELED.value,
}
"""A run's terminal status → the event its transition publishes."""


class DeliveryStatus(StrEnum):
    """pending (due now or after a backoff) → delivering (claimed by a worker) → delivered | failed."""

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"


MAX_URL_LENGTH = 2048
MAX_DESCRIPTION = 500
URL_SHAPE = r"^https?://[^\s/?#@]+([/?][^\s#]*)?$"
"""The URL rule's outline, for the schema (the validator, :func:`check_url`, says exactly what is wrong)."""
MAX_WEBHOOKS_PER_NAMESPACE = 100
"""Bounds the fan-out: one event writes at most this many delivery rows."""


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host, no credentials, no fragment, no whitespace."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("url may not contain whitespace or control characters; percent-encode them")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc}); give e.g. https://example.com/hooks/clusterbook") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"url must start with http:// or https:// (got scheme {parts.scheme or 'none'!r})")
    if not parts.hostname:
        raise ValueError("url must name a host, e.g. https://example.com/hooks/clusterbook")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "url may not carry credentials (user:password@): deliveries are signed, verify the "
            "Clusterbook-Signature header instead"
        )
    if parts.fragment:
        raise ValueError("url may not have a #fragment (it is never sent to the server)")
    if port == 0:
        raise ValueError("url port must be between 1 and 65535")
    return value


def _check_events(value: Any) -> Any:
    """Before pydantic's own check, so the message names every allowed event (and each is kept once)."""
    if not isinstance(value, list):
        return value
    unknown = [event for event in value if event not in WEBHOOK_EVENTS]
    if unknown:
        raise ValueError(f"unknown event {unknown[0]!r}; allowed events: {', '.join(WEBHOOK_EVENTS)}")
    return list(dict.fromkeys(value))  # each once, in the order given


class _WebhookFields(StorableBody):
    model_config = ConfigDict(extra="forbid")

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("events", mode="before", check_fields=False)
    @classmethod
    def _events(cls, value: Any) -> Any:
        return _check_events(value)


class WebhookCreate(_WebhookFields):
    """Body of ``POST /v1/webhooks``."""

    url: str = Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where deliveries are POSTed (http or https).",
        json_schema_extra={"pattern": URL_SHAPE},
    )
    events: list[WebhookEvent] = Field(
        min_length=1,
        max_length=len(WEBHOOK_EVENTS),
        description=f"Events to deliver, any of: {', '.join(WEBHOOK_EVENTS)}.",
        examples=[["execution.completed", "execution.failed"]],
    )
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    active: bool = Field(default=True, description="Inactive endpoints are sent nothing new.")


class WebhookUpdate(_WebhookFields):
    """Body of ``PATCH /v1/webhooks/{webhook_id}``: only the fields present change."""

    url: str | None = Field(
        default=None, min_length=1, max_length=MAX_URL_LENGTH, json_schema_extra={"pattern": URL_SHAPE}
    )
    events: list[WebhookEvent] | None = Field(default=None, min_length=1, max_length=len(WEBHOOK_EVENTS))
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    active: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> WebhookUpdate:
        for name in ("url", "events", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep the current value")
        return self


class Webhook(WireModel):
    """A webhook endpoint. Its signing secret is shown once, when it is created."""

    webhook_id: str
    namespace_id: str
    url: str
    events: list[str]
    description: str | None = None
    active: bool
    created_at: UTCDatetime
    updated_at: UTCDatetime


class WebhookCreated(Webhook):
    """The answer to ``POST /v1/webhooks``: the endpoint and its signing secret, which no later
    answer repeats. Keep it where the receiver can verify signatures with it."""

    secret: str = Field(description="HMAC-SHA256 key of the Clusterbook-Signature header; shown only now.")


class ListWebhooksResponse(WireModel):
    results: list[Webhook]
    pagination: PaginationResponse
    total_count: int


class WebhookDelivery(WireModel):
    """One event sent (or being sent) to one endpoint: the delivery log's row."""

    delivery_id: str
    webhook_id: str
    event_id: str = Field(description="The same for every endpoint sent this event: dedupe on it (at least once).")
    event: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: UTCDatetime | None = Field(default=None, description="When the next try is due (pending only).")
    last_error: str | None = None
    response_code: int | None = None
    response_ms: float | None = None
    created_at: UTCDatetime
    last_attempt_at: UTCDatetime | None = None
    delivered_at: UTCDatetime | None = None
    payload: dict[str, Any] | None = Field(default=None, description="The body sent (with include_payload=true).")


class ListWebhookDeliveriesResponse(WireModel):
    results: list[WebhookDelivery]
    pagination: PaginationResponse
    total_count: int


class WebhookEventInfo(WireModel):
    event: str
    meaning: str


class WebhookEventsResponse(WireModel):
    """``GET /v1/meta/webhook-events``: what an endpoint can subscribe to (the dashboard's form reads it)."""

    results: list[WebhookEventInfo]


def webhook_events_response() -> WebhookEventsResponse:
    return WebhookEventsResponse(
        results=[WebhookEventInfo(event=e.value, meaning=EVENT_MEANINGS[e]) for e in WebhookEvent]
    )
