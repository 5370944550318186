"""Execution trends: a cluster's filtered history grouped into time buckets, aggregated in SQL.

The filter tree and search go through the one compiler (``compile_query``), exactly as for the
listing, so the trends always describe the same set the history table shows. Rows never come
into Python: the database returns one row per bucket with its counts by status, sums for the
means and the median duration (``percentile_cont`` on PostgreSQL; on SQLite, which has no
percentile aggregate, a small aggregate function registered on the connection).

Buckets are ``created_at`` truncated to the hour, day or ISO week (Monday), after shifting by a
fixed UTC offset so days begin at the caller's midnight. Every column read is in the covering
index ``ix_executions_cluster_trends``, so a whole history is aggregated from the index. Empty
buckets between the first and the last are filled in here, so a chart's time axis has no holes.

``group_by`` (status, algorithm or a ``config.*`` field, as on the listing) adds the same buckets per
value in ``groups``, each aligned with the overall ``buckets``: status and algorithm from the rollup
rows when the overall trends come from them, otherwise (and for config fields, through
``execution_params``) one more GROUP BY (key, bucket) over the same WHERE. At most the listing's
``MAX_GROUPS`` groups and ``MAX_GROUP_CELLS`` groups × buckets, else a 422 naming ``group_by``.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, Interval, and_, case, func, literal, select
from sqlalchemy.orm import Session

from clusterbook.errors import ErrorLocation, ValidationFailed
from clusterbook.models.executions import FINISHED_STATUSES, ExecutionStatus
from clusterbook.models.trends import ExecutionTrendBucket, ExecutionTrendGroup, ExecutionTrendsResponse, TrendBucket
from clusterbook.store import rollups
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.groups import MAX_GROUPS, group_key, group_key_columns, group_order
from clusterbook.store.listing import ListQuery, compile_query
from clusterbook.store.rollup_trends import rollup_trends
from clusterbook.store.tables import executions

_c = executions.c
MAX_BUCKETS = 5000
"""More buckets than a chart can show; past this the caller is asked for a wider bucket."""
STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
SQLITE_MEDIAN = "clusterbook_median"
EXACT_MEDIAN_LIMIT = 20_000
"""Up to this many matching runs the trends come from the exact aggregate (exact medians, cheap at
this size); beyond, from the rollups, with medians from their histograms (``rollup_columns``)."""
MAX_GROUP_CELLS = 20_000
"""Groups × buckets of a ``group_by`` answer (a chart of 100 series over 200 days): past it, a 422."""


class _Median:
    """SQLite aggregate: the median of the non-null values (the mean of the middle two for an even count)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


def _bucket_expr(column: Any, bucket: TrendBucket, offset_minutes: int, dialect: str) -> ColumnElement[Any]:
    """The bucket's start as naive local time (text on SQLite, a timestamp on PostgreSQL)."""
    if dialect == "sqlite":
        # Stored as fixed-width 'YYYY-MM-DD HH:MM:SS.ffffff' UTC text: without an offset, an hour or a
        # day is a prefix of it (much cheaper than date functions on a million rows).
        if bucket == "week" or offset_minutes:
            shift = [literal(f"{offset_minutes:+d} minutes")] if offset_minutes else []
            if bucket == "week":  # the Sunday ending the week, back six days: its Monday
                return func.strftime("%Y-%m-%d 00:00:00", column, *shift, "weekday 0", "-6 days")
            return func.strftime("%Y-%m-%d %H:00:00" if bucket == "hour" else "%Y-%m-%d 00:00:00", column, *shift)
        prefix, rest = (13, ":00:00") if bucket == "hour" else (10, " 00:00:00")
        return func.substr(column, 1, prefix).op("||")(literal(rest))
    local: ColumnElement[Any] = func.timezone("UTC", column)  # timestamptz → timestamp in UTC
    if offset_minutes:
        local = local + literal(timedelta(minutes=offset_minutes), Interval())
    return func.date_trunc(literal(bucket), local)


def _median(value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.percentile_cont(0.5).within_group(value)
    median: ColumnElement[Any] = getattr(func, SQLITE_MEDIAN)(value)
    return median


def _register_sqlite_median(session: Session) -> None:
    driver: Any = session.connection().connection.driver_connection  # the sqlite3 connection
    driver.create_aggregate(SQLITE_MEDIAN, 1, _Median)


def _parse_start(value: Any, offset: timezone) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=offset)


