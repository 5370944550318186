"""Execution routes: the history listing, the latest run, one run, and cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep, writes_database
from clusterbook.api.paging import PageParams, page_params, pagination_block, prepare_listing
from clusterbook.errors import NotFound
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.listing import ListClusterExecutionsRequest, ListClusterExecutionsResponse
from clusterbook.store import executions as store
from clusterbook.store.fields import EXECUTION_FIELDS

router = APIRouter(prefix="/v1/clusters/{cluster_id}", tags=["executions"])


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(f"execution {run_id!r} not found in this cluster")


@router.post(
    "/executions/list",
    response_model=ListClusterExecutionsResponse,
    summary="List a cluster's execution history",
    description="Paginated, filterable, sortable, searchable execution history with aggregate stats.",
)
def list_cluster_executions(
    request: Request,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListClusterExecutionsRequest | None, Body()] = None,
) -> ListClusterExecutionsResponse:
    body = body or ListClusterExecutionsRequest()
    scope = {"ns": namespace.namespace_id, "cluster": cluster.cluster_id, "list": "executions"}
    query, paging = prepare_listing(request, params, body, EXECUTION_FIELDS, scope)
    page = store.list_executions(
        session, cluster_id=cluster.cluster_id, query=query, page=paging.request, stats_scope=body.stats_scope
    )
    return ListClusterExecutionsResponse(
        results=page.results,
        pagination=pagination_block(request, paging, total=page.total, next_key=page.next_key),
        total_count=page.total,
        stats=page.stats,
    )


@router.get(
    "/executions",
    response_model=ClusterExecutionResult | None,
    summary="The latest execution of a cluster (null when it has none)",
)
def latest_execution(cluster: ClusterDep, session: SessionDep) -> ClusterExecutionResult | None:
    return store.read_latest_execution(session, cluster_id=cluster.cluster_id)


@router.get("/executions/{run_id}", response_model=ClusterExecutionResult, summary="One execution")
def get_execution(run_id: str, cluster: ClusterDep, session: SessionDep) -> ClusterExecutionResult:
    found = store.read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    if found is None:
        raise _run_not_found(run_id)
    return found


@router.post(
    "/executions/{run_id}/cancel",
    response_model=ClusterExecutionResult,
    summary="Cancel a pending or processing execution (409 when it already ended)",
)
@writes_database
def cancel_execution(run_id: str, cluster: ClusterDep, session: SessionDep) -> ClusterExecutionResult:
    found = store.cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    if found is None:
        raise _run_not_found(run_id)
    return found
