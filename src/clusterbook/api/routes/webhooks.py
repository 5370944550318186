"""Webhook routes: endpoints of the request's namespace (create — the only answer with the signing
secret —, list, get, patch, delete) and each endpoint's delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from clusterbook.api.deps import NamespaceDep, SessionDep, writes_database
from clusterbook.api.paging import PageParams, page_params, pagination_block, prepare_listing
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.errors import NotFound
from clusterbook.models.listing import ListRequestBase
from clusterbook.models.signatures import SIGNATURE_HEADER
from clusterbook.models.webhooks import (
    MAX_WEBHOOKS_PER_NAMESPACE,
    WEBHOOK_EVENTS,
    DeliveryStatus,
    ListWebhookDeliveriesResponse,
    ListWebhooksResponse,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookEvent,
    WebhookUpdate,
)
from clusterbook.store import deliveries as deliveries_store
from clusterbook.store import webhooks as store
from clusterbook.store.fields import DELIVERY_FIELDS, WEBHOOK_FIELDS

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=COMMON_PROBLEMS)
WebhookIdPath = Annotated[str, Path(max_length=64, description="The endpoint's id (wh_…).")]


def _not_found(webhook_id: str) -> NotFound:
    return NotFound(
        f"webhook {webhook_id!r} not found in this namespace; list the namespace's endpoints with GET /v1/webhooks"
    )


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=201,
    summary="Create a webhook endpoint; the answer carries its signing secret, shown only this once",
    description=f"Events: {', '.join(WEBHOOK_EVENTS)}. Each delivery is a POST of JSON "
    "{id, type, created_at, namespace_id, data} (data: the run as the history listing returns it, or the "
    f"monitor's alert) signed in the {SIGNATURE_HEADER} header: t=<unix seconds>,v1=<hex HMAC-SHA256 of "
    f"'<t>.' + body under the secret>. At most {MAX_WEBHOOKS_PER_NAMESPACE} endpoints per namespace (409 beyond).",
    responses=problem_responses(409),
)
@writes_database
def create_webhook(data: WebhookCreate, namespace: NamespaceDep, session: SessionDep) -> WebhookCreated:
    return store.create_webhook(session, namespace_id=namespace.namespace_id, data=data)


@router.get("", response_model=ListWebhooksResponse, summary="List the namespace's webhook endpoints, newest first")
def list_webhooks(
    request: Request,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
) -> ListWebhooksResponse:
    scope = {"ns": namespace.namespace_id, "list": "webhooks"}
    query, paging = prepare_listing(request, params, ListRequestBase(), WEBHOOK_FIELDS, scope)
    results, fetched = store.list_webhooks(
        session, namespace_id=namespace.namespace_id, query=query, page=paging.request
    )
    total = fetched.total or 0
    return ListWebhooksResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )


@router.get("/{webhook_id}", response_model=Webhook, summary="One webhook endpoint (without its secret)")
def get_webhook(webhook_id: WebhookIdPath, namespace: NamespaceDep, session: SessionDep) -> Webhook:
    found = store.read_webhook(session, namespace_id=namespace.namespace_id, webhook_id=webhook_id)
    if found is None:
        raise _not_found(webhook_id)
    return found


@router.patch(
    "/{webhook_id}",
    response_model=Webhook,
    summary="Change an endpoint's URL, events, description or active flag",
    description="Queued deliveries go to the URL the endpoint has when they are sent; an inactive endpoint "
    "is sent nothing (its queued deliveries wait until it is active again).",
)
@writes_database
def update_webhook(
    webhook_id: WebhookIdPath, data: WebhookUpdate, namespace: NamespaceDep, session: SessionDep
) -> Webhook:
    found = store.update_webhook(session, namespace_id=namespace.namespace_id, webhook_id=webhook_id, data=data)
    if found is None:
        raise _not_found(webhook_id)
    return found


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook endpoint and its delivery log")
@writes_database
def delete_webhook(webhook_id: WebhookIdPath, namespace: NamespaceDep, session: SessionDep) -> Response:
    if not store.delete_webhook(session, namespace_id=namespace.namespace_id, webhook_id=webhook_id):
        raise _not_found(webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=ListWebhookDeliveriesResponse,
    summary="An endpoint's delivery log, newest first: status, attempts, last error, response code, times",
)
def list_webhook_deliveries(
    request: Request,
    webhook_id: WebhookIdPath,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status.")] = None,
    event: Annotated[WebhookEvent | None, Query(description="Only deliveries of this event.")] = None,
    include_payload: Annotated[bool, Query(description="Also return each delivery's body.")] = False,
) -> ListWebhookDeliveriesResponse:
    if store.read_webhook(session, namespace_id=namespace.namespace_id, webhook_id=webhook_id) is None:
        raise _not_found(webhook_id)
    conditions: list[dict[str, Any]] = []
    if status is not None:
        conditions.append({"field": "status", "operator": "eq", "value": status.value})
    if event is not None:
        conditions.append({"field": "event", "operator": "eq", "value": event.value})
    body = ListRequestBase(filters={"operator": "AND", "conditions": conditions} if conditions else None)
    scope = {"ns": namespace.namespace_id, "webhook": webhook_id, "list": "deliveries"}
    query, paging = prepare_listing(request, params, body, DELIVERY_FIELDS, scope)
    results, fetched = deliveries_store.list_deliveries(
        session, webhook_id=webhook_id, query=query, page=paging.request, include_payload=include_payload
    )
    total = fetched.total or 0
    return ListWebhookDeliveriesResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )
