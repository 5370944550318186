"""Trends read from the rollups: one row per trend bucket, summed in SQL.

The rollup rows (hour rows, or day rows for whole days; ``rollups.rollup_scope``) are grouped by the
trend bucket their start falls in — the same bucket expression the exact aggregate applies to
``created_at`` — so the database returns one row per bucket holding only what the response needs:
runs per status, duration count and sum and the duration histogram of finished runs, silhouette
count and sum, clusters of completed runs. The ragged ends of a ``created_at`` range (runs the
rollup rows do not cover, at most two partial hours) are summed the same way from ``executions``,
each column being the run's own contribution to the rollup column of that name, and added here.

Why: reading every (bucket, status) row with all of its sums into Python grew with the history
(a day's rows x about a hundred columns); this returns a few dozen columns per bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import Session

from clusterbook.models.executions import FINISHED_STATUSES, ExecutionStatus
from clusterbook.models.trends import ExecutionTrendBucket, TrendBucket
from clusterbook.store import rollups
from clusterbook.store.compiler import compile_filter
from clusterbook.store.rollup_columns import AGG_COLUMNS, HIST_NAMES, median_from_histogram
from clusterbook.store.rollup_schema import STATUS_GRAINS
from clusterbook.store.tables import execution_rollups, executions

_r = execution_rollups.c
_e = executions.c
STATUSES = tuple(s.value for s in ExecutionStatus)
FINISHED = tuple(s.value for s in FINISHED_STATUSES)
DURATION = _e.duration_ms.name
SILHOUETTE = _e.silhouette_score.name
_CONTRIBUTION = {c.name: c.of("executions") for c in AGG_COLUMNS}

Found = dict[datetime, ExecutionTrendBucket]
BucketExpr = Callable[[Any, TrendBucket, int, str], ColumnElement[Any]]
"""``trends._bucket_expr``: a bucket's start from a timestamp column (passed in: one definition)."""


def _sums(value: Callable[[str], str], status: str) -> list[str]:
    """The per-bucket sums as SQL, in the order ``_bucket_of`` reads them; ``value(name)`` is what one
    source row adds to the rollup column ``name``. Text, not expression trees: SQLAlchemy's cache key
    of ~90 CASE trees cost more per request than the query (status names are our own constants)."""
    finished = f"{status} IN ({', '.join(repr(v) for v in FINISHED)})"
    completed = f"{status} = {ExecutionStatus.COMPLETED.value!r}"

    def where(cond: str, name: str) -> str:
        return f"SUM(CASE WHEN {cond} THEN {value(name)} ELSE 0 END)"

    return [
        *(where(f"{status} = {s!r}", "n") for s in STATUSES),
        where(finished, f"{DURATION}_n"),
        where(finished, f"{DURATION}_sum"),
        f"SUM({value(f'{SILHOUETTE}_n')})",
        f"SUM({value(f'{SILHOUETTE}_sum')})",
        where(completed, "num_clusters_sum"),
        *(where(finished, name) for name in HIST_NAMES),
    ]


_ROLLUP_SUMS: list[ColumnElement[Any]] = [
    literal_column(sql).label(f"s{i}")
    for i, sql in enumerate(_sums(lambda n: f"execution_rollups.{n}", "execution_rollups.status"))
]
_OUTER_SUMS: list[ColumnElement[Any]] = [literal_column(f"SUM(per_start.s{i})") for i in range(len(_ROLLUP_SUMS))]
_EDGE_SUMS: list[ColumnElement[Any]] = [
    literal_column(sql) for sql in _sums(lambda name: _CONTRIBUTION[name], "executions.status")
]


def _add(acc: dict[Any, list[float]], key: Any, values: Any) -> None:
    row = [v or 0 for v in values]
    prev = acc.get(key)
    acc[key] = row if prev is None else [a + b for a, b in zip(prev, row, strict=True)]


