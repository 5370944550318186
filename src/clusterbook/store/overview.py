"""Cluster overviews for the dashboard's cluster list: run counts by status, the latest run and the
latest completed run of each cluster, for a page of clusters at a time.

Each part reads an index: the counts the clusters' ``all`` rollup rows (``store/rollups.py``), the latest runs one
``ORDER BY created_at DESC LIMIT 1`` index probe per cluster and kind, all in one statement.
Nothing scans the table's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ScalarSelect, literal, select, union_all
from sqlalchemy.orm import Session

from clusterbook.models.executions import ClusterExecutionResult, ExecutionStatus
from clusterbook.models.storable import is_storable_ref
from clusterbook.models.trends import ClusterOverview
from clusterbook.store.executions import row_to_result
from clusterbook.store.rollups import overview_counts
from clusterbook.store.tables import clusters, executions

COMPLETED = ExecutionStatus.COMPLETED


def _latest_id(status: ExecutionStatus | None) -> ScalarSelect[Any]:
    """The id of a cluster's newest run (of this status), correlated to ``clusters``: one index probe."""
    x = executions.alias("x")
    stmt = select(x.c.id).where(x.c.cluster_id == clusters.c.cluster_id)
    if status is not None:
        stmt = stmt.where(x.c.status == status.value)
    return stmt.order_by(x.c.created_at.desc(), x.c.run_id.desc()).limit(1).correlate(clusters).scalar_subquery()


def _latest_runs(session: Session, cluster_ids: Sequence[str]) -> dict[tuple[str, bool], ClusterExecutionResult]:
    """``(cluster id, completed only) → run``: every cluster's latest and latest completed run in
    one statement (a pointer per cluster and kind, then those rows), instead of two queries per cluster."""
    pointers = (
        select(clusters.c.cluster_id, _latest_id(None).label("latest"), _latest_id(COMPLETED).label("done"))
        .where(clusters.c.cluster_id.in_(list(cluster_ids)))
        .cte("pointers")
    )
    kinds = [
        select(pointers.c.cluster_id.label("for_cluster"), literal(done).label("done_only"), executions).join(
            executions, executions.c.id == (pointers.c.done if done else pointers.c.latest)
        )
        for done in (False, True)
    ]
    out: dict[tuple[str, bool], ClusterExecutionResult] = {}
    for row in session.execute(union_all(*kinds)):
        out[(row.for_cluster, bool(row.done_only))] = row_to_result(row)
    return out


def list_cluster_overviews(session: Session, *, namespace_id: str, cluster_ids: Sequence[str]) -> list[ClusterOverview]:
    """Overviews of the given clusters of this namespace, in the order asked; unknown ids are left out."""
    wanted = list(dict.fromkeys(ref for ref in cluster_ids if is_storable_ref(ref)))
    if not wanted:
        return []
    found = set(
        session.execute(
            select(clusters.c.cluster_id).where(
                clusters.c.namespace_id == namespace_id, clusters.c.cluster_id.in_(wanted)
            )
        ).scalars()
    )
    present = [cid for cid in wanted if cid in found]
    if not present:
        return []
    by_status = overview_counts(session, present)
    latest = _latest_runs(session, present)
    return [
        ClusterOverview(
            cluster_id=cid,
            run_count=sum(by_status[cid].values()),
            runs_by_status=by_status[cid],
            latest_run=latest.get((cid, False)),
            latest_completed_run=latest.get((cid, True)),
        )
        for cid in present
    ]
