"""Executions (runs): create, read, cancel, and the history listing with its stats."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Row, insert, select, update
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict
from clusterbook.folding import fold
from clusterbook.models.curation import effective_centroid
from clusterbook.models.executions import (
    API_TRIGGER,
    FINISHED_STATUSES,
    ClusterExecutionMetrics,
    ClusterExecutionResult,
    ExecutionStatus,
)
from clusterbook.models.listing import ClusterExecutionListStats, ExecutionStatsGroup
from clusterbook.models.measures import MEASURES_BY_NAME, METRIC_MEASURES, RUN_MEASURES
from clusterbook.models.storable import is_storable_ref
from clusterbook.store import rollups
from clusterbook.store.db import copy_rows, is_sqlite
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.folded import with_folded
from clusterbook.store.fulltext import PausedInsertTrigger
from clusterbook.store.groups import grouped_stats
from clusterbook.store.ids import new_id
from clusterbook.store.lifecycle import may_enter
from clusterbook.store.listing import ListQuery, PageRequest, compile_query, fetch_page
from clusterbook.store.params import insert_params
from clusterbook.store.percentiles import percentiles as whole_set_percentiles
from clusterbook.store.rollup_schema import PausedRollupTrigger
from clusterbook.store.stats import StatusSums, stats_from, status_aggregates, sums_of_row
from clusterbook.store.tables import executions
from clusterbook.store.types import UTCDateTime

_c = executions.c


def build_search_text(run_id: str, error_message: str | None, centroids: Sequence[dict[str, Any]] | None) -> str:
    """The folded text (``clusterbook.folding``) the history search matches: run id, error, centroid
    labels/summaries/keywords."""
    parts = [run_id, error_message or ""]
    for centroid in centroids or ():
        parts.append(centroid.get("label") or "")
        parts.append(centroid.get("summary") or "")
        parts.extend(centroid.get("keywords") or ())
    # Search terms never contain whitespace, so each distinct word once is enough to match them all.
    words = fold(" ".join(parts)).split()
    return " ".join(dict.fromkeys(words))


def elapsed_ms(start: datetime | None, end: datetime | None) -> float | None:
    """Milliseconds from ``start`` to ``end``; None when either is unknown."""
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000.0


def duration_ms(started_at: datetime | None, ended_at: datetime | None) -> float | None:
    """A run's execution time: from a worker taking it to its end, queue time not included.
    None for a run that never started (canceled while pending)."""
    return elapsed_ms(started_at, ended_at)


def queue_ms(created_at: datetime, started_at: datetime | None) -> float | None:
    """How long a run waited in the queue before a worker took it; None until it starts."""
    return elapsed_ms(created_at, started_at)


def execution_values(*, namespace_id: str, cluster_id: str, **fields: Any) -> dict[str, Any]:
    """A complete row for ``executions`` from wire-style fields (metrics as a dict, centroids as dicts)."""
    run_id = fields.pop("run_id", None) or new_id("run")
    metrics = fields.pop("metrics", None) or {}
    centroids = fields.pop("centroids", None)
    created_at = fields.pop("created_at", None) or datetime.now(UTC)
    completed_at = fields.pop("completed_at", None)
    started_at = fields.pop("started_at", None)
    duration = fields.pop("duration_ms", None)
    if duration is None:
        duration = duration_ms(started_at, completed_at)
    queued = fields.pop("queue_ms", None)
    if queued is None:
        queued = queue_ms(created_at, started_at)
    status = ExecutionStatus(fields.pop("status", ExecutionStatus.PENDING))
    return with_folded(
        executions,
        {
            "run_id": run_id,
            "namespace_id": namespace_id,
            "cluster_id": cluster_id,
            "status": status.value,
            "num_clusters": fields.pop("num_clusters", 0),
            "num_points": fields.pop("num_points", 0),
            **{m.column: fields.pop(m.name, metrics.get(m.name)) for m in METRIC_MEASURES},
            "centroids": centroids,
            "created_at": created_at,
            "started_at": started_at,
            "completed_at": completed_at,
            "duration_ms": duration,
            "queue_ms": queued,
            "search_text": build_search_text(run_id, fields.get("error_message"), centroids),
            "attempts": fields.pop("attempts", 0),
            "trigger": fields.pop("trigger", None) or API_TRIGGER,
            **{
                key: fields.pop(key, None)
                for key in (
                    "run_name",
                    "algorithm",
                    "error_message",
                    "error_traceback",
                    "llm_labeling_errors",
                    "attempt_token",
                    "lease_expires_at",
                    "worker_id",
                    "baseline_run_id",
                    "config",
                    "details",
                )
            },
            **_reject_unknown(fields),
        },
    )


def _reject_unknown(fields: dict[str, Any]) -> dict[str, Any]:
    if fields:
        raise TypeError(f"unknown execution fields: {sorted(fields)}")
    return {}


def create_execution(session: Session, *, namespace_id: str, cluster_id: str, **fields: Any) -> ClusterExecutionResult:
    values = execution_values(namespace_id=namespace_id, cluster_id=cluster_id, **fields)
    session.execute(insert(executions).values(**values))
    insert_params(session, [(values["run_id"], values["config"])])
    return read_execution(session, cluster_id=cluster_id, run_id=values["run_id"])  # type: ignore[return-value]


def insert_executions(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk insert complete rows (from :func:`execution_values`); returns how many."""
    batch = list(rows)
    if not batch:
        return 0
    if is_sqlite(session):
        with PausedInsertTrigger(session), PausedRollupTrigger(session):
            session.execute(insert(executions), batch)
    else:
        _copy_into_postgres(session, batch)
    insert_params(session, ((row["run_id"], row.get("config")) for row in batch))  # the config.* index
    return len(batch)


