"""Curating a completed run's clusters: a curated label beside the computed one, and merging clusters.

Both write the run in the request's transaction (``writes_database``: on SQLite the write lock is
taken as it begins), so an edit lands whole or not at all; who did it is the request's API key.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request

from clusterbook.api.auth import Access
from clusterbook.api.budget import note_cost
from clusterbook.api.deps import AccessDep, ClusterDep, SessionDep, writes_database
from clusterbook.api.problems import COMMON_PROBLEMS, problem_responses
from clusterbook.models.curation import ANONYMOUS, CentroidMergeRequest, CentroidUpdate
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.store import curation as store
from clusterbook.store.executions import read_execution

router = APIRouter(prefix="/v1/clusters/{cluster_id}/executions/{run_id}/centroids", tags=["executions"])

MERGE_COST = "a merge reloads the run's vectors and rescores it: about the cost of the run's metrics phase"


def curator(access: Access) -> tuple[str, str | None]:
    """Who is curating: the API key's name (its id when it has none), or ``anonymous`` without keys."""
    if access.key is None:
        return ANONYMOUS, None
    return access.key.name or access.key.key_id, access.key.key_id


@router.post(
    "/merge",
    response_model=ClusterExecutionResult,
    summary="Merge clusters of a completed run into the first one named",
    description="Rewrites the run's memberships and cluster sizes, rescores its metrics (silhouette, "
    "Davies-Bouldin, Calinski-Harabasz over the run's vectors; agreement with its baseline) and records "
    "the merge (who, when, which clusters, the metrics before) in the run's `merges`, in one transaction. "
    "`label` becomes the merged cluster's curated label. 422 for fewer than 2 or unknown cluster ids, "
    "409 for a run that has not completed.",
    responses={**COMMON_PROBLEMS, **problem_responses(409)},
)
@writes_database
def merge_centroids(
    request: Request,
    run_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    access: AccessDep,
    body: Annotated[CentroidMergeRequest, Body()],
) -> ClusterExecutionResult:
    from clusterbook.runner.curation import merge_centroids as merge  # the engine loads on first use

    note_cost(request, MERGE_COST)
    by, key_id = curator(access)
    return merge(
        session,
        cluster_id=cluster.cluster_id,
        run_id=run_id,
        request=body,
        by=by,
        key_id=key_id,
        factor=request.app.state.settings.size_limit_factor,
    )


@router.patch(
    "/{centroid_id}",
    response_model=ClusterExecutionResult,
    summary="Curate a cluster of a completed run: label, summary, keywords",
    description="Stored as an override beside the computed values (both returned: `label` is the effective "
    "one, `computed_label` the run's, `override` the curated values with who and when). Only the fields sent "
    "change; null removes that override. The override wins in the listing, its search and the dashboard, and "
    "is carried forward to the matched cluster of later runs (Jaccard ≥ 0.5). 409 for a run that has not "
    "completed, 404 for a cluster the run does not have.",
    responses={**COMMON_PROBLEMS, **problem_responses(409)},
)
@writes_database
def update_centroid(
    run_id: str,
    centroid_id: str,
    cluster: ClusterDep,
    session: SessionDep,
    access: AccessDep,
    body: Annotated[CentroidUpdate, Body()],
) -> ClusterExecutionResult:
    by, key_id = curator(access)
    store.curate_centroid(
        session,
        cluster_id=cluster.cluster_id,
        run_id=run_id,
        centroid_id=centroid_id,
        changes=body,
        by=by,
        key_id=key_id,
    )
    result = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert result is not None
    return result
