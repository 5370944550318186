"""Curating a completed run's clusters: the locked read of the run, the curated-label write, and the
writes of a merge (memberships, projection, the run row).

A run's centroids are one JSON document on its row, so every curation reads the row under a lock
(PostgreSQL ``FOR UPDATE``; SQLite's write transaction, ``api/deps.writes_database``), changes the
document and writes it back with the search text rebuilt from the effective labels, in the caller's
transaction: two curators editing one run at once serialise, and nothing lands half-done. The merge's
arithmetic lives in ``runner/curation.py``; this module only reads and writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict, ErrorLocation, NotFound, ValidationFailed
from clusterbook.models.curation import CentroidUpdate, effective_centroid, stamp
from clusterbook.models.executions import ExecutionStatus
from clusterbook.models.measures import METRIC_MEASURES
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.db import is_sqlite
from clusterbook.store.executions import build_search_text
from clusterbook.store.tables import execution_members, execution_projections, executions

_c = executions.c
_m = execution_members.c
SHOWN_IDS = 20
"""How many of a run's cluster ids an error message lists."""


@dataclass
class CuratedRun:
    """What curating reads of a run, under its lock."""

    run_id: str
    namespace_id: str
    num_points: int
    centroids: list[dict[str, Any]]
    details: dict[str, Any]
    config: dict[str, Any]
    baseline_run_id: str | None
    metrics: dict[str, float | int | None]

    def cluster_ids(self) -> list[str]:
        return [str(c.get("cluster_id")) for c in self.centroids]

    def unknown_cluster(self, cluster_id: str) -> str:
        ids = self.cluster_ids()
        shown = ", ".join(ids[:SHOWN_IDS]) + (f" … ({len(ids)} in all)" if len(ids) > SHOWN_IDS else "")
        return f"run {self.run_id} has no cluster {cluster_id!r}; its clusters are: {shown or 'none'}"


def lock_completed_run(session: Session, *, cluster_id: str, run_id: str) -> CuratedRun:
    """The run, locked for the rest of the transaction; NotFound when the cluster has no such run,
    Conflict when it has not completed (only a completed run has clusters to curate)."""
    row = None
    if is_storable_ref(run_id):
        stmt = select(executions).where(_c.cluster_id == cluster_id, _c.run_id == run_id)
        if not is_sqlite(session):
            stmt = stmt.with_for_update()
        row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"execution {run_id!r} not found in this cluster")
    m = row._mapping
    if m["status"] != ExecutionStatus.COMPLETED.value:
        raise Conflict(
            f"execution {run_id} is {m['status']}; only a completed run has clusters to label or merge"
            + (" (wait for it to complete)" if m["status"] in ("pending", "processing") else "")
        )
    return CuratedRun(
        run_id=run_id,
        namespace_id=m["namespace_id"],
        num_points=m["num_points"],
        centroids=[dict(c) for c in m["centroids"] or []],
        details=dict(m["details"] or {}),
        config=dict(m["config"] or {}),
        baseline_run_id=m["baseline_run_id"],
        metrics={measure.name: m[measure.column] for measure in METRIC_MEASURES},
    )


def curated_centroid(
    centroid: dict[str, Any], changes: CentroidUpdate, *, by: str, key_id: str | None, at: datetime
) -> dict[str, Any]:
    """``centroid`` with the fields sent in ``changes`` overridden (null: that override removed), the
    stamp renewed while any override remains, and the effective values decided again."""
    base = effective_centroid(centroid)  # computed_* fixed before the effective values change
    override = {k: v for k, v in (base.get("override") or {}).items() if k in ("label", "summary", "keywords")}
    for name in changes.model_fields_set:
        value = getattr(changes, name)
        if value is None:
            override.pop(name, None)
        else:
            override[name] = value
    base["override"] = {**override, **stamp(by, key_id, at)} if override else None
    return effective_centroid(base)