_COPY_COLUMNS = tuple(c.name for c in executions.columns if c.name != "id")
_JSON_COLUMNS = frozenset(c.name for c in executions.columns if isinstance(c.type, JSON))
_TIME_COLUMNS = frozenset(c.name for c in executions.columns if isinstance(c.type, UTCDateTime))


def _copy_into_postgres(session: Session, batch: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY: several times faster than multi-row INSERTs for large batches."""

    def cell(name: str, value: Any) -> Any:
        if name in _JSON_COLUMNS:  # like SQLAlchemy's JSON type: Python None becomes JSON null
            return json.dumps(value)
        if value is None:
            return None
        if name in _TIME_COLUMNS:
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return value

    copy_rows(
        session, "executions", _COPY_COLUMNS, ([cell(name, row.get(name)) for name in _COPY_COLUMNS] for row in batch)
    )


def row_to_result(row: Row[Any]) -> ClusterExecutionResult:
    m = row._mapping
    metric_values = {measure.name: m[measure.column] for measure in METRIC_MEASURES}
    has_metrics = m["status"] == ExecutionStatus.COMPLETED.value or any(v is not None for v in metric_values.values())
    details = m["details"] or {}
    extras: dict[str, Any] = {}
    if m["config"] is not None:
        extras["config"] = m["config"]
    if details.get("timings_ms"):
        extras["timings_ms"] = details["timings_ms"]
    if m["attempts"]:
        extras["attempts"] = m["attempts"]
    if m["baseline_run_id"] is not None:
        extras["baseline_run_id"] = m["baseline_run_id"]
    if details.get("merges"):
        extras["merges"] = details["merges"]
    if details.get("backdated"):
        extras["backdated"] = details["backdated"]
    config = m["config"] or {}
    if config.get("mode") == "assign":
        extras["mode"] = "assign"
        extras["source_run_id"] = config.get("source_run_id")
    verdict = details.get("recluster")
    if verdict:
        extras["should_recluster"] = bool(verdict.get("should_recluster"))
        extras["recluster_reason"] = verdict.get("reason")
    metric_extras: dict[str, Any] = {}
    if details.get("metric_notes"):
        metric_extras["notes"] = details["metric_notes"]
    return ClusterExecutionResult(
        run_id=m["run_id"],
        cluster_id=m["cluster_id"],
        status=m["status"],
        num_clusters=m["num_clusters"],
        num_points=m["num_points"],
        created_at=m["created_at"],
        metrics=ClusterExecutionMetrics(**metric_values, **metric_extras) if has_metrics else None,
        centroids=None if m["centroids"] is None else [effective_centroid(c) for c in m["centroids"]],  # type: ignore[misc]
        completed_at=m["completed_at"],
        error_message=m["error_message"],
        llm_labeling_errors=m["llm_labeling_errors"],
        run_name=m["run_name"],
        algorithm=m["algorithm"],
        started_at=m["started_at"],
        **{measure.name: m[measure.column] for measure in RUN_MEASURES},
        error_traceback=m["error_traceback"],
        trigger=m["trigger"],
        **extras,
    )


def _read_run(session: Session, run_id: str, scope: ColumnElement[bool]) -> ClusterExecutionResult | None:
    if not is_storable_ref(run_id):
        return None
    row = session.execute(select(executions).where(scope, _c.run_id == run_id)).first()
    return row_to_result(row) if row else None


def read_execution(session: Session, *, cluster_id: str, run_id: str) -> ClusterExecutionResult | None:
    return _read_run(session, run_id, _c.cluster_id == cluster_id)


def read_execution_by_id(session: Session, *, namespace_id: str, run_id: str) -> ClusterExecutionResult | None:
    """A run found by its id alone within a namespace (for clients that know only the run id)."""
    return _read_run(session, run_id, _c.namespace_id == namespace_id)


def read_latest_execution(session: Session, *, cluster_id: str) -> ClusterExecutionResult | None:
    row = session.execute(
        select(executions).where(_c.cluster_id == cluster_id).order_by(_c.created_at.desc(), _c.run_id.desc()).limit(1)
    ).first()
    return row_to_result(row) if row else None


def cancel_execution(session: Session, *, cluster_id: str, run_id: str) -> ClusterExecutionResult | None:
    """Move a pending/processing run to canceled. Canceling a canceled run again changes nothing and
    returns it as it is; a run that completed or failed is a Conflict (and stays as it is)."""
    current = read_execution(session, cluster_id=cluster_id, run_id=run_id)
    for _ in range(3):  # a worker may claim the run between the read and the UPDATE: then read again
        if current is None:
            return None
        if ExecutionStatus(current.status).is_terminal:
            break
        now = datetime.now(UTC)
        # The execution time counts from the start this read saw; the UPDATE only lands if that is
        # still the run's start. Canceled while pending: it never ran, so no execution time (null).
        same_start = _c.started_at.is_(None) if current.started_at is None else _c.started_at == current.started_at
        canceled = session.execute(
            update(executions)
            .where(_c.run_id == run_id, may_enter(ExecutionStatus.CANCELED), same_start)
            .values(
                status=ExecutionStatus.CANCELED.value,
                lease_expires_at=None,
                completed_at=now,
                duration_ms=duration_ms(current.started_at, now),
            )
        )
        if canceled.rowcount == 1:  # type: ignore[attr-defined]
            # execution.canceled, in this transaction (imported here: the outbox maps rows with this module)
            from clusterbook.store.webhooks import enqueue_run_event

            enqueue_run_event(session, run_id=run_id)
        # Re-read either way: on PostgreSQL the run may have ended or started between the read and the
        # UPDATE, which then matched nothing.
        current = read_execution(session, cluster_id=cluster_id, run_id=run_id)
    if current is None:
        return None
    if current.status in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED):
        raise Conflict(
            f"execution {run_id} already ended with status {current.status!r}; only pending or processing "
            "runs can be canceled"
        )
    return current


@dataclass
class ExecutionPage:
    results: list[ClusterExecutionResult]
    total: int
    next_key: tuple[Any, str] | None
    stats: ClusterExecutionListStats
    groups: list[ExecutionStatsGroup] | None = None
    percentiles: dict[str, dict[str, float | None]] | None = None


def list_executions(
    session: Session,
    *,
    cluster_id: str,
    query: ListQuery,
    page: PageRequest,
    stats_scope: str = "page",
    group_by: str | None = None,
    percentiles: Sequence[float] | None = None,
) -> ExecutionPage:
    """One page of a cluster's history, its total, and stats over the page or the whole filtered set
    (with ``stats_scope="all"``, also per ``group_by`` value and ``percentiles``: ``store/groups.py``)."""
    compiled = compile_query(
        session, EXECUTION_FIELDS, _c.cluster_id == cluster_id, query, partition=(_c.cluster_id, cluster_id)
    )
    whole_set = stats_scope == "all"
    plan = rollups.plan_for(query)  # the exact compile above validated the filter first
    fetched = fetch_page(session, EXECUTION_FIELDS, compiled, page, count=not whole_set and plan is None)
    results = [row_to_result(row) for row in fetched.rows]
    if whole_set:
        if plan is not None:
            stats = stats_from_sums(rollups.sums_by(session, plan, cluster_id, STATS_SUMS))
        else:
            stats = aggregate_stats(session, compiled.where)
        total = stats.total_executions
    else:
        stats = page_stats(results)
        if plan is not None:
            total = sum(rollups.count_by_status(session, plan, cluster_id).values())
        else:
            total = fetched.total or 0
    found = ExecutionPage(results, total, fetched.next_key, stats)
    if whole_set and group_by is not None:
        found.groups = grouped_stats(session, compiled.where, group_by, cluster_id)
    if whole_set and percentiles:
        found.percentiles = whole_set_percentiles(session, compiled.where, percentiles)
    return found


_DURATION = MEASURES_BY_NAME["duration_ms"].column
STATS_SUMS = ("n", "num_points_sum", "num_clusters_sum", f"{_DURATION}_sum", f"{_DURATION}_n")
"""The rollup sums the contract's stats read (:func:`stats_from_sums`), the only ones summed for them."""


def stats_from_sums(groups: Mapping[str, rollups.Sums]) -> ClusterExecutionListStats:
    """The same stats as :func:`aggregate_stats`, from rollup sums by status (exact: counts and
    integer sums add up; the mean duration is a sum over a count)."""
    finished = {s.value for s in FINISHED_STATUSES}
    duration = _DURATION
    return stats_from(
        StatusSums(
            status,
            int(sums["n"]),
            int(sums["num_points_sum"]),
            int(sums["num_clusters_sum"]),
            float(sums[f"{duration}_sum"] or 0.0) if status in finished else 0.0,
            int(sums[f"{duration}_n"]) if status in finished else 0,
        )
        for status, sums in groups.items()
    )


def page_stats(results: Sequence[ClusterExecutionResult]) -> ClusterExecutionListStats:
    """The contract's stats over the returned rows."""
    by_status: dict[str, int] = {}
    for r in results:
        by_status[str(r.status)] = by_status.get(str(r.status), 0) + 1
    durations = [r.duration_ms for r in results if r.status in FINISHED_STATUSES and r.duration_ms is not None]
    return ClusterExecutionListStats(
        total_executions=len(results),
        executions_by_status=by_status,
        avg_execution_time_ms=sum(durations) / len(durations) if durations else 0.0,
        total_documents_clustered=sum(r.num_points for r in results),
        avg_num_clusters=sum(r.num_clusters for r in results) / len(results) if results else 0.0,
    )


def aggregate_stats(session: Session, where: ColumnElement[bool]) -> ClusterExecutionListStats:
    """The same stats as :func:`page_stats`, computed in the database over every matching row."""
    stmt = select(*status_aggregates()).where(where).group_by(_c.status)
    return stats_from(sums_of_row(row) for row in session.execute(stmt).all())
