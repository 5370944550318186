"""Monitor routes: a cluster's saved alert rules (create, list, get, patch, delete) and their alerts.

Thin: validation lives in ``models/monitors.py``, SQL and evaluation in ``store/monitors.py``.
Monitors are reached through the path's cluster, which is found in the request's namespace, so a
monitor of another namespace is answered like one that does not exist.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from clusterbook.api.deps import ClusterDep, SessionDep, writes_database
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.errors import ErrorLocation, InvalidPagination, NotFound
from clusterbook.models.listing import PaginationResponse
from clusterbook.models.monitors import (
    ListMonitorAlertsResponse,
    ListMonitorsResponse,
    Monitor,
    MonitorCreate,
    MonitorUpdate,
)
from clusterbook.store import monitors as store

router = APIRouter(prefix="/v1/clusters/{cluster_id}/monitors", tags=["monitors"], responses=COMMON_PROBLEMS)
MAX_ALERT_PAGE = 100_000


def _not_found(monitor_id: str) -> NotFound:
    return NotFound(
        f"monitor {monitor_id!r} not found in this cluster; list them with GET /v1/clusters/{{cluster_id}}/monitors"
    )


@router.post(
    "",
    response_model=Monitor,
    status_code=201,
    summary="Save a monitor: a rule over the cluster's history that alerts once when it breaks",
    description="Kinds: failure_rate (last N finished runs or a time window, above a share), metric (a "
    "declared measure of the latest completed run below/above a threshold, or below the median of the N "
    "completed runs before it minus delta), no_completed_run (for a duration). Evaluated when a run of the "
    "cluster ends and on the worker's timer.",
    responses=problem_responses(409),
)
@writes_database
def create_monitor(data: MonitorCreate, cluster: ClusterDep, session: SessionDep) -> Monitor:
    return store.create_monitor(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, data=data)


@router.get("", response_model=ListMonitorsResponse, summary="The cluster's monitors with their state")
def list_monitors(cluster: ClusterDep, session: SessionDep) -> ListMonitorsResponse:
    results = store.list_monitors(session, cluster_id=cluster.cluster_id)
    return ListMonitorsResponse(results=results, total_count=len(results))


@router.get("/{monitor_id}", response_model=Monitor, summary="One monitor, by id or name")
def get_monitor(monitor_id: str, cluster: ClusterDep, session: SessionDep) -> Monitor:
    found = store.read_monitor(session, cluster_id=cluster.cluster_id, monitor_id=monitor_id)
    if found is None:
        raise _not_found(monitor_id)
    return found


@router.patch(
    "/{monitor_id}",
    response_model=Monitor,
    summary="Rename, pause/resume or change the rule of a monitor (a new rule starts over in ok)",
    responses=problem_responses(409),
)
@writes_database
def update_monitor(monitor_id: str, data: MonitorUpdate, cluster: ClusterDep, session: SessionDep) -> Monitor:
    found = store.update_monitor(session, cluster_id=cluster.cluster_id, monitor_id=monitor_id, data=data)
    if found is None:
        raise _not_found(monitor_id)
    return found


@router.delete("/{monitor_id}", status_code=204, summary="Delete a monitor and its alert history")
@writes_database
def delete_monitor(monitor_id: str, cluster: ClusterDep, session: SessionDep) -> Response:
    if not store.delete_monitor(session, cluster_id=cluster.cluster_id, monitor_id=monitor_id):
        raise _not_found(monitor_id)
    return Response(status_code=204)


@router.get(
    "/{monitor_id}/alerts",
    response_model=ListMonitorAlertsResponse,
    summary="The monitor's alert history, newest first: each trigger and recovery with the values seen",
)
def list_alerts(
    request: Request,
    monitor_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=MAX_ALERT_PAGE, description="1-indexed page number.")] = 1,
    page_size: Annotated[
        int | None, Query(ge=1, description="Rows per page (default 10, at most the maximum).")
    ] = None,
) -> ListMonitorAlertsResponse:
    settings = request.app.state.settings
    size = page_size or settings.default_page_size
    if size > settings.max_page_size:
        message = f"must be between 1 and {settings.max_page_size} (the maximum page size)"
        raise InvalidPagination(f"query.page_size: {message}", errors=[ErrorLocation("query.page_size", message)])
    found = store.read_monitor(session, cluster_id=cluster.cluster_id, monitor_id=monitor_id)
    if found is None:
        raise _not_found(monitor_id)
    results, total = store.list_alerts(session, monitor_id=found.monitor_id, limit=size, offset=(page - 1) * size)
    url = request.url.include_query_params(page_size=size)
    more = page * size < total
    pagination = PaginationResponse(
        total=total,
        page=page,
        page_size=size,
        total_pages=math.ceil(total / size) if total else 0,
        next_page=str(url.include_query_params(page=page + 1)) if more else None,
        previous_page=str(url.include_query_params(page=page - 1)) if page > 1 else None,
    )
    return ListMonitorAlertsResponse(results=results, pagination=pagination, total_count=total)
