"""``client.webhooks``: webhook endpoints of the client's namespace and their delivery logs.

The signing secret comes back once, from :meth:`Webhooks.create`; check each delivery a receiver
gets with :func:`clusterbook.client.verify_signature` (``models/signatures.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from clusterbook.client._http import AsyncTransport, Call, SyncTransport, model, no_content, route
from clusterbook.client._params import ITER_PAGE_SIZE, page_params
from clusterbook.client.resources._paging import awalk, walk
from clusterbook.models.webhooks import (
    ListWebhookDeliveriesResponse,
    ListWebhooksResponse,
    Webhook,
    WebhookCreated,
    WebhookDelivery,
)

CREATE = route("POST", "/v1/webhooks")
LIST = route("GET", "/v1/webhooks")
GET = route("GET", "/v1/webhooks/{webhook_id}")
UPDATE = route("PATCH", "/v1/webhooks/{webhook_id}")
DELETE = route("DELETE", "/v1/webhooks/{webhook_id}")
DELIVERIES = route("GET", "/v1/webhooks/{webhook_id}/deliveries")

_UNSET: Any = object()


def _create(url: str, events: Sequence[str], description: str | None, active: bool) -> Call[WebhookCreated]:
    body: dict[str, Any] = {"url": url, "events": list(events), "active": active}
    if description is not None:
        body["description"] = description
    return Call.to(CREATE, model(WebhookCreated), body=body)


def _update(webhook_id: str, **fields: Any) -> Call[Webhook]:
    body = {name: (list(value) if name == "events" else value) for name, value in fields.items() if value is not _UNSET}
    return Call.to(UPDATE, model(Webhook), body=body, webhook_id=webhook_id)


def _list(page: int | None, page_size: int | None, cursor: str | None) -> Call[ListWebhooksResponse]:
    return Call.to(LIST, model(ListWebhooksResponse), params=page_params(page, page_size, cursor))


def _deliveries(
    webhook_id: str,
    status: str | None,
    event: str | None,
    include_payload: bool,
    page: int | None,
    page_size: int | None,
    cursor: str | None,
) -> Call[ListWebhookDeliveriesResponse]:
    params = {**(page_params(page, page_size, cursor) or {}), "status": status, "event": event}
    if include_payload:
        params["include_payload"] = "true"
    return Call.to(DELIVERIES, model(ListWebhookDeliveriesResponse), params=params, webhook_id=webhook_id)


def _hooks(response: ListWebhooksResponse) -> tuple[Sequence[Webhook], str | None]:
    return response.results, response.pagination.next_cursor


def _log(response: ListWebhookDeliveriesResponse) -> tuple[Sequence[WebhookDelivery], str | None]:
    return response.results, response.pagination.next_cursor


class Webhooks:
    """Webhook endpoints of the client's namespace.

    >>> hook = client.webhooks.create("https://example.com/hooks", ["execution.failed"])
    >>> hook.secret.startswith("whsec_"), hook.active
    (True, True)
    >>> client.webhooks.update(hook.webhook_id, active=False).active
    False
    >>> client.webhooks.deliveries(hook.webhook_id).total_count
    0
    >>> client.webhooks.delete(hook.webhook_id)
    """

    def __init__(self, http: SyncTransport) -> None:
        self._http = http

    def create(
        self, url: str, events: Sequence[str], *, description: str | None = None, active: bool = True
    ) -> WebhookCreated:
        """A new endpoint for ``events`` (``models.webhooks.WEBHOOK_EVENTS``); keep its ``secret``:
        it is never shown again."""
        return self._http.call(_create(url, events, description, active))

    def list(
        self, *, page: int | None = None, page_size: int | None = None, cursor: str | None = None
    ) -> ListWebhooksResponse:
        """One page of the namespace's endpoints, newest first (without secrets)."""
        return self._http.call(_list(page, page_size, cursor))

    def iter(self, *, page_size: int = ITER_PAGE_SIZE) -> Iterator[Webhook]:
        """Every endpoint, page by page."""
        return walk(lambda cursor: _hooks(self._http.call(_list(None, page_size, cursor))))

    def get(self, webhook_id: str) -> Webhook:
        return self._http.call(Call.to(GET, model(Webhook), webhook_id=webhook_id))

    def update(
        self,
        webhook_id: str,
        *,
        url: str = _UNSET,
        events: Sequence[str] = _UNSET,
        description: str | None = _UNSET,
        active: bool = _UNSET,
    ) -> Webhook:
        """Change only the fields given (``description=None`` clears it)."""
        return self._http.call(_update(webhook_id, url=url, events=events, description=description, active=active))

    def delete(self, webhook_id: str) -> None:
        """Delete the endpoint and its delivery log."""
        self._http.call(Call.to(DELETE, no_content, webhook_id=webhook_id))

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        event: str | None = None,
        include_payload: bool = False,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListWebhookDeliveriesResponse:
        """One page of the endpoint's delivery log, newest first: status, attempts, last error, response code."""
        return self._http.call(_deliveries(webhook_id, status, event, include_payload, page, page_size, cursor))

    def iter_deliveries(
        self, webhook_id: str, *, status: str | None = None, event: str | None = None, page_size: int = ITER_PAGE_SIZE
    ) -> Iterator[WebhookDelivery]:
        """The whole delivery log (or the part in ``status`` / of ``event``), page by page."""
        return walk(
            lambda cursor: _log(self._http.call(_deliveries(webhook_id, status, event, False, None, page_size, cursor)))
        )


