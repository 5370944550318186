"""Cluster overviews for the dashboard's cluster list: run counts by status, the latest run and the
latest completed run of each cluster, for a page of clusters at a time.

Each part reads an index: the counts the clusters' ``all`` rollup rows (``store/rollups.py``), the latest runs one
``ORDER BY created_at DESC LIMIT 1`` probe per cluster. Nothing scans the table's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from clusterbook.models.executions import ClusterExecutionResult, ExecutionStatus
from clusterbook.models.storable import is_storable_ref
from clusterbook.models.trends import ClusterOverview
from clusterbook.store.executions import row_to_result
from clusterbook.store.rollups import overview_counts
from clusterbook.store.tables import clusters, executions

_e = executions.c


def _latest(session: Session, cluster_id: str, status: ExecutionStatus | None = None) -> ClusterExecutionResult | None:
    stmt = select(executions).where(_e.cluster_id == cluster_id)
    if status is not None:
        stmt = stmt.where(_e.status == status.value)
    row = session.execute(stmt.order_by(_e.created_at.desc(), _e.run_id.desc()).limit(1)).first()
    return row_to_result(row) if row else None


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
    return [
        ClusterOverview(
            cluster_id=cid,
            run_count=sum(by_status[cid].values()),
            runs_by_status=by_status[cid],
            latest_run=_latest(session, cid),
            latest_completed_run=_latest(session, cid, ExecutionStatus.COMPLETED),
        )
        for cid in present
    ]
