"""Assign runs: submitted against a completed source run, computed by placing documents against its
stored centres (``engine/assign.py``) instead of clustering again, and judged against the cluster's
``vector_config.recluster`` policy (``should_recluster``).

At submit (``prepare_assign``) the source run is resolved and checked — a completed run of this
cluster with stored centres, in a space new documents can be put in — and the run's configuration
records it, the threshold and which documents to assign. In the run's process (``compute_assign``)
the documents changed since the source run started (or all) are loaded, assigned, measured, and the
verdict is written with the completion, on the run and on the cluster.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy.orm import Session

from clusterbook.engine import EngineResult
from clusterbook.engine.assign import assign_documents
from clusterbook.engine.embedders import make_embedder
from clusterbook.engine.geometry import normalize_rows
from clusterbook.engine.results import CentroidResult
from clusterbook.errors import ClusteringFailed, ErrorLocation, ValidationFailed
from clusterbook.models.clusters import Cluster, ReclusterPolicy, VectorConfig
from clusterbook.models.executions import DEFAULT_ASSIGNMENT_THRESHOLD, ClusterExecutionResult, ExecuteRequest
from clusterbook.runner.config import RESUBMIT, RunSnapshot, read_snapshot
from clusterbook.store import executions as runs
from clusterbook.store.baselines import latest_completed_run_id
from clusterbook.store.centres import read_centres
from clusterbook.store.documents import RunDocuments, load_run_documents

FITTED_EMBEDDERS = frozenset({"tfidf-svd"})
"""Embedders fitted on each run's own documents: their space differs from run to run, so documents
embedded now cannot be compared with an earlier run's centres."""
ASSIGN_ONLY = ("source_run_id", "assignment_threshold", "documents")
NOT_IN_ASSIGN = ("algorithm_params", "sample_size", "stability")


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[ErrorLocation(field, message)])


def check_mode_fields(request: ExecuteRequest) -> None:
    """Assign-only fields without ``mode: "assign"``, or full-run overrides with it: a 422 naming them."""
    given = request.model_fields_set
    if request.mode != "assign":
        for name in ASSIGN_ONLY:
            if name in given and getattr(request, name) is not None:
                raise _refuse(name, f'{name} applies only to "mode": "assign"; add it, or leave {name} out')
        return
    for name in NOT_IN_ASSIGN:
        if getattr(request, name) is not None:
            raise _refuse(
                name,
                f"{name} changes how documents are clustered, and an assign run does not cluster: it places "
                "documents against the source run's centres; leave it out, or execute in mode 'cluster'",
            )


def prepare_assign(session: Session, cluster: Cluster, request: ExecuteRequest, config: dict[str, Any]) -> str:
    """Resolve and check the source run, record the assign settings in ``config``; returns the source run id."""
    if cluster.cluster_type != "vector":
        raise _refuse(
            "mode",
            "assign mode places documents against cluster centres, and an attribute cluster's groups are "
            "fixed by metadata; execute it in mode 'cluster' (grouping is cheap)",
        )
    source = _source_run(session, cluster, request.source_run_id)
    source_config = source.config or {}
    embedder = source_config.get("embedder")
    if source_config.get("embedded") and embedder in FITTED_EMBEDDERS:
        raise _refuse(
            "source_run_id",
            f"source run {source.run_id} embedded its documents with {embedder!r}, which is fitted on each run's "
            "documents, so new documents cannot be placed in its space; upload vectors with the documents or "
            "use the 'minilm' embedder, then execute the cluster in full once",
        )
    policy = (cluster.vector_config or VectorConfig()).recluster
    assert source.started_at is not None  # a completed run has started
    config.update(
        mode="assign",
        source_run_id=source.run_id,
        algorithm=source.algorithm or config.get("algorithm"),
        embedder=embedder or config.get("embedder"),
        normalize_features=bool(source_config.get("normalize_features", True)),
        assignment_threshold=DEFAULT_ASSIGNMENT_THRESHOLD
        if request.assignment_threshold is None
        else request.assignment_threshold,
        documents=request.documents or "changed",
        changed_since=source.started_at.isoformat(),
        recluster=policy.model_dump(),
    )
    return source.run_id


