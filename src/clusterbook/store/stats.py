"""The contract's stats (``ClusterExecutionListStats``) built from per-status sums.

Three readers answer them — the exact aggregate over matching rows, the rollups, and ``group_by`` —
and each reduces its source to the same per-status sums first, so the arithmetic (which statuses
count toward the average execution time, what an empty set gives) lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func

from clusterbook.models.executions import FINISHED_STATUSES
from clusterbook.models.listing import ClusterExecutionListStats
from clusterbook.store.tables import executions

_c = executions.c


@dataclass(frozen=True)
class StatusSums:
    """The runs of one status: how many, their documents and clusters, and the execution time of
    those that count toward the average (finished, with a duration)."""

    status: str
    count: int
    points: int
    clusters: int
    duration_sum: float
    duration_count: int


def status_aggregates() -> tuple[ColumnElement[Any], ...]:
    """The SELECT list of per-status sums (to GROUP BY ``status``): status, count, documents,
    clusters, the finished runs' duration sum and their count."""
    finished = and_(_c.status.in_([s.value for s in FINISHED_STATUSES]), _c.duration_ms.is_not(None))
    return (
        _c.status,
        func.count(),
        func.coalesce(func.sum(_c.num_points), 0),
        func.coalesce(func.sum(_c.num_clusters), 0),
        func.sum(case((finished, _c.duration_ms), else_=None)),
        func.count(case((finished, 1), else_=None)),
    )


def sums_of_row(row: Sequence[Any]) -> StatusSums:
    """One row of :func:`status_aggregates` as :class:`StatusSums`."""
    status, count, points, clusters, duration_sum, duration_count = row
    return StatusSums(
        str(status), int(count), int(points), int(clusters), float(duration_sum or 0.0), int(duration_count)
    )


def stats_from(sums: Iterable[StatusSums]) -> ClusterExecutionListStats:
    """The contract's stats over every run the sums cover (several entries of one status add up)."""
    by_status: dict[str, int] = {}
    total = points = clusters = duration_count = 0
    duration_sum = 0.0
    for s in sums:
        if not s.count:
            continue
        by_status[s.status] = by_status.get(s.status, 0) + s.count
        total += s.count
        points += s.points
        clusters += s.clusters
        duration_sum += s.duration_sum
        duration_count += s.duration_count
    return ClusterExecutionListStats(
        total_executions=total,
        executions_by_status=by_status,
        avg_execution_time_ms=duration_sum / duration_count if duration_count else 0.0,
        total_documents_clustered=points,
        avg_num_clusters=clusters / total if total else 0.0,
    )
