"""Merging clusters of a completed run, in one transaction of the request that asks for it.

Why here (the runner) and not in the store: a merge recomputes the run's metrics with the engine's own
functions (``engine/metrics.cluster_metrics``, ``engine/geometry``) over the run's vectors, read again
by the run's own loader (``store/documents.load_run_documents``, the run's collections and pre-filter;
re-embedded with the run's embedder and seed when the run embedded texts), so the merged run scores
exactly as a run that had found those clusters. Its agreement with its baseline is counted again from
the rewritten memberships (``runner/relation.py``). The memberships, sizes, centroids, projection,
metrics and the merge record are written in the caller's transaction: a failure anywhere leaves the
run as it was.

Cost: the vectors of the run's documents are held once (float32); a run of more than
``MERGE_MAX_CELLS`` documents × dimensions (scaled by ``CLUSTERBOOK_SIZE_LIMIT_FACTOR``) is refused
with 422 ``run_too_large`` before anything is read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from clusterbook.engine.embedders import make_embedder
from clusterbook.engine.geometry import cluster_means, distances_to_means
from clusterbook.engine.metrics import METRIC_NAMES, cluster_metrics, unavailable
from clusterbook.errors import ClusteringFailed, RunTooLarge
from clusterbook.models.curation import MAX_KEYWORDS, CentroidMergeRequest, effective_centroid, stamp
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.models.measures import BASELINE_MEASURES
from clusterbook.runner.agreement import matched_centroids
from clusterbook.runner.relation import relate_runs
from clusterbook.store.baselines import baseline_centroids
from clusterbook.store.curation import (
    CuratedRun,
    lock_completed_run,
    member_clusters,
    merge_projection,
    move_members,
    unknown_merge_ids,
    write_curated,
    write_distances,
)
from clusterbook.store.documents import load_run_documents
from clusterbook.store.executions import read_execution

MERGE_MAX_CELLS = 50_000_000
"""Documents × dimensions a merge reloads in a request: 200 MB of float32 vectors."""


def merge_centroids(
    session: Session,
    *,
    cluster_id: str,
    run_id: str,
    request: CentroidMergeRequest,
    by: str,
    key_id: str | None,
    factor: float = 1.0,
) -> ClusterExecutionResult:
    """Merge ``request.cluster_ids`` of the run into the first of them and rescore the run."""
    run = lock_completed_run(session, cluster_id=cluster_id, run_id=run_id)
    unknown_merge_ids(run, request.cluster_ids)
    dimensions = int(run.config.get("dimensions") or 1)
    limit = int(MERGE_MAX_CELLS * factor)
    if run.num_points * dimensions > limit:
        raise RunTooLarge(
            f"merging reloads the run's {run.num_points:,} vectors of {dimensions} dimensions "
            f"({run.num_points * dimensions:,} values), more than the {limit:,} a request may hold; "
            "execute the cluster again with fewer clusters (algorithm_params) instead, or raise "
            "CLUSTERBOOK_SIZE_LIMIT_FACTOR"
        )
    now = datetime.now(UTC)
    into, others = request.cluster_ids[0], request.cluster_ids[1:]
    move_members(session, run_id=run_id, into=into, others=others)
    centroids = _merged_centroids(run, request, by=by, key_id=key_id, at=now)
    metrics, notes, distances = _rescore(session, run, centroids, into)
    write_distances(session, run_id=run_id, distances=distances)
    sizes = {str(c["cluster_id"]): int(c["num_members"]) for c in run.centroids}
    merge_projection(session, run_id=run_id, into=into, others=others, sizes=sizes)
    metrics, centroids = _relate(session, run, metrics, centroids, notes)
    details = dict(run.details)
    details["metric_notes"] = notes
    merge = {
        "into": into,
        "cluster_ids": list(request.cluster_ids),
        "label": request.label,
        "metrics_before": {name: run.metrics.get(name) for name in METRIC_NAMES},
        **stamp(by, key_id, now),
    }
    details["merges"] = [*(details.get("merges") or []), merge]
    write_curated(session, run=run, centroids=centroids, details=details, metrics=metrics)
    found = read_execution(session, cluster_id=cluster_id, run_id=run_id)
    assert found is not None
    return found


def _merged_centroids(
    run: CuratedRun, request: CentroidMergeRequest, *, by: str, key_id: str | None, at: datetime
) -> list[dict[str, Any]]:
    """The run's centroids with the merged ones folded into the first: sizes summed, computed keywords
    pooled (the first's first), the first's label and override kept, ``label`` a new override."""
    merged = set(request.cluster_ids)
    by_id = {str(c["cluster_id"]): effective_centroid(c) for c in run.centroids}
    parts = [by_id[cluster_id] for cluster_id in request.cluster_ids]
    first = parts[0]
    keywords: list[str] = []
    for part in parts:
        keywords.extend(k for k in part.get("computed_keywords") or [] if k not in keywords)
    merged_from: list[str] = []
    for part in parts:
        merged_from.extend(part.get("merged_from") or [part["cluster_id"]])
    override = dict(first.get("override") or {})
    if request.label is not None:
        override = {**override, "label": request.label, **stamp(by, key_id, at)}
    combined = {
        **first,
        "num_members": sum(int(p["num_members"]) for p in parts),
        "computed_keywords": keywords[:MAX_KEYWORDS],
        "override": override or None,
        "merged_from": merged_from,
        "stability": None,
        "inherited": first.get("inherited"),
    }
    out = []
    for centroid in run.centroids:
        cluster_id = str(centroid["cluster_id"])
        if cluster_id == first["cluster_id"]:
            out.append(effective_centroid(combined))
        elif cluster_id not in merged:
            out.append(centroid)
    return out


def _rescore(
    session: Session, run: CuratedRun, centroids: list[dict[str, Any]], into: str
) -> tuple[dict[str, float | int | None], dict[str, str], dict[str, float | None]]:
    """The run's metrics over its merged clusters, their notes, and the merged members' new distances."""
    notes = dict(run.details.get("metric_notes") or {})
    for name in METRIC_NAMES:
        notes.pop(name, None)
    metrics = dict(run.metrics)
    if run.metrics.get("stability") is not None or "stability" in notes:
        metrics["stability"] = None
        notes["stability"] = "not recomputed after clusters were merged; execute the cluster again with stability"
    members = member_clusters(session, run_id=run.run_id)
    documents = _reload(session, run)
    positions = {doc: i for i, doc in enumerate(documents.document_ids)}
    rows = sorted(positions[doc] for doc in members if doc in positions)  # the run's own order
    missing = len(members) - len(rows)
    index = {str(c["cluster_id"]): i for i, c in enumerate(centroids)}
    labels = np.array([index.get(members[documents.document_ids[r]] or "", -1) for r in rows], dtype=np.int64)
    X = _vectors(run, documents, rows)
    distances: dict[str, float | None] = {}
    if X is None:
        scored = unavailable("no vectors to measure: supply vectors, or text for every document")
    else:
        means = cluster_means(X, labels, len(centroids))
        to_mean = distances_to_means(X, labels, means)
        scored = cluster_metrics(X, labels, int(run.config.get("random_state") or 0), means=means, distances=to_mean)
        target = index[into]
        for row, label, distance in zip(rows, labels.tolist(), to_mean.tolist(), strict=True):
            if label == target:
                distances[documents.document_ids[row]] = None if np.isnan(distance) else float(distance)
    for name in METRIC_NAMES:
        metrics[name] = getattr(scored, name)
    notes.update(scored.notes)
    if missing:
        notes["merge"] = f"rescored on {len(rows):,} documents; {missing:,} were deleted since the run"
    return metrics, notes, distances


def _reload(session: Session, run: CuratedRun) -> Any:
    try:
        return load_run_documents(
            session,
            namespace_id=run.namespace_id,
            collection_ids=list(run.config.get("collection_ids") or []),
            filters=run.config.get("filters"),
            with_metadata=False,
        )
    except ClusteringFailed as exc:
        raise ClusteringFailed(f"cannot rescore the merged run: {exc.message}") from exc


def _vectors(run: CuratedRun, documents: Any, rows: list[int]) -> np.ndarray | None:
    """The run's vectors for ``rows`` as the run clustered them: stored ones, or the texts embedded
    again with the run's embedder and seed; normalised when the run normalised them."""
    config = run.config
    if documents.vectors is not None and not config.get("embedded"):
        X = np.ascontiguousarray(documents.vectors[rows], dtype=np.float32)
    elif config.get("embedded") and config.get("embedder"):
        texts = [str(documents.texts[r]) for r in rows]
        X = make_embedder(str(config["embedder"]), int(config.get("random_state") or 0)).embed(texts)
        X = np.ascontiguousarray(X, dtype=np.float32)
    else:
        return None
    if config.get("normalize_features", True):
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        X /= norms
    return X


def _relate(
    session: Session,
    run: CuratedRun,
    metrics: dict[str, float | int | None],
    centroids: list[dict[str, Any]],
    notes: dict[str, str],
) -> tuple[dict[str, float | int | None], list[dict[str, Any]]]:
    """The merged run related to its baseline again (when it has one with shared documents)."""
    baseline = run.baseline_run_id
    reference = None if baseline is None else baseline_centroids(session, run_id=baseline)
    if baseline is None or reference is None:
        return metrics, centroids
    _, found = relate_runs(session, reference_run_id=baseline, other_run_id=run.run_id)
    if found.note is not None:
        return metrics, centroids
    for name in BASELINE_MEASURES:
        notes.pop(name, None)
    return {**metrics, **found.scores()}, matched_centroids(centroids, found, reference, baseline_run_id=baseline)