def execution_trends(
    session: Session,
    *,
    cluster_id: str,
    query: ListQuery,
    bucket: TrendBucket,
    utc_offset_minutes: int = 0,
    exact_median_limit: int | None = EXACT_MEDIAN_LIMIT,
    group_by: str | None = None,
) -> ExecutionTrendsResponse:
    """Per-bucket counts by status, mean and median duration, mean silhouette of the matching runs;
    with ``group_by``, the same per value of that field as well (``groups``)."""
    dialect = session.get_bind().dialect.name
    compiled = compile_query(
        session, EXECUTION_FIELDS, _c.cluster_id == cluster_id, query, partition=(_c.cluster_id, cluster_id)
    )
    rollable = group_by in (None, "status", "algorithm")  # config fields are not keys of a rollup row
    plan = rollups.plan_for(query) if utc_offset_minutes % 60 == 0 and rollable else None
    small = exact_median_limit is not None and plan is not None
    if small and sum(rollups.count_by_status(session, plan, cluster_id).values()) <= (exact_median_limit or 0):  # type: ignore[arg-type]
        plan = None  # small enough: the exact aggregate, with exact medians
    if plan is not None:
        return _rollup_trends(session, plan, cluster_id, bucket, utc_offset_minutes, group_by)
    if dialect == "sqlite":
        _register_sqlite_median(session)
    found, total_count = _exact_buckets(session, compiled.where, bucket, utc_offset_minutes, None)[None]
    grouped = None
    if group_by is not None:
        grouped = _exact_buckets(session, compiled.where, bucket, utc_offset_minutes, group_by)
    return _response(found, bucket, utc_offset_minutes, total_count, group_by, grouped)


Found = dict[datetime, ExecutionTrendBucket]


def _exact_buckets(
    session: Session, where: ColumnElement[bool], bucket: TrendBucket, utc_offset_minutes: int, group_by: str | None
) -> dict[Any, tuple[Found, int]]:
    """``{group key: (buckets by start, runs)}`` from one GROUP BY (key, bucket) over the matching
    rows (the key None alone without ``group_by``); at most ``MAX_GROUP_CELLS`` non-empty cells."""
    dialect = session.get_bind().dialect.name
    keys, source = group_key_columns(group_by) if group_by is not None else ([], executions)
    inner = (
        select(
            *(column.label(f"k{i}") for i, column in enumerate(keys)),
            _bucket_expr(_c.created_at, bucket, utc_offset_minutes, dialect).label("bucket"),
            _c.status,
            _c.duration_ms,
            _c.silhouette_score,
            _c.num_clusters,
        )
        .select_from(source)
        .where(where)
        .subquery()
    )
    finished = and_(inner.c.status.in_([s.value for s in FINISHED_STATUSES]), inner.c.duration_ms.is_not(None))
    finished_duration = case((finished, inner.c.duration_ms))
    completed = inner.c.status == ExecutionStatus.COMPLETED.value
    statuses = [s.value for s in ExecutionStatus]
    grouping = [*(inner.c[f"k{i}"] for i in range(len(keys))), inner.c.bucket]
    cap = MAX_BUCKETS if group_by is None else MAX_GROUP_CELLS
    stmt = (
        select(
            *grouping,
            func.count(),
            *(func.sum(case((inner.c.status == s, 1), else_=0)) for s in statuses),
            func.sum(finished_duration),
            func.count(finished_duration),
            _median(finished_duration, dialect),
            func.avg(inner.c.silhouette_score),
            func.sum(case((completed, inner.c.num_clusters))),
        )
        .group_by(*grouping)
        .order_by(*grouping)
        .limit(cap + 1)
    )
    rows = session.execute(stmt).all()
    if group_by is not None and len(rows) > cap:
        raise _too_many(group_by, bucket)
    offset = timezone(timedelta(minutes=utc_offset_minutes))
    out: dict[Any, tuple[Found, int]] = {}
    for row in rows:
        key = group_key(row[: len(keys)], group_by) if group_by is not None else None
        start_key, total, *rest = row[len(keys) :]
        counts, (dur_sum, dur_n, median, silhouette, clusters_sum) = rest[: len(statuses)], rest[len(statuses) :]
        by_status = {s: int(n) for s, n in zip(statuses, counts, strict=True) if n}
        n_completed = by_status.get(ExecutionStatus.COMPLETED.value, 0)
        start = _parse_start(start_key, offset)
        found, runs = out.get(key, ({}, 0))
        found[start] = ExecutionTrendBucket(
            start=start,
            total=int(total),
            by_status=by_status,
            avg_duration_ms=float(dur_sum) / int(dur_n) if dur_n else None,
            p50_duration_ms=None if median is None else float(median),
            avg_silhouette_score=None if silhouette is None else float(silhouette),
            avg_num_clusters=float(clusters_sum or 0) / n_completed if n_completed else None,
        )
        out[key] = (found, runs + int(total))
    return out if out or group_by is not None else {None: ({}, 0)}


