"""What a monitor's rule sees in its cluster's history right now: one bounded, indexed read per rule.

Every read walks ``ix_executions_cluster_status_completed`` (cluster, status, completed_at, run_id)
downwards from ``now`` for one status at a time, so its cost is set by the rule (at most
``MAX_LAST_RUNS`` rows, or one index range for a time window), never by the size of the history.
``now`` is passed in so that a test, or the timer, decides the clock.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, union_all
from sqlalchemy.orm import Session

from clusterbook.models.executions import ExecutionStatus
from clusterbook.models.measures import MEASURES_BY_NAME
from clusterbook.models.monitors import FailureRateRule, MetricRule, MonitorRule, NoCompletedRunRule
from clusterbook.store.tables import executions

_c = executions.c
COMPLETED, FAILED = ExecutionStatus.COMPLETED.value, ExecutionStatus.FAILED.value


@dataclass(frozen=True)
class Observation:
    """One evaluation's verdict: ``bad`` True (the rule is broken), False (it holds) or None (no
    verdict: too few runs, no value), with the values that decided it and a sentence saying so."""

    bad: bool | None
    observed: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    run_id: str | None = None


def _finished(session: Session, cluster_id: str, status: str, now: datetime, limit: int, offset: int = 0) -> Any:
    """The newest ``limit`` runs of ``status`` that finished by ``now``, newest first (index walk)."""
    return (
        select(_c.run_id, _c.status, _c.completed_at)
        .where(_c.cluster_id == cluster_id, _c.status == status, _c.completed_at <= now)
        .order_by(_c.completed_at.desc(), _c.run_id.desc())
        .limit(limit)
        .offset(offset)
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def observe(
    session: Session, *, cluster_id: str, rule: MonitorRule, created_at: datetime, now: datetime
) -> Observation:
    """What ``rule`` finds in the cluster's history at ``now`` (``created_at``: the monitor's, the
    start of the quiet period of a cluster that never completed a run)."""
    if isinstance(rule, FailureRateRule):
        return _failure_rate(session, cluster_id, rule, now)
    if isinstance(rule, MetricRule):
        return _metric(session, cluster_id, rule, now)
    return _quiet(session, cluster_id, rule, created_at, now)


def _failure_rate(session: Session, cluster_id: str, rule: FailureRateRule, now: datetime) -> Observation:
    scope: dict[str, Any]
    newest: str | None = None
    if rule.last_runs is not None:
        n = rule.last_runs
        finished, failed, newest = _last_finished(session, cluster_id, now, n)
        scope = {"last_runs": n}
        over = f"the last {finished} finished runs"
    else:
        window = rule.window_seconds or 0
        since = now - timedelta(seconds=window)
        counts: dict[str, int] = dict(
            session.execute(
                select(_c.status, func.count())
                .where(
                    _c.cluster_id == cluster_id,
                    _c.status.in_((COMPLETED, FAILED)),
                    _c.completed_at > since,
                    _c.completed_at <= now,
                )
                .group_by(_c.status)
            ).all()
        )
        failed = int(counts.get(FAILED, 0))
        finished = failed + int(counts.get(COMPLETED, 0))
        scope = {"window_seconds": window, "since": _iso(since)}
        over = f"the {finished} runs that finished in the last {window} s"
    observed = {**scope, "finished_runs": finished, "failed_runs": failed, "threshold": rule.above}
    if finished < rule.min_runs:
        observed["failure_rate"] = None
        return Observation(None, observed, f"{finished} finished runs, fewer than min_runs ({rule.min_runs})", newest)
    rate = failed / finished
    observed["failure_rate"] = rate
    bad = rate > rule.above
    verb = "is above" if bad else "is not above"
    message = f"failure rate {rate:.2f} ({failed} of {over} failed) {verb} {rule.above}"
    return Observation(bad, observed, message, newest)


def _last_finished(session: Session, cluster_id: str, now: datetime, n: int) -> tuple[int, int, str | None]:
    """(finished, failed, newest run id) over the last ``n`` finished runs, counted in the database:
    the newest ``n`` of each status (two index walks), merged and cut to ``n`` there, so only the
    counts cross to Python."""
    sides = [_finished(session, cluster_id, status, now, n).subquery() for status in (COMPLETED, FAILED)]
    both = union_all(*(select(side) for side in sides)).subquery()
    ordered = (both.c.completed_at.desc(), both.c.run_id.desc())
    last = select(both.c.status).order_by(*ordered).limit(n).subquery()
    finished, failed = session.execute(
        select(func.count(), func.coalesce(func.sum(case((last.c.status == FAILED, 1), else_=0)), 0))
    ).one()
    newest = session.execute(select(both.c.run_id).order_by(*ordered).limit(1)).scalar()
    return int(finished), int(failed), newest


def _metric(session: Session, cluster_id: str, rule: MetricRule, now: datetime) -> Observation:
    measure = MEASURES_BY_NAME[rule.measure]
    column = _c[measure.column]
    latest = session.execute(
        select(_c.run_id, column.label("value"))
        .where(_c.cluster_id == cluster_id, _c.status == COMPLETED, _c.completed_at <= now)
        .order_by(_c.completed_at.desc(), _c.run_id.desc())
        .limit(1)
    ).first()
    observed: dict[str, Any] = {"measure": measure.name, "value": None}
    if latest is None:
        return Observation(None, observed, "no completed run yet")
    observed["value"] = value = latest.value
    run_id = latest.run_id
    if value is None:
        return Observation(None, observed, f"the latest completed run has no {measure.name}", run_id)
    if rule.below is not None or rule.above is not None:
        threshold = rule.below if rule.below is not None else rule.above
        assert threshold is not None
        below = rule.below is not None
        observed.update(condition="below" if below else "above", threshold=threshold)
        bad = value < threshold if below else value > threshold
        side = "below" if below else "above"
        message = f"{measure.name} {value:g} of run {run_id} is {'' if bad else 'not '}{side} {threshold:g}"
        return Observation(bad, observed, message, run_id)
    assert rule.below_median is not None
    n, delta = rule.below_median.last_runs, rule.below_median.delta
    before = (
        select(column.label("value"))
        .where(_c.cluster_id == cluster_id, _c.status == COMPLETED, _c.completed_at <= now)
        .order_by(_c.completed_at.desc(), _c.run_id.desc())
        .limit(n)
        .offset(1)
    )
    values = [v for (v,) in session.execute(before).all() if v is not None]
    observed.update(condition="below_median", last_runs=n, delta=delta, median_of=len(values))
    if not values:
        observed["median"] = None
        return Observation(None, observed, f"no completed run before {run_id} has a {measure.name}", run_id)
    median = float(statistics.median(values))
    observed.update(median=median, threshold=median - delta)
    bad = value < median - delta
    message = (
        f"{measure.name} {value:g} of run {run_id} is {'' if bad else 'not '}below the median {median:g} "
        f"of the {len(values)} completed runs before it minus {delta:g}"
    )
    return Observation(bad, observed, message, run_id)


def _quiet(
    session: Session, cluster_id: str, rule: NoCompletedRunRule, created_at: datetime, now: datetime
) -> Observation:
    latest = session.execute(_finished(session, cluster_id, COMPLETED, now, 1)).first()
    since = created_at if latest is None else latest.completed_at
    quiet = max(0.0, (now - since).total_seconds())
    observed = {
        "last_completed_at": None if latest is None else _iso(latest.completed_at),
        "quiet_seconds": quiet,
        "for_seconds": rule.for_seconds,
    }
    bad = quiet > rule.for_seconds
    if latest is None:
        message = f"no run has completed in the {quiet:.0f} s since the monitor was created"
    else:
        message = f"the last completed run ({latest.run_id}) ended {quiet:.0f} s ago"
    message += f"; the limit is {rule.for_seconds} s"
    return Observation(bad, observed, message, None if latest is None else latest.run_id)
