"""The body of one run, executed in its own process: load the documents, cluster, persist.

It runs apart from the worker that supervises it, so a CPU-bound run never stalls the API, and a
run can be stopped at once by ending its process. Everything it writes is guarded by the claim's
attempt token (see ``store.queue``): if the run was canceled or reclaimed meanwhile, nothing lands.
"""

from __future__ import annotations

import logging
import math
import os
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from clusterbook.engine import EngineInput, EngineResult, run_pipeline
from clusterbook.errors import ClusterbookError
from clusterbook.models.measures import METRIC_MEASURES
from clusterbook.runner.agreement import relate_to_baseline
from clusterbook.runner.assign import assign_result, load_assign_input, read_assign_snapshot
from clusterbook.runner.config import engine_config, read_snapshot
from clusterbook.runner.parallel import ProcessMap, become_group_leader
from clusterbook.settings import configure_logging
from clusterbook.store.clusters import record_recluster
from clusterbook.store.db import make_engine, make_sessionmaker, transaction
from clusterbook.store.documents import load_run_documents
from clusterbook.store.queue import Claim, RunOutcome, complete_execution, fail_execution, record_worker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComputeSettings:
    """What the run's process needs from the server's settings (picklable, no secrets stored)."""

    database_url: str
    busy_timeout_ms: int
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    threads: int = 1
    """BLAS/OpenMP threads this run may use (``Settings.thread_budget``)."""
    log_level: str = "info"
    """The server's log level: the run's process logs its own end (completed or failed), once."""
    runner: str = "local"
    """Recorded as the run's ``config.runner``; ``ray`` also sends its parallel tasks to Ray."""
    ray_node_id: str | None = None
    """The Ray node computing the run (``config.ray_node_id``), set by the Ray task itself."""
    worker_id: str | None = None
    """Written as the run's ``worker_id`` when the computation starts (a Ray task's node and pid)."""


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Read by libraries loaded later in the process (PyTorch for the sentence embedder); the ones the
fork server preloaded (NumPy's BLAS, scikit-learn's OpenMP) are limited through threadpoolctl."""


def run_process(claim: Claim, settings: ComputeSettings) -> None:
    """Entry point of a run's own process: lead a process group first, so the worker ends a canceled
    or timed-out run together with the task processes it started (``runner.parallel``)."""
    become_group_leader()
    configure_logging(settings.log_level)
    compute_run(claim, settings)


def compute_run(claim: Claim, settings: ComputeSettings) -> None:
    """Compute ``claim`` and record its outcome (completed or failed), using at most
    ``settings.threads`` threads for numerical work (its parallel tasks share that budget)."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(settings.threads)
    with threadpool_limits(limits=settings.threads):
        _compute(claim, settings)


def task_map(settings: ComputeSettings) -> Any:
    """The run's ``TaskMap``: Ray tasks when the run itself is a Ray task, local processes otherwise."""
    if settings.runner == "ray":
        from clusterbook.runner.ray_backend import RayMap

        return RayMap(settings.threads)
    return ProcessMap(settings.threads)


def effective_threads() -> int:
    """The most threads any loaded numerical library will use now: what a run's budget really is."""
    return max((int(lib["num_threads"]) for lib in threadpool_info()), default=1)


def _compute(claim: Claim, settings: ComputeSettings) -> None:
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    writes = make_sessionmaker(engine, writes=True)
    reads = make_sessionmaker(engine, snapshot=True)  # the load reads vectors and ids in one snapshot
    started = time.perf_counter()
    try:
        if settings.worker_id is not None:
            with transaction(writes) as session:
                if not record_worker(session, run_id=claim.run_id, token=claim.token, worker_id=settings.worker_id):
                    logger.info("run %s is no longer this attempt's; not computing it", claim.run_id)
                    return
        if claim.config.get("mode") == "assign":
            _compute_assign(claim, settings, writes, reads, started)
            return
        snapshot = read_snapshot(claim.config)
        config = engine_config(snapshot, llm_base_url=settings.llm_base_url, llm_api_key=settings.llm_api_key)
        with transaction(reads) as session:
            documents = load_run_documents(
                session,
                namespace_id=claim.namespace_id,
                collection_ids=list(snapshot.collection_ids or []),
                filters=snapshot.filters,
                with_metadata=config.algorithm == "attribute_based",  # the only step that reads metadata
            )
        load_ms = (time.perf_counter() - started) * 1000.0
        engine_input = EngineInput(
            document_ids=documents.document_ids,
            texts=documents.texts,
            metadata=documents.metadata,
            vectors=documents.vectors,
            config=config,
            overwrite_vectors=True,  # loaded for this run alone: normalised in place, not copied
        )
        member_ids = documents.document_ids
        del documents
        tasks = task_map(settings)
        result = run_pipeline(engine_input, tasks)
        del engine_input  # vectors, texts and metadata: free them before the memberships are built
        persist_started = time.perf_counter()
        outcome = outcome_of(result, claim.config, load_ms=load_ms, llm_configured=config.llm is not None)
        outcome.config["compute_threads"] = effective_threads()
        outcome.config["runner"] = settings.runner
        if settings.ray_node_id is not None:
            outcome.config["ray_node_id"] = settings.ray_node_id
        if config.stability is not None:  # how the resamples ran: 0 in the run's own process
            outcome.config["stability_processes"] = tasks.last_processes
        outcome.member_ids = member_ids
        _persist(writes, claim, outcome, None, started, persist_started)
    except ClusterbookError as exc:  # an expected problem (data, configuration): the message says it all
        _record_failure(writes, claim, exc.message.replace("{cluster_id}", claim.cluster_id), None)
    except Exception as exc:  # noqa: BLE001 - any other failure is recorded on the run, never lost
        message = (
            f"Internal error while clustering: {type(exc).__name__}: {exc}. This is a clusterbook bug; "
            "the traceback has the details for a report."
        )
        _record_failure(writes, claim, message, traceback.format_exc())
    finally:
        engine.dispose()