def _source_run(session: Session, cluster: Cluster, requested: str | None) -> ClusterExecutionResult:
    if requested is None:
        latest = latest_completed_run_id(session, cluster_id=cluster.cluster_id)
        if latest is None:
            raise _refuse(
                "source_run_id",
                "this cluster has no completed run to assign documents to; execute it in mode 'cluster' first",
            )
        requested = latest
    source = runs.read_execution(session, cluster_id=cluster.cluster_id, run_id=requested)
    if source is None:
        raise _refuse(
            "source_run_id",
            f"source_run_id {requested!r} is not a run of this cluster; name one of its completed runs, or leave "
            "it out for the latest",
        )
    if source.status != "completed":
        raise _refuse("source_run_id", f"source run {requested} is {source.status}; assign mode needs a completed run")
    if read_centres(session, run_id=source.run_id) is None:
        raise _refuse(
            "source_run_id",
            f"source run {requested} has no stored centres (it ran without vectors, or before centres were "
            "stored); execute the cluster in full and assign to that run",
        )
    return source


class AssignSnapshot(RunSnapshot):
    """An assign run's stored configuration (``prepare_assign`` wrote it)."""

    source_run_id: str
    assignment_threshold: float
    documents: str = "changed"
    changed_since: datetime | None = None
    recluster: ReclusterPolicy = ReclusterPolicy()


def read_assign_snapshot(config: dict[str, Any]) -> AssignSnapshot:
    """The assign run's configuration, or ClusteringFailed saying what is wrong with it."""
    read_snapshot(config)  # the common part, with its messages
    try:
        return AssignSnapshot.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ClusteringFailed(f"This assign run's configuration is not usable ({problems}); {RESUBMIT}") from None


def load_assign_input(
    session: Session, claim_namespace: str, snapshot: AssignSnapshot
) -> tuple[RunDocuments, list[str], np.ndarray, list[dict[str, Any]]]:
    """The documents to assign and the source run's centres (ids, k × d array) and centroids."""
    found = read_centres(session, run_id=snapshot.source_run_id)
    source = runs.read_execution_by_id(session, namespace_id=claim_namespace, run_id=snapshot.source_run_id)
    if found is None or source is None:
        raise ClusteringFailed(
            f"source run {snapshot.source_run_id} or its centres were deleted before this run started; "
            "submit the assign run again against another completed run"
        )
    documents = load_run_documents(
        session,
        namespace_id=claim_namespace,
        collection_ids=list(snapshot.collection_ids or []),
        filters=snapshot.filters,
        with_metadata=False,
        updated_since=snapshot.changed_since if snapshot.documents == "changed" else None,
    )
    centroids = [c.model_dump() for c in source.centroids or []]
    return documents, found[0], found[1], centroids


def _space(documents: RunDocuments, snapshot: AssignSnapshot) -> np.ndarray:
    """The documents in the source run's space: their vectors, or embedded like the source's texts."""
    if documents.vectors is not None:
        X = np.ascontiguousarray(documents.vectors, dtype=np.float32)
    elif not documents.document_ids:
        return np.empty((0, 0), dtype=np.float32)
    else:
        if any(t is None or not t.strip() for t in documents.texts):
            raise ClusteringFailed(
                "some documents to assign have neither vectors nor text; give them text or vectors, or leave "
                "them out with the cluster's filters"
            )
        X = make_embedder(snapshot.embedder or "minilm", snapshot.random_state or 0).embed(
            [str(t) for t in documents.texts]
        )
    if snapshot.normalize_features:
        normalize_rows(X)
    return X


