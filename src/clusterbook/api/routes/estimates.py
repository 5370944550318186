"""The estimate of a run before it is queued: same body as ``POST …/execute``, nothing written."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from clusterbook.api.deps import ClusterDep, NamespaceDep, SessionDep, SettingsDep
from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.errors import ErrorLocation, ValidationFailed
from clusterbook.models.estimates import ExecutionEstimate
from clusterbook.models.executions import ExecuteRequest

router = APIRouter(prefix="/v1/clusters/{cluster_id}", tags=["executions"], responses=COMMON_PROBLEMS)


@router.post(
    "/execute/estimate",
    response_model=ExecutionEstimate,
    summary="What a run would fit and cost, and whether it would be refused; nothing is queued",
    description="Takes the body of POST …/execute. Counts the documents and dimensions of the cluster's "
    "collections in the database, and answers the algorithm's estimated seconds and memory, its declared "
    "size limit (× CLUSTERBOOK_SIZE_LIMIT_FACTOR) and, when the run would be refused with 422 "
    "run_too_large, the reason naming sample_size or algorithm_params.pca_components.",
)
def estimate_execution(
    cluster: ClusterDep,
    namespace: NamespaceDep,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[ExecuteRequest | None, Body()] = None,
) -> ExecutionEstimate:
    from clusterbook.runner.config import run_config_for  # the engine loads on first use, not at import
    from clusterbook.runner.limits import estimate_submission

    if body is not None and body.mode == "assign":
        message = (
            "estimates are of clustering runs; an assign run costs one pass over the documents against the "
            "source run's centres (about 5 s per million on one thread, see benchmarks/bench_assign.py) and has "
            "no size limit: leave mode out to estimate a full run"
        )
        raise ValidationFailed(message, errors=[ErrorLocation("mode", message)])
    config = run_config_for(cluster, body)
    estimate = estimate_submission(
        session, namespace_id=namespace.namespace_id, config=config, factor=settings.size_limit_factor
    )
    return ExecutionEstimate(**estimate.to_dict())
