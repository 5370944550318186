"""Dashboard aggregates: a cluster's execution trends over time, and overviews of many clusters."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from clusterbook.api.budget import note_cost
from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep
from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.models.trends import (
    ClusterOverviewRequest,
    ClusterOverviewResponse,
    ExecutionTrendsRequest,
    ExecutionTrendsResponse,
)
from clusterbook.store.cost import describe_cost
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.listing import ListQuery
from clusterbook.store.overview import list_cluster_overviews
from clusterbook.store.trends import execution_trends

router = APIRouter(prefix="/v1/clusters", tags=["dashboard"], responses=COMMON_PROBLEMS)


@router.post(
    "/overview",
    response_model=ClusterOverviewResponse,
    summary="Run counts, latest run and latest completed run of up to 100 clusters",
    description="For cluster lists: pass the ids of a page of POST /v1/clusters/list. Ids not in the "
    "namespace are left out.",
)
def cluster_overview(
    request: Request, data: ClusterOverviewRequest, namespace: NamespaceDep, session: SessionDep
) -> ClusterOverviewResponse:
    note_cost(
        request,
        f"expensive here: the histories of {len(data.cluster_ids)} clusters. To narrow it: ask for fewer clusters",
    )
    results = list_cluster_overviews(session, namespace_id=namespace.namespace_id, cluster_ids=data.cluster_ids)
    return ClusterOverviewResponse(results=results)


@router.post(
    "/{cluster_id}/executions/trends",
    response_model=ExecutionTrendsResponse,
    summary="The execution history grouped into hours, days or weeks",
    description="Takes the listing's filters and search; per bucket of created_at: runs by status, mean and "
    "median duration of finished runs, mean silhouette. Computed in the database, whatever the history's size. "
    "With group_by (status, algorithm or a config.* field): the same buckets per value, in 'groups'.",
)
def cluster_execution_trends(
    request: Request,
    cluster: ClusterDep,
    session: SessionDep,
    body: Annotated[ExecutionTrendsRequest | None, Body()] = None,
) -> Response:
    body = body or ExecutionTrendsRequest()
    query = ListQuery(body.filter_tree(), None, tuple(body.search_terms()), body.filters)
    note_cost(request, describe_cost(query, EXECUTION_FIELDS))
    found = execution_trends(
        session,
        cluster_id=cluster.cluster_id,
        query=query,
        bucket=body.bucket,
        utc_offset_minutes=body.utc_offset_minutes,
        group_by=body.group_by,
    )
    # the contract's shape exactly, unless the request asked for groups
    content = found.model_dump_json(by_alias=True, exclude={"groups"} if found.groups is None else None)
    return Response(content, media_type="application/json")
