"""Schedule routes: a cluster's triggers (create, list, one, change, pause/resume, delete) and their
firings. The scheduler beside the worker pools fires them (``runner/scheduler.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep, writes_database
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.errors import NotFound
from clusterbook.models.clusters import Cluster
from clusterbook.models.executions import ExecuteRequest
from clusterbook.models.listing import PaginationResponse
from clusterbook.models.schedules import (
    MAX_FIRINGS_LISTED,
    ListScheduleFiringsResponse,
    ListSchedulesResponse,
    Schedule,
    ScheduleCreate,
    ScheduleUpdate,
)
from clusterbook.store import schedules as store

router = APIRouter(prefix="/v1/clusters/{cluster_id}/schedules", tags=["schedules"], responses=COMMON_PROBLEMS)


def _not_found(schedule_id: str) -> NotFound:
    return NotFound(f"schedule {schedule_id!r} not found in this cluster")


def _check_execute(request: Request, session: SessionDep, namespace_id: str, cluster: Cluster,
                   body: ExecuteRequest | None) -> None:  # fmt: skip
    """The execute body passes every check POST …/execute makes (422 otherwise), now rather than at
    its first firing."""
    from clusterbook.runner.submit import prepare_run  # the engine loads on first use, not at import

    prepare_run(
        session, namespace_id=namespace_id, cluster=cluster, body=body,
        size_limit_factor=request.app.state.settings.size_limit_factor,
    )  # fmt: skip


@router.post(
    "",
    response_model=Schedule,
    status_code=201,
    summary="Create a schedule: cron (with timezone), interval_seconds or new_documents",
    description='Exactly one trigger: {"cron": "0 3 * * *", "timezone": "Europe/Berlin"}, '
    '{"interval_seconds": 3600} or {"new_documents": 500}. The optional execute body is checked as '
    "POST …/execute checks it. Runs it starts carry trigger 'schedule:<schedule_id>'.",
    responses=problem_responses(409),
)
@writes_database
def create_schedule(
    request: Request, data: ScheduleCreate, cluster: ClusterDep, namespace: NamespaceDep, session: SessionDep
) -> Schedule:
    _check_execute(request, session, namespace.namespace_id, cluster, data.execute)
    return store.create_schedule(
        session, namespace_id=namespace.namespace_id, cluster_id=cluster.cluster_id, data=data, now=datetime.now(UTC)
    )


@router.get("", response_model=ListSchedulesResponse, summary="The cluster's schedules, oldest first")
def list_schedules(cluster: ClusterDep, session: SessionDep) -> ListSchedulesResponse:
    found = store.list_schedules(session, cluster_id=cluster.cluster_id)
    pagination = PaginationResponse(total=len(found), page=1, page_size=max(len(found), 1), total_pages=1)
    return ListSchedulesResponse(results=found, pagination=pagination, total_count=len(found))


@router.get("/{schedule_id}", response_model=Schedule, summary="One schedule, with its newest firings")
def get_schedule(schedule_id: str, cluster: ClusterDep, session: SessionDep) -> Schedule:
    found = store.read_schedule(session, cluster_id=cluster.cluster_id, schedule_id=schedule_id)
    if found is None:
        raise _not_found(schedule_id)
    return found


@router.get(
    "/{schedule_id}/firings",
    response_model=ListScheduleFiringsResponse,
    summary="A schedule's firings, newest first: the run each started or why it skipped",
)
def list_firings(
    schedule_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_FIRINGS_LISTED, description="How many, newest first.")] = 20,
) -> ListScheduleFiringsResponse:
    if store.read_schedule(session, cluster_id=cluster.cluster_id, schedule_id=schedule_id) is None:
        raise _not_found(schedule_id)
    return ListScheduleFiringsResponse(
        results=store.list_firings(session, schedule_id=schedule_id, limit=limit),
        total_count=store.count_firings(session, schedule_id=schedule_id),
    )


@router.patch(
    "/{schedule_id}",
    response_model=Schedule,
    summary='Change a schedule: pause or resume ({"paused": true|false}), its trigger, name or execute body',
)
@writes_database
def update_schedule(
    request: Request,
    schedule_id: str,
    data: ScheduleUpdate,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
) -> Schedule:
    if "execute" in data.model_fields_set:
        _check_execute(request, session, namespace.namespace_id, cluster, data.execute)
    found = store.update_schedule(
        session, cluster_id=cluster.cluster_id, schedule_id=schedule_id, data=data, now=datetime.now(UTC)
    )
    if found is None:
        raise _not_found(schedule_id)
    return found


@router.delete("/{schedule_id}", status_code=204, summary="Delete a schedule (its runs stay in the history)")
@writes_database
def delete_schedule(schedule_id: str, cluster: ClusterDep, session: SessionDep) -> Response:
    if not store.delete_schedule(session, cluster_id=cluster.cluster_id, schedule_id=schedule_id):
        raise _not_found(schedule_id)
    return Response(status_code=204)
