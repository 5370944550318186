"""Descriptions of the API's own concepts, for the dashboard and tools: the declared measures of a run and
the webhook events."""

from __future__ import annotations

from fastapi import APIRouter

from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.models.meta import MeasuresResponse, measures_response
from clusterbook.models.webhooks import WebhookEventsResponse, webhook_events_response

router = APIRouter(prefix="/v1/meta", tags=["meta"], responses=COMMON_PROBLEMS)


@router.get(
    "/measures",
    response_model=MeasuresResponse,
    summary="The declared measures of a run",
    description="Every measure a run may carry: where it sits in a run, the field to filter and sort by, its "
    "type, which direction is better (null when neither), its range, a short label and what it means. "
    "The dashboard builds its metric cards and compare rows from this.",
)
def list_measures() -> MeasuresResponse:
    return measures_response()


@router.get(
    "/webhook-events",
    response_model=WebhookEventsResponse,
    summary="The events a webhook endpoint can subscribe to",
    description="Each declared event with what its deliveries carry; the dashboard's webhook form lists these.",
)
def list_webhook_events() -> WebhookEventsResponse:
    return webhook_events_response()