class AsyncWebhooks:
    """The async twin of :class:`Webhooks`."""

    def __init__(self, http: AsyncTransport) -> None:
        self._http = http

    async def create(
        self, url: str, events: Sequence[str], *, description: str | None = None, active: bool = True
    ) -> WebhookCreated:
        return await self._http.call(_create(url, events, description, active))

    async def list(
        self, *, page: int | None = None, page_size: int | None = None, cursor: str | None = None
    ) -> ListWebhooksResponse:
        return await self._http.call(_list(page, page_size, cursor))

    def iter(self, *, page_size: int = ITER_PAGE_SIZE) -> AsyncIterator[Webhook]:
        async def fetch(cursor: str | None) -> tuple[Sequence[Webhook], str | None]:
            return _hooks(await self._http.call(_list(None, page_size, cursor)))

        return awalk(fetch)

    async def get(self, webhook_id: str) -> Webhook:
        return await self._http.call(Call.to(GET, model(Webhook), webhook_id=webhook_id))

    async def update(
        self,
        webhook_id: str,
        *,
        url: str = _UNSET,
        events: Sequence[str] = _UNSET,
        description: str | None = _UNSET,
        active: bool = _UNSET,
    ) -> Webhook:
        return await self._http.call(
            _update(webhook_id, url=url, events=events, description=description, active=active)
        )

    async def delete(self, webhook_id: str) -> None:
        await self._http.call(Call.to(DELETE, no_content, webhook_id=webhook_id))

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        event: str | None = None,
        include_payload: bool = False,
        page: int | None = None,
        page_size: int | None = None,
        cursor: str | None = None,
    ) -> ListWebhookDeliveriesResponse:
        return await self._http.call(_deliveries(webhook_id, status, event, include_payload, page, page_size, cursor))

    def iter_deliveries(
        self, webhook_id: str, *, status: str | None = None, event: str | None = None, page_size: int = ITER_PAGE_SIZE
    ) -> AsyncIterator[WebhookDelivery]:
        async def fetch(cursor: str | None) -> tuple[Sequence[WebhookDelivery], str | None]:
            return _log(await self._http.call(_deliveries(webhook_id, status, event, False, None, page_size, cursor)))

        return awalk(fetch)
