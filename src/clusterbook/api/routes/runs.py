"""A run by its id alone: clients that know only ``run_…`` (the CLI's ``executions show RUN``) find
its cluster here, then use the cluster-scoped execution routes."""

from __future__ import annotations

from fastapi import APIRouter

from clusterbook.api.deps import NamespaceDep, SessionDep
from clusterbook.api.problems import COMMON_PROBLEMS
from clusterbook.errors import NotFound
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.store import executions as store

router = APIRouter(prefix="/v1/executions", tags=["executions"], responses=COMMON_PROBLEMS)


@router.get("/{run_id}", response_model=ClusterExecutionResult, summary="One execution, by run id, in any cluster")
def get_run(run_id: str, namespace: NamespaceDep, session: SessionDep) -> ClusterExecutionResult:
    found = store.read_execution_by_id(session, namespace_id=namespace.namespace_id, run_id=run_id)
    if found is None:
        raise NotFound(f"execution {run_id!r} not found in this namespace")
    return found