def verdict(
    run_id: str, unassigned_ratio: float | None, drift: float | None, policy: ReclusterPolicy
) -> dict[str, Any]:
    """``should_recluster`` and why, against the cluster's policy."""
    reasons = []
    if unassigned_ratio is not None and unassigned_ratio > policy.max_unassigned_ratio:
        reasons.append(
            f"{unassigned_ratio:.0%} of the documents were left unassigned, more than the "
            f"{policy.max_unassigned_ratio:.0%} allowed (vector_config.recluster.max_unassigned_ratio)"
        )
    if drift is not None and drift > policy.max_drift:
        reasons.append(
            f"the cluster shares drifted {drift:.2f} from the source run's (total variation), more than the "
            f"{policy.max_drift:.2f} allowed (vector_config.recluster.max_drift)"
        )
    return {"should_recluster": bool(reasons), "reason": "; ".join(reasons) or None, "run_id": run_id}


def assign_result(
    run_id: str,
    snapshot: AssignSnapshot,
    loaded: tuple[RunDocuments, list[str], np.ndarray, list[dict[str, Any]]],
) -> tuple[EngineResult, list[str], dict[str, Any]]:
    """The assign run's result (shaped like a full run's), its member ids and its verdict."""
    documents, centre_ids, centres, centroids = loaded
    started = time.perf_counter()
    X = _space(documents, snapshot)
    embed_ms = round((time.perf_counter() - started) * 1000, 3)
    if not len(documents.document_ids):
        X = np.empty((0, centres.shape[1]), dtype=np.float32)
    source_sizes = np.array([c.get("num_members") or 0 for c in centroids], dtype=np.float64)
    if len(source_sizes) != len(centres):
        source_sizes = np.zeros(len(centres))
    result = assign_documents(
        X,
        centres,
        source_sizes,
        documents.document_ids,
        threshold=snapshot.assignment_threshold,
        random_state=snapshot.random_state or 0,
    )
    notes = dict(result.metrics.notes)
    notes["noise_points"] = "assign run: the documents left unassigned (below the assignment threshold)"
    if not documents.document_ids:
        notes["unassigned_ratio"] = "no documents were added or changed since the source run started"
    found = verdict(run_id, result.unassigned_ratio, result.share_drift, snapshot.recluster)
    by_id = {c.get("cluster_id"): c for c in centroids}
    engine_result = EngineResult(
        labels=result.labels,
        distances=result.distances,
        centroids=[
            CentroidResult(
                cluster_id,
                int(result.sizes[n]),
                str(by_id.get(cluster_id, {}).get("label") or f"Cluster {n}"),
                by_id.get(cluster_id, {}).get("summary"),
                list(by_id.get(cluster_id, {}).get("keywords") or []),
            )
            for n, cluster_id in enumerate(centre_ids)
        ],
        silhouette_score=result.metrics.silhouette_score,
        davies_bouldin_index=result.metrics.davies_bouldin_index,
        calinski_harabasz_score=result.metrics.calinski_harabasz_score,
        metric_notes=notes,
        noise_points=int((result.labels < 0).sum()),
        projection=result.projection,
        llm_labeling_errors=[],
        effective_config={
            "mode": "assign",
            "source_run_id": snapshot.source_run_id,
            "algorithm": snapshot.algorithm,
            "assignment_threshold": snapshot.assignment_threshold,
            "documents": snapshot.documents,
            "changed_since": None if snapshot.changed_since is None else snapshot.changed_since.isoformat(),
            "recluster": snapshot.recluster.model_dump(),
            "embedder": snapshot.embedder,
            "embedded": documents.vectors is None and bool(documents.document_ids),
            "normalize_features": snapshot.normalize_features,
            "random_state": snapshot.random_state or 0,
            "num_documents": len(documents.document_ids),
            "dimensions": int(centres.shape[1]),
            "num_clusters": len(centres),
            "assign_backend": result.backend,
            "share_drift": result.share_drift,
            "mean_similarity": result.mean_similarity,
        },
        timings_ms={"embed": embed_ms, **result.timings_ms},
        centers=centres,
        unassigned_ratio=result.unassigned_ratio,
    )
    return engine_result, documents.document_ids, found