def _persist(
    writes: Any,
    claim: Claim,
    outcome: RunOutcome,
    recluster: dict[str, Any] | None,
    started: float,
    persist_started: float,
) -> None:
    """Write the completed run; in the same transaction its agreement with the baseline and the
    cluster's re-cluster verdict (``recluster``: an assign run's; None: a full run clears it)."""
    with transaction(writes) as session:
        written = complete_execution(session, run_id=claim.run_id, token=claim.token, outcome=outcome)
        if written:  # same transaction, same token: agreement lands with the completion or not at all
            relate_to_baseline(session, run_id=claim.run_id, token=claim.token)
            record_recluster(session, cluster_id=claim.cluster_id, verdict=recluster)
    logger.info(
        "run %s %s in %.0f ms (persist %.0f ms)",
        claim.run_id,
        "completed" if written else "finished but was no longer ours",
        (time.perf_counter() - started) * 1000.0,
        (time.perf_counter() - persist_started) * 1000.0,
    )


def _compute_assign(claim: Claim, settings: ComputeSettings, writes: Any, reads: Any, started: float) -> None:
    """An assign run (``runner/assign.py``): load the documents and the source's centres, assign, persist."""
    snapshot = read_assign_snapshot(claim.config)
    with transaction(reads) as session:
        loaded = load_assign_input(session, claim.namespace_id, snapshot)
    load_ms = (time.perf_counter() - started) * 1000.0
    result, member_ids, recluster = assign_result(claim.run_id, snapshot, loaded)
    del loaded
    persist_started = time.perf_counter()
    outcome = outcome_of(result, claim.config, load_ms=load_ms, llm_configured=False)
    outcome.config["compute_threads"] = effective_threads()
    outcome.config["runner"] = settings.runner
    outcome.details["recluster"] = recluster
    outcome.member_ids = member_ids
    _persist(writes, claim, outcome, recluster, started, persist_started)


def _record_failure(writes: Any, claim: Claim, message: str, trace: str | None) -> None:
    """``trace`` only for unexpected failures: a traceback helps a bug report, not a user's data problem."""
    with transaction(writes) as session:
        fail_execution(session, run_id=claim.run_id, token=claim.token, message=message, traceback=trace)
    logger.info("run %s failed: %s", claim.run_id, message)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def engine_metrics(result: EngineResult) -> dict[str, float | int | None]:
    """The declared metrics, read from the engine's result attribute of the same name (NaN/inf as null).
    A declared metric the engine does not produce is null, so a new one fails loudly in the walk test."""
    values: dict[str, float | int | None] = {}
    for measure in METRIC_MEASURES:
        raw = getattr(result, measure.name, None)
        if raw is None:
            values[measure.name] = None
        elif measure.kind == "integer":
            values[measure.name] = int(raw)
        else:
            values[measure.name] = _finite(float(raw))
    return values


def outcome_of(result: EngineResult, submitted: dict[str, Any], *, load_ms: float, llm_configured: bool) -> RunOutcome:
    """The engine's result in the shape the store writes (ids as 'cl_<n>', NaN as null)."""
    labels = result.labels
    names: list[str | None] = [f"cl_{c}" for c in range(len(result.centroids))]
    names.append(None)  # label -1 (noise) indexes the last entry
    member_clusters = [names[label] for label in labels.tolist()]  # one shared string per cluster
    distances = result.distances.astype(np.float64).tolist()
    if (labels < 0).any() or np.isnan(result.distances).any():
        distances = [None if math.isnan(d) else d for d in distances]
    llm_errors = list(result.llm_labeling_errors)
    if submitted.get("llm") and not llm_configured:
        llm_errors.append(
            '{"error": "LLM labeling is enabled but no endpoint is configured: set llm_labeling.base_url or '
            'CLUSTERBOOK_LLM_BASE_URL", "clusters": []}'
        )
    config = {
        **result.effective_config,
        "collection_ids": submitted.get("collection_ids"),
        "filters": submitted.get("filters"),
        "llm": submitted.get("llm"),
        "baseline_run_id": submitted.get("baseline_run_id"),
        **({"gpus": submitted["gpus"]} if submitted.get("gpus") else {}),
    }
    return RunOutcome(
        num_clusters=len(result.centroids),
        num_points=int(labels.shape[0]),
        metrics=engine_metrics(result),
        centroids=[
            {
                "cluster_id": c.cluster_id,
                "num_members": c.num_members,
                "label": c.label,
                "summary": c.summary,
                "keywords": list(c.keywords),
                "stability": _finite(c.stability),
                "representative_ids": list(c.representative_ids),
            }
            for c in result.centroids
        ],
        llm_labeling_errors=llm_errors,
        config=config,
        details={"timings_ms": {"load": round(load_ms, 1), **result.timings_ms}, "metric_notes": result.metric_notes},
        member_clusters=member_clusters,
        member_distances=distances,
        projection=result.projection,
        centers=result.centers,
        hierarchy=result.hierarchy,
    )