def _too_many(group_by: str, bucket: TrendBucket) -> ValidationFailed:
    message = (
        f"grouped by {group_by}, these runs make more than {MAX_GROUPS} groups or {MAX_GROUP_CELLS} "
        f"group-{bucket}s; group by a field with fewer values, choose a wider bucket or narrow the filters"
    )
    return ValidationFailed(message, errors=[ErrorLocation("group_by", message)])


def _response(
    found: Found,
    bucket: TrendBucket,
    utc_offset_minutes: int,
    total_count: int,
    group_by: str | None = None,
    grouped: dict[Any, tuple[Found, int]] | None = None,
) -> ExecutionTrendsResponse:
    if found and (len(found) > MAX_BUCKETS or (max(found) - min(found)) / STEP[bucket] >= MAX_BUCKETS):
        message = f"these runs span more than {MAX_BUCKETS} {bucket}s; choose a wider bucket or a narrower range"
        raise ValidationFailed(message, errors=[ErrorLocation("bucket", message)])
    starts = list(_starts(found, bucket))
    extras: dict[str, Any] = {}
    if group_by is not None and grouped is not None:
        if len(grouped) > MAX_GROUPS or len(grouped) * len(starts) > MAX_GROUP_CELLS:
            raise _too_many(group_by, bucket)
        extras["groups"] = [
            ExecutionTrendGroup(
                key=key, total_count=runs, buckets=[cells.get(start) or _empty(start) for start in starts]
            )
            for key, (cells, runs) in sorted(grouped.items(), key=lambda item: group_order(item[0]))
        ]
    return ExecutionTrendsResponse(
        bucket=bucket,
        utc_offset_minutes=utc_offset_minutes,
        buckets=[found.get(start) or _empty(start) for start in starts],
        total_count=total_count,
        **extras,
    )


def _starts(found: dict[datetime, ExecutionTrendBucket], bucket: TrendBucket) -> Iterator[datetime]:
    """Every bucket start from the first to the last, in order (steps in the offset's wall time)."""
    if not found:
        return
    current, last = min(found), max(found)
    while current <= last:
        yield current
        current += STEP[bucket]


def _empty(start: datetime) -> ExecutionTrendBucket:
    return ExecutionTrendBucket(
        start=start,
        total=0,
        by_status={},
        avg_duration_ms=None,
        p50_duration_ms=None,
        avg_silhouette_score=None,
        avg_num_clusters=None,
    )


def _rollup_trends(
    session: Session,
    plan: rollups.RollupPlan,
    cluster_id: str,
    bucket: TrendBucket,
    utc_offset_minutes: int,
    group_by: str | None = None,
) -> ExecutionTrendsResponse:
    """The trends from rollup rows, summed into trend buckets in SQL (``store/rollup_trends.py``); status
    and algorithm, keys of a rollup row, split them into groups without reading a run."""
    found, groups = rollup_trends(session, plan, cluster_id, bucket, utc_offset_minutes, _bucket_expr, group_by)
    grouped = None
    if group_by is not None:
        grouped = {key: (cells, sum(b.total for b in cells.values())) for key, cells in groups.items()}
    return _response(found, bucket, utc_offset_minutes, sum(b.total for b in found.values()), group_by, grouped)