def curate_centroid(
    session: Session,
    *,
    cluster_id: str,
    run_id: str,
    centroid_id: str,
    changes: CentroidUpdate,
    by: str,
    key_id: str | None,
) -> None:
    """Override the sent fields of one cluster of a completed run (NotFound: no such run or cluster)."""
    run = lock_completed_run(session, cluster_id=cluster_id, run_id=run_id)
    if centroid_id not in run.cluster_ids():
        raise NotFound(run.unknown_cluster(centroid_id))
    now = datetime.now(UTC)
    centroids = [
        curated_centroid(c, changes, by=by, key_id=key_id, at=now) if c.get("cluster_id") == centroid_id else c
        for c in run.centroids
    ]
    write_curated(session, run=run, centroids=centroids)


def write_curated(
    session: Session,
    *,
    run: CuratedRun,
    centroids: list[dict[str, Any]],
    details: dict[str, Any] | None = None,
    metrics: Mapping[str, float | int | None] | None = None,
) -> None:
    """Write the run's centroids (search text rebuilt from their effective labels) and, for a merge,
    its details, metrics and cluster count."""
    values: dict[str, Any] = {
        "centroids": centroids,
        "search_text": build_search_text(run.run_id, None, centroids),
    }
    if details is not None:
        values["details"] = details
    if metrics is not None:
        values.update({m.column: metrics.get(m.name) for m in METRIC_MEASURES})
        values["num_clusters"] = len(centroids)
    session.execute(update(executions).where(_c.run_id == run.run_id).values(**values))


def unknown_merge_ids(run: CuratedRun, cluster_ids: Sequence[str]) -> None:
    """ValidationFailed naming every id of ``cluster_ids`` that is not a cluster of the run."""
    known = set(run.cluster_ids())
    bad = [
        ErrorLocation(f"cluster_ids[{i}]", run.unknown_cluster(cluster_id))
        for i, cluster_id in enumerate(cluster_ids)
        if cluster_id not in known
    ]
    if bad:
        raise ValidationFailed(bad[0].message, errors=bad)


def member_clusters(session: Session, *, run_id: str) -> dict[str, str | None]:
    """Document id → its cluster in the run (None for noise)."""
    rows = session.execute(select(_m.document_id, _m.cluster_id).where(_m.run_id == run_id))
    return {document_id: cluster for document_id, cluster in rows}


def move_members(session: Session, *, run_id: str, into: str, others: Sequence[str]) -> None:
    """Every member of ``others`` becomes a member of ``into`` (one UPDATE over the run's index range)."""
    session.execute(
        update(execution_members).where(_m.run_id == run_id, _m.cluster_id.in_(list(others))).values(cluster_id=into)
    )


def write_distances(session: Session, *, run_id: str, distances: Mapping[str, float | None]) -> None:
    """New distances to the centre for the given members (one executemany)."""
    if not distances:
        return
    stmt = (
        update(execution_members)
        .where(_m.run_id == run_id, _m.document_id == bindparam("doc"))
        .values(distance=bindparam("dist"))
    )
    session.execute(stmt, [{"doc": doc, "dist": dist} for doc, dist in distances.items()])


def merge_projection(
    session: Session, *, run_id: str, into: str, others: Sequence[str], sizes: Mapping[str, int]
) -> None:
    """The projection's points of ``others`` relabelled ``into``; its centre moves to the size-weighted
    mean of the merged centres (the projection is linear in the centres for PCA, near enough otherwise)."""
    row = session.execute(
        select(execution_projections.c.projection).where(execution_projections.c.run_id == run_id)
    ).first()
    if row is None:
        return
    projection = dict(row.projection)
    merged = {into, *others}
    points = [{**p, "cluster_id": into} if p.get("cluster_id") in merged else p for p in projection.get("points") or []]
    centres = [c for c in projection.get("centroids") or [] if c.get("cluster_id") in merged]
    kept = [c for c in projection.get("centroids") or [] if c.get("cluster_id") not in merged]
    total = sum(sizes.get(c["cluster_id"], 0) for c in centres)
    if centres and total > 0:
        x = sum(c["x"] * sizes.get(c["cluster_id"], 0) for c in centres) / total
        y = sum(c["y"] * sizes.get(c["cluster_id"], 0) for c in centres) / total
        kept.append({"cluster_id": into, "x": x, "y": y})
    projection.update(points=points, centroids=kept)
    session.execute(
        update(execution_projections).where(execution_projections.c.run_id == run_id).values(projection=projection)
    )
