"""Reading the rollups: exact totals, ``stats_scope: "all"`` sums, trend buckets and overview counts
without scanning the history.

A request is served from ``execution_rollups`` when it has no search and its filter is a
conjunction of ``created_at`` bounds (``gt``/``gte``/``lt``/``lte`` at the top level) and any
tree over ``status`` and ``algorithm`` (those are keys of a rollup row, so the one compiler compiles
that part against the rollup table with the same semantics: folding, null-safe negation). Anything
else returns ``None`` and the caller runs the exact query.

A ``created_at`` range not aligned to the hour is answered as: rollup rows of the whole hours
inside it (day rows for whole days) + the exact query over the ragged edges (at most two partial
hours of runs), so every count stays the true number of matching runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

from clusterbook.models.filters import Condition, Group, Node
from clusterbook.store.compiler import coerce_value, compile_filter
from clusterbook.store.fields import EXECUTION_FIELDS, FieldRegistry, FieldSpec
from clusterbook.store.listing import ListQuery
from clusterbook.store.rollup_columns import AGG_COLUMNS, AGG_NAMES
from clusterbook.store.rollup_schema import STATUS_GRAINS
from clusterbook.store.tables import execution_rollups, executions

_r = execution_rollups.c
_e = executions.c
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
KEY_FIELDS = frozenset({"status", "algorithm"})

ROLLUP_FIELDS = FieldRegistry(
    table=execution_rollups,
    tiebreaker=_r.id,
    default_sort="status",
    fields={
        "status": FieldSpec("status", _r.status, "enum", nullable=False,
                            enum_values=EXECUTION_FIELDS.fields["status"].enum_values),
        "algorithm": FieldSpec("algorithm", _r.algorithm, "string", nullable=True, folded=_r.algorithm_folded),
    },
)  # fmt: skip
"""The keys of a rollup row as filter fields, typed exactly as in ``EXECUTION_FIELDS``."""


@dataclass(frozen=True)
class RollupPlan:
    """How to answer a filter from the rollups: ``rest`` (status/algorithm only) on rollup rows of
    the whole hours ``[h_lo, h_hi)`` (None: unbounded), and the exact query where ``edges`` holds."""

    rest: Node | None
    h_lo: datetime | None
    h_hi: datetime | None
    bounded: bool
    full: Node | None
    lo: tuple[datetime, bool] | None = None
    hi: tuple[datetime, bool] | None = None
    """The tightest ``created_at`` bounds (UTC value, inclusive) of the filter, for the edge queries."""


def mentions_algorithm(node: Node | None) -> bool:
    """Whether a (key-only) filter reads ``algorithm``: if not, the grains summed over algorithms serve it."""
    if node is None:
        return False
    if isinstance(node, Condition):
        spec = EXECUTION_FIELDS.resolve(node.field)
        return spec is not None and spec.name == "algorithm"
    return any(mentions_algorithm(child) for child in node.children)


def _key_only(node: Node) -> bool:
    if isinstance(node, Condition):
        spec = EXECUTION_FIELDS.resolve(node.field)
        return spec is not None and spec.name in KEY_FIELDS
    return all(_key_only(child) for child in node.children)


def _time_bound(cond: Condition) -> tuple[str, datetime, bool] | None:
    spec = EXECUTION_FIELDS.resolve(cond.field)
    if spec is None or spec.name != "created_at" or cond.operator not in ("gt", "gte", "lt", "lte"):
        return None
    value = coerce_value(spec, cond.value, cond.at("value"), cond.case_sensitive)
    if not isinstance(value, datetime):
        return None
    side = "lo" if cond.operator in ("gt", "gte") else "hi"
    return side, value.astimezone(UTC), cond.operator in ("gte", "lte")


def plan_for(query: ListQuery) -> RollupPlan | None:
    """The rollup plan of a (validated) listing query, or None when the exact query must answer it."""
    if query.terms:
        return None
    node = query.filter
    if node is None:
        return RollupPlan(None, None, None, False, None)
    children: Sequence[Node] = (node,) if isinstance(node, Condition) else ()
    if isinstance(node, Group):
        if node.op != "and" or node.negated:
            return RollupPlan(node, None, None, False, node) if _key_only(node) else None
        children = node.children
    rest: list[Node] = []
    lo: tuple[datetime, bool] | None = None
    hi: tuple[datetime, bool] | None = None
    for child in children:
        bound = _time_bound(child) if isinstance(child, Condition) else None
        if bound is not None:
            side, value, inclusive = bound
            if side == "lo" and (lo is None or (value, not inclusive) > (lo[0], not lo[1])):
                lo = (value, inclusive)
            elif side == "hi" and (hi is None or (value, inclusive) < (hi[0], hi[1])):
                hi = (value, inclusive)
        elif _key_only(child):
            rest.append(child)
        else:
            return None
    rest_node = Group("and", tuple(rest), False, node.path if isinstance(node, Group) else "filters") if rest else None
    if lo is None and hi is None:
        return RollupPlan(rest_node, None, None, False, node)
    h_lo = h_hi = None
    try:
        if lo is not None:
            floor = _floor_hour(lo[0])
            h_lo = floor if floor == lo[0] and lo[1] else floor + HOUR
            _ceil_day(h_lo)  # the day rows start there (see rollup_scope)
        if hi is not None:
            h_hi = _floor_hour(hi[0])
    except OverflowError:  # a bound within a day of year 9999: nothing to roll up there
        return None
    if h_lo is not None and h_hi is not None and h_lo >= h_hi:
        return None  # under two hours: the exact query is as cheap
    return RollupPlan(rest_node, h_lo, h_hi, True, node, lo, hi)


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _ceil_day(value: datetime) -> datetime:
    floor = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == value else floor + DAY


def _floor_day(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _range(lo: datetime | None, hi: datetime | None) -> ColumnElement[bool]:
    parts = []
    if lo is not None:
        parts.append(_r.bucket_start >= lo)
    if hi is not None:
        parts.append(_r.bucket_start < hi)
    return and_(true(), *parts)


def rollup_scope(
    plan: RollupPlan, *, hours_only: bool, by_bucket: bool, grains: tuple[str, str] = ("hour", "day")
) -> ColumnElement[bool]:
    """Which rollup rows cover ``[h_lo, h_hi)``: the ``all`` row when unbounded, else day rows for whole
    days and hour rows for the rest (``hours_only``: hour rows throughout, for hourly or offset trends).
    ``grains`` names the hour and day grains to read (``rollup_schema.STATUS_GRAINS``: over algorithms)."""
    if not plan.bounded and not hours_only and not by_bucket:
        return _r.grain == "all"
    hour, day = grains
    if hours_only:
        return and_(_r.grain == hour, _range(plan.h_lo, plan.h_hi))
    d_lo = None if plan.h_lo is None else _ceil_day(plan.h_lo)
    d_hi = None if plan.h_hi is None else _floor_day(plan.h_hi)
    if d_lo is not None and d_hi is not None and d_lo >= d_hi:
        return and_(_r.grain == hour, _range(plan.h_lo, plan.h_hi))
    hours = [and_(_r.grain == hour, _range(plan.h_lo, d_lo))] if plan.h_lo is not None else []
    if plan.h_hi is not None:
        hours.append(and_(_r.grain == hour, _range(d_hi, plan.h_hi)))
    return or_(and_(_r.grain == day, _range(d_lo, d_hi)), *hours)


def edge_wheres(plan: RollupPlan, cluster_id: str, dialect: str) -> list[ColumnElement[bool]]:
    """The runs the rollup rows do not cover (the ragged ends of a range), one condition per end.

    Queried apart: joined by OR, SQLite factors out the common filter and reads the index over the
    whole range (a 30-day range at 1M runs: 165k entries for 343 edge runs); apart, each end is an
    index range of at most an hour."""
    if not plan.bounded:
        return []
    # Each end carries only its own two bounds: given the range's far bound as well, SQLite may
    # range the index on that one and read the whole range.
    matching = and_(
        _e.cluster_id == cluster_id, compile_filter(plan.rest, EXECUTION_FIELDS, dialect, cluster_id=cluster_id)
    )
    outside = []
    if plan.h_lo is not None and plan.lo is not None:
        value, inclusive = plan.lo
        outside.append(and_(matching, _e.created_at >= value if inclusive else _e.created_at > value,
                            _e.created_at < plan.h_lo))  # fmt: skip
    if plan.h_hi is not None and plan.hi is not None:
        value, inclusive = plan.hi
        outside.append(and_(matching, _e.created_at <= value if inclusive else _e.created_at < value,
                            _e.created_at >= plan.h_hi))  # fmt: skip
    return outside


@dataclass
class Sums:
    """Summed rollup columns (``AGG_NAMES``, or the subset a reader asked for) of one group."""

    values: dict[str, float]

    @classmethod
    def zero(cls, names: Sequence[str] = AGG_NAMES) -> Sums:
        return cls(dict.fromkeys(names, 0))

    def add(self, row: Iterable[Any]) -> None:
        for name, value in zip(self.values, row, strict=True):
            self.values[name] += value or 0

    def __getitem__(self, name: str) -> float:
        return self.values[name]


def sums_by(session: Session, plan: RollupPlan, cluster_id: str, names: Sequence[str] | None = None) -> dict[str, Sums]:
    """Sums by status of the matching runs: rollup rows plus the exact edges of a ragged range (the
    trends, which also group by bucket, sum in SQL instead: ``store/rollup_trends.py``).

    ``names``: only these ``AGG_NAMES`` (default all ~130). A reader that needs five sums asks for
    five: summing every column cost more than the rest of the request (a 30-day range at 1M runs:
    the rollup rows and both ragged ends summed 130 expressions each). A filter that does not
    mention ``algorithm`` reads the grains summed over algorithms (one row per bucket and status)."""
    dialect = session.get_bind().dialect.name
    columns = AGG_COLUMNS if names is None else tuple(c for c in AGG_COLUMNS if c.name in set(names))
    grains = ("hour", "day") if mentions_algorithm(plan.rest) else (STATUS_GRAINS["hour"], STATUS_GRAINS["day"])
    stmt = (
        select(_r.status, *(func.sum(_r[c.name]) for c in columns))
        .where(_r.cluster_id == cluster_id, rollup_scope(plan, hours_only=False, by_bucket=False, grains=grains))
        .where(compile_filter(plan.rest, ROLLUP_FIELDS, dialect))
        .group_by(_r.status)
        .having(func.sum(_r.n) > 0)
    )
    out: dict[str, Sums] = {}
    rows = list(session.execute(stmt))
    for edges in edge_wheres(plan, cluster_id, dialect):
        exact: list[Any] = [literal_column(f"SUM({c.of('executions')})") for c in columns]
        rows += session.execute(select(_e.status, *exact).where(edges).group_by(_e.status))
    for status, *values in rows:
        out.setdefault(status, Sums.zero([c.name for c in columns])).add(values)
    return out


def count_by_status(session: Session, plan: RollupPlan, cluster_id: str) -> dict[str, int]:
    """Matching runs per status (statuses without runs left out): the run count alone is summed."""
    return {status: int(s["n"]) for status, s in sums_by(session, plan, cluster_id, ("n",)).items() if s["n"]}


def overview_counts(session: Session, cluster_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Runs per status of each cluster, from its ``all`` rows."""
    stmt = (
        select(_r.cluster_id, _r.status, func.sum(_r.n))
        .where(_r.grain == "all", _r.cluster_id.in_(list(cluster_ids)))
        .group_by(_r.cluster_id, _r.status)
        .having(func.sum(_r.n) > 0)
    )
    out: dict[str, dict[str, int]] = {cid: {} for cid in cluster_ids}
    for cid, status, n in session.execute(stmt):
        out[cid][status] = int(n)
    return out
