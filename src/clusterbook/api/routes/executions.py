"""Execution routes: submit a run, the history listing, compare, the latest run, one run, cancel, and
a run's per-document results (members, projection)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from clusterbook.api.budget import note_cost
from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep, finish_request_session, writes_database
from clusterbook.api.paging import PageParams, page_params, pagination_block, prepare_listing
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.errors import NotFound
from clusterbook.models.clusters import Cluster, Namespace
from clusterbook.models.compare import MAX_COMPARE_RUNS, CompareExecutionsRequest, CompareExecutionsResponse
from clusterbook.models.config_fields import MAX_SCANNED_RUNS, ExecutionConfigFieldsResponse
from clusterbook.models.executions import ClusterExecutionResult, ExecuteRequest
from clusterbook.models.listing import ListClusterExecutionsRequest, ListClusterExecutionsResponse, SortSpec
from clusterbook.models.members import (
    ExecutionHierarchy,
    ExecutionProjection,
    ListExecutionMembersRequest,
    ListExecutionMembersResponse,
)
from clusterbook.store import executions as store
from clusterbook.store import members as members_store
from clusterbook.store.centres import read_centres
from clusterbook.store.config_fields import list_config_fields
from clusterbook.store.fields import EXECUTION_FIELDS

router = APIRouter(prefix="/v1/clusters/{cluster_id}", tags=["executions"], responses=COMMON_PROBLEMS)


COMPARE_COST = (
    "each run after the first is one pass over the documents it shares with the first; compare fewer runs "
    "at once, or raise CLUSTERBOOK_QUERY_TIMEOUT for runs of about a million documents (see benchmarks/bench_compare.py)"
)


def _run_not_found(run_id: str) -> NotFound:
    return NotFound(f"execution {run_id!r} not found in this cluster")


@router.post(
    "/execute",
    response_model=ClusterExecutionResult,
    status_code=202,
    summary="Run the cluster: answers at once with the new pending run",
    description="Workers pick the run up from the queue; poll GET …/executions/{run_id} or the history. "
    "The run is compared with its baseline when it completes: the cluster's latest completed run, or the "
    "body's baseline_run_id (a completed run of the namespace; null for none). A run beyond its algorithm's "
    "size limit is refused with 422 run_too_large naming sample_size or algorithm_params.pca_components "
    "(see POST …/execute/estimate).",
)
@writes_database
def execute_cluster(
    request: Request,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    body: Annotated[ExecuteRequest | None, Body()] = None,
) -> ClusterExecutionResult:
    from clusterbook.runner.submit import submit_run  # the engine loads on first use, not at import

    run = submit_run(
        session,
        namespace_id=namespace.namespace_id,
        cluster=cluster,
        body=body,
        size_limit_factor=request.app.state.settings.size_limit_factor,
    )
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:
        request.state.after_commit = runner.wake
    return run


@router.post(
    "/executions/list",
    response_model=ListClusterExecutionsResponse,
    summary="List a cluster's execution history",
    description="Paginated, filterable, sortable, searchable execution history with aggregate stats.",
)
async def list_cluster_executions(
    request: Request,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListClusterExecutionsRequest | None, Body()] = None,
) -> Response:
    """One threadpool hop does the work: the queries, the rows, the JSON (serialised once, here,
    instead of FastAPI dumping the model, validating it again and then serialising), and the commit."""
    return await run_in_threadpool(_list_executions, request, cluster, namespace, session, params, body)


def _list_executions(
    request: Request,
    cluster: Cluster,
    namespace: Namespace,
    session: Session,
    params: PageParams,
    body: ListClusterExecutionsRequest | None,
) -> Response:
    body = body or ListClusterExecutionsRequest()
    scope = {"ns": namespace.namespace_id, "cluster": cluster.cluster_id, "list": "executions"}
    query, paging = prepare_listing(request, params, body, EXECUTION_FIELDS, scope)
    page = store.list_executions(
        session,
        cluster_id=cluster.cluster_id,
        query=query,
        page=paging.request,
        stats_scope=body.stats_scope,
        group_by=body.group_by,
        percentiles=body.percentiles,
    )
    extras: dict[str, Any] = {}
    if page.groups is not None:
        extras["groups"] = page.groups
    if page.percentiles is not None:
        extras["percentiles"] = page.percentiles
    response = ListClusterExecutionsResponse(
        results=page.results,
        pagination=pagination_block(request, paging, total=page.total, next_key=page.next_key),
        total_count=page.total,
        stats=page.stats,
        **extras,
    )
    # the contract's response exactly, unless the request asked for groups or percentiles
    content = response.model_dump_json(
        by_alias=True, exclude={name for name in ("groups", "percentiles") if name not in extras}
    )
    finish_request_session(request)
    return Response(content, media_type="application/json")


@router.post(
    "/executions/compare",
    response_model=CompareExecutionsResponse,
    summary="Compare 2-4 completed runs: config differences, measures with the best marked, cluster matching",
    description=f"The first run is the reference; each other one is related to it over the documents both "
    "clustered: ARI/AMI, the one-to-one matching of clusters with Jaccard and labels, the largest document "
    "flows and a sample of moved documents, all counted in the database from the memberships. Any completed "
    f"run of the namespace may take part (up to {MAX_COMPARE_RUNS}); an unknown or unfinished one is a 422 "
    "naming it.",
)
def compare_cluster_executions(
    request: Request,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    body: Annotated[CompareExecutionsRequest, Body()],
) -> CompareExecutionsResponse:
    from clusterbook.runner.compare import compare_runs  # the engine loads on first use, not at import

    note_cost(request, COMPARE_COST)
    return compare_runs(session, namespace_id=namespace.namespace_id, run_ids=body.run_ids)


@router.get(
    "/executions",
    response_model=ClusterExecutionResult | None,
    summary="The latest execution of a cluster (null when it has none)",
)
def latest_execution(cluster: ClusterDep, session: SessionDep) -> ClusterExecutionResult | None:
    return store.read_latest_execution(session, cluster_id=cluster.cluster_id)


@router.get(
    "/executions/config-fields",
    response_model=ExecutionConfigFieldsResponse,
    summary="The config.* fields the cluster's runs carry (declared ones and each parameter found)",
    description="What the history can filter, group_by and show as columns: each field with its value type and "
    f"how many runs carry it, read from the newest {MAX_SCANNED_RUNS} runs ('complete' false when there are more).",
)
def list_execution_config_fields(
    request: Request, cluster: ClusterDep, session: SessionDep
) -> ExecutionConfigFieldsResponse:
    note_cost(request, f"expensive here: the configuration of up to {MAX_SCANNED_RUNS} runs")
    return list_config_fields(session, cluster_id=cluster.cluster_id)


@router.get(
    "/executions/{run_id}",
    response_model=ClusterExecutionResult,
    summary="One execution",
    description="With include_vectors=true each centroid carries its centre (float32 values) in `vector`; "
    "a run that stored no centres (not completed, or without vectors) returns its centroids without one.",
)
def get_execution(
    run_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    include_vectors: Annotated[bool, Query(description="Return each centroid's centre vector too.")] = False,
) -> ClusterExecutionResult:
    run = _run_or_404(session, cluster, run_id)
    if include_vectors and run.centroids:
        found = read_centres(session, run_id=run_id)
        if found is not None:
            by_id = dict(zip(found[0], found[1].tolist(), strict=True))
            run.centroids = [c.model_copy(update={"vector": by_id.get(c.cluster_id)}) for c in run.centroids]
    return run


@router.post(
    "/executions/{run_id}/cancel",
    response_model=ClusterExecutionResult,
    summary="Cancel a pending or processing execution (again: no change; 409 when it completed or failed)",
    responses=problem_responses(409),
)
@writes_database
def cancel_execution(request: Request, run_id: str, cluster: ClusterDep, session: SessionDep) -> ClusterExecutionResult:
    found = store.cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    if found is None:
        raise _run_not_found(run_id)
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:  # the cancel may have queued webhook deliveries: send them once committed
        request.state.after_commit = runner.deliveries.wake
    return found


def _run_or_404(session: SessionDep, cluster: ClusterDep, run_id: str) -> ClusterExecutionResult:
    found = store.read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    if found is None:
        raise _run_not_found(run_id)
    return found


@router.post(
    "/executions/{run_id}/members/list",
    response_model=ListExecutionMembersResponse,
    summary="Where each document of a run landed",
    description="Paginated like the history; filter by cluster_id (null for noise), document_id or distance; "
    "sorted closest-first by default.",
)
def list_execution_members(
    run_id: str,
    request: Request,
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    params: Annotated[PageParams, Depends(page_params)],
    body: Annotated[ListExecutionMembersRequest | None, Body()] = None,
) -> ListExecutionMembersResponse:
    _run_or_404(session, cluster, run_id)
    body = body or ListExecutionMembersRequest()
    if body.sort is None:
        body = body.model_copy(update={"sort": SortSpec(field="distance", direction="asc")})
    scope = {"ns": namespace.namespace_id, "cluster": cluster.cluster_id, "run": run_id, "list": "members"}
    query, paging = prepare_listing(request, params, body, members_store.MEMBER_FIELDS, scope)
    results, fetched = members_store.list_members(session, run_id=run_id, query=query, page=paging.request)
    total = fetched.total or 0
    return ListExecutionMembersResponse(
        results=results,
        pagination=pagination_block(request, paging, total=total, next_key=fetched.next_key),
        total_count=total,
    )


@router.get(
    "/executions/{run_id}/projection",
    response_model=ExecutionProjection,
    summary="A 2-D projection of a sample of the run's points and its cluster centres (scatter plots)",
)
def get_execution_projection(run_id: str, cluster: ClusterDep, session: SessionDep) -> ExecutionProjection:
    run = _run_or_404(session, cluster, run_id)
    projection = members_store.read_projection(session, run_id=run_id)
    if projection is None:
        raise NotFound(
            f"execution {run_id!r} has no projection: it is {run.status}, and projections exist only for completed runs"
        )
    return projection


@router.get(
    "/executions/{run_id}/hierarchy",
    response_model=ExecutionHierarchy,
    summary="The labelled tree the run built over its clusters",
    description="Present for completed runs of clusters with vector_config.hierarchy (agglomeration over the "
    "centres) or attribute_config.hierarchical_grouping (one level per attribute); 404 otherwise, saying why.",
)
def get_execution_hierarchy(run_id: str, cluster: ClusterDep, session: SessionDep) -> ExecutionHierarchy:
    run = _run_or_404(session, cluster, run_id)
    tree = members_store.read_hierarchy(session, run_id=run_id)
    if tree is None:
        why = (
            f"it is {run.status}, and trees are built by completed runs"
            if run.status != "completed"
            else 'its cluster asked for none; set vector_config.hierarchy (e.g. {"levels": 2}) or '
            "attribute_config.hierarchical_grouping and execute it again"
        )
        raise NotFound(f"execution {run_id!r} has no hierarchy: {why}")
    return tree