def rollup_trends(
    session: Session,
    plan: rollups.RollupPlan,
    cluster_id: str,
    bucket: TrendBucket,
    utc_offset_minutes: int,
    bucket_expr: BucketExpr,
    group_by: str | None = None,
) -> tuple[Found, dict[Any, Found]]:
    """The non-empty buckets of the matching runs (keyed by their start in the request's offset) and,
    with ``group_by`` (``status`` or ``algorithm``: keys of a rollup row), the same per value."""
    dialect = session.get_bind().dialect.name
    hours_only = bucket == "hour" or utc_offset_minutes != 0
    per_algorithm = group_by == "algorithm" or rollups.mentions_algorithm(plan.rest)
    grains = ("hour", "day") if per_algorithm else (STATUS_GRAINS["hour"], STATUS_GRAINS["day"])
    rollup_keys = [_r[group_by]] if group_by else []
    # Grouped by the rows' own start first, in the read index's order (no sort of wide rows), then
    # those few rows by the trend bucket.
    per_start = (
        select(_r.bucket_start, *(k.label("group_key") for k in rollup_keys), *_ROLLUP_SUMS)
        .where(
            _r.cluster_id == cluster_id,
            rollups.rollup_scope(plan, hours_only=hours_only, by_bucket=True, grains=grains),
        )
        .where(compile_filter(plan.rest, rollups.ROLLUP_FIELDS, dialect))
        .group_by(_r.bucket_start, *rollup_keys)
        .subquery("per_start")
    )
    outer_keys = [per_start.c.group_key] if group_by else []
    key = bucket_expr(per_start.c.bucket_start, bucket, utc_offset_minutes, dialect).label("bucket")
    statements = [select(key, *outer_keys, *_OUTER_SUMS).select_from(per_start).group_by(key, *outer_keys)]
    if bucket == "hour":
        # Offsets are whole hours here, so each rollup hour is one trend bucket: one grouping, not two
        # (the second re-summed ~85 columns of every hour: half the SQL of a 30-day hourly trend).
        statements = [
            select(
                bucket_expr(_r.bucket_start, bucket, utc_offset_minutes, dialect).label("bucket"),
                *(k.label("group_key") for k in rollup_keys),
                *_ROLLUP_SUMS,
            )
            .where(
                _r.cluster_id == cluster_id,
                rollups.rollup_scope(plan, hours_only=True, by_bucket=True, grains=grains),
            )
            .where(compile_filter(plan.rest, rollups.ROLLUP_FIELDS, dialect))
            .group_by(_r.bucket_start, *rollup_keys)
        ]
    edge_keys = [_e[group_by]] if group_by else []
    for edges in rollups.edge_wheres(plan, cluster_id, dialect):
        ekey = bucket_expr(_e.created_at, bucket, utc_offset_minutes, dialect).label("bucket")
        statements.append(select(ekey, *edge_keys, *_EDGE_SUMS).where(edges).group_by(ekey, *edge_keys))
    overall: dict[Any, list[float]] = {}
    per_group: dict[Any, dict[Any, list[float]]] = {}
    for stmt in statements:
        for start, *values in session.execute(stmt):
            group = values.pop(0) if group_by else None
            _add(overall, _naive(start), values)
            if group_by:
                _add(per_group.setdefault(group, {}), _naive(start), values)
    offset = timezone(timedelta(minutes=utc_offset_minutes))
    groups = {group: _buckets(acc, offset) for group, acc in per_group.items()}
    return _buckets(overall, offset), {group: found for group, found in groups.items() if found}


def _buckets(acc: dict[Any, list[float]], offset: timezone) -> Found:
    found: Found = {}
    for start, values in acc.items():
        result = _bucket_of(start.replace(tzinfo=offset), values)
        if result is not None:
            found[result.start] = result
    return found


def _naive(value: Any) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=None)


def _bucket_of(start: datetime, values: list[float]) -> ExecutionTrendBucket | None:
    counts, rest = values[: len(STATUSES)], values[len(STATUSES) :]
    dur_n, dur_sum, sil_n, sil_sum, k_sum = rest[:5]
    by_status = {s: int(n) for s, n in zip(STATUSES, counts, strict=True) if n}
    total = sum(by_status.values())
    if not total:
        return None
    n_completed = by_status.get(ExecutionStatus.COMPLETED.value, 0)
    return ExecutionTrendBucket(
        start=start,
        total=total,
        by_status=by_status,
        avg_duration_ms=float(dur_sum) / int(dur_n) if dur_n else None,
        p50_duration_ms=median_from_histogram([int(h) for h in rest[5:]]),
        avg_silhouette_score=float(sil_sum) / int(sil_n) if sil_n else None,
        avg_num_clusters=float(k_sum) / n_completed if n_completed else None,
    )
