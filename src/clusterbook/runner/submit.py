"""Submitting a run: the one path from a cluster and an execute body to a pending run, shared by
``POST …/execute`` and the scheduler (``runner/scheduler.py``), so a scheduled run is admitted,
configured and compared exactly as a requested one is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from clusterbook.models.clusters import Cluster
from clusterbook.models.executions import ClusterExecutionResult, ExecuteRequest
from clusterbook.runner.assign import check_mode_fields, prepare_assign
from clusterbook.runner.config import run_config_for
from clusterbook.runner.limits import admit_run
from clusterbook.store.baselines import choose_baseline
from clusterbook.store.queue import submit_execution


@dataclass(frozen=True)
class PreparedRun:
    """A run that passed every check of a submit: its frozen configuration and its baseline."""

    config: dict[str, Any]
    baseline_run_id: str | None


def prepare_run(
    session: Session, *, namespace_id: str, cluster: Cluster, body: ExecuteRequest | None, size_limit_factor: float
) -> PreparedRun:
    """The checks of a submit without the submit: ValidationFailed / RunTooLarge (422) for a body the
    cluster cannot run. A schedule's execute body is checked with this when the schedule is saved."""
    body = body or ExecuteRequest()
    check_mode_fields(body)
    config = run_config_for(cluster, body)
    named = "baseline_run_id" in body.model_fields_set
    requested = body.baseline_run_id
    if body.mode == "assign":  # linear in the documents: no algorithm size limit applies
        source = prepare_assign(session, cluster, body, config)
        if not named:  # an assign run is compared with the run whose centres it used
            named, requested = True, source
    else:
        admit_run(session, namespace_id=namespace_id, config=config, factor=size_limit_factor)
    baseline = choose_baseline(
        session, namespace_id=namespace_id, cluster_id=cluster.cluster_id, requested=requested, named=named
    )
    config["baseline_run_id"] = baseline
    return PreparedRun(config, baseline)


def submit_run(
    session: Session,
    *,
    namespace_id: str,
    cluster: Cluster,
    body: ExecuteRequest | None,
    size_limit_factor: float,
    trigger: str | None = None,
) -> ClusterExecutionResult:
    """A new pending run of ``cluster`` with the overrides of ``body``, started by ``trigger``."""
    prepared = prepare_run(
        session, namespace_id=namespace_id, cluster=cluster, body=body, size_limit_factor=size_limit_factor
    )
    return submit_execution(
        session,
        namespace_id=namespace_id,
        cluster_id=cluster.cluster_id,
        config=prepared.config,
        run_name=body.run_name if body else None,
        baseline_run_id=prepared.baseline_run_id,
        trigger=trigger,
    )
