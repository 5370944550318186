"""Exact percentiles of a whole filtered history (``stats_scope: "all"``, ``"percentiles": [50, 95]``).

For execution time (``duration_ms`` of completed and failed runs) and each declared metric, the
value is ``percentile_cont`` (linear between the two nearest ranks, numpy's ``linear``): with ``n``
values and rank ``r = p/100 · (n − 1)``, ``v[⌊r⌋] + (r − ⌊r⌋) · (v[⌊r⌋+1] − v[⌊r⌋])``. Exact, never
from a histogram.

How: per measure one count and, per percentile, the one or two values at rank ``⌊r⌋`` read by
``ORDER BY m LIMIT 2 OFFSET k`` — from the low end, or ``ORDER BY m DESC`` from the high end when
that is the shorter walk. With the matching rows ``cluster_id = ? AND m IS NOT NULL`` that is a walk
along an index keyed ``(cluster_id, m)`` (migration 0037 adds one per measure, partial: ``WHERE m IS
NOT NULL``, and execution time's also ``AND status IN ('completed', 'failed')``, so a pending run
costs nothing and a completion adds an entry per measure it has); any index leading with
``(cluster_id, m)`` serves as well. The walk never touches the table rows, which on SQLite are wide
(config and centroid documents, so a metric column is behind overflow pages): the one-pass read of
every matching row this replaces took 11–17 s at 100k runs (2.5–3.1 s of CPU) on a loaded machine;
this takes milliseconds (``benchmarks/bench_params.py``). A filter the index cannot answer (a
search, a metric range …) still gives the exact value, at the cost of reading the matching rows; a
request past the read budget is the usual 422 ``query_timeout``.

The predicates the partial indexes are declared with are written into the query as literal SQL
(:data:`PREDICATES`), since SQLite uses a partial index only when the query names its predicate
with the same literal values (a bound parameter does not prove it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.orm import Session

from clusterbook.models.executions import FINISHED_STATUSES
from clusterbook.models.measures import MEASURES_BY_NAME, METRIC_MEASURES
from clusterbook.store.tables import executions

_c = executions.c
EXECUTION_TIME = "execution_time_ms"
"""The percentiles' name for execution time (``duration_ms`` of completed and failed runs)."""
FINISHED_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in sorted(FINISHED_STATUSES)) + ")"


@dataclass(frozen=True)
class PercentileMeasure:
    """One measure with percentiles: its wire name, its column and the rows that count."""

    name: str
    column: str
    predicate: str
    """SQL over ``executions`` (literal): the rows with a value, as the partial index declares them."""

    @property
    def index_name(self) -> str:
        return f"ix_executions_pct_{self.column}"


def _measures() -> tuple[PercentileMeasure, ...]:
    duration = MEASURES_BY_NAME["duration_ms"].column
    return (
        PercentileMeasure(EXECUTION_TIME, duration, f"{duration} IS NOT NULL AND {FINISHED_SQL}"),
        *(PercentileMeasure(m.field, m.column, f"{m.column} IS NOT NULL") for m in METRIC_MEASURES),
    )


PERCENTILE_MEASURES: tuple[PercentileMeasure, ...] = _measures()
"""Execution time, then every declared metric: derived from ``MEASURES`` (a test checks that each has
its index on both databases)."""


def percentiles(
    session: Session, where: ColumnElement[bool], wanted: Sequence[float]
) -> dict[str, dict[str, float | None]]:
    """``{measure: {"50": value, "95": value}}`` over the runs matching ``where`` (null: no values)."""
    labels = [label_of(p) for p in wanted]
    out: dict[str, dict[str, float | None]] = {}
    for measure in PERCENTILE_MEASURES:
        column = _c[measure.column]
        rows = and_(where, text(measure.predicate))
        n = int(session.execute(select(func.count()).select_from(executions).where(rows)).scalar_one())
        if n == 0:
            out[measure.name] = dict.fromkeys(labels)
            continue
        found: dict[str, float | None] = {}
        for label, p in zip(labels, wanted, strict=True):
            rank = p / 100 * (n - 1)
            low = math.floor(rank)
            values = _values_at(session, column, rows, low, n)
            found[label] = values[0] + (rank - low) * (values[1] - values[0]) if len(values) > 1 else values[0]
        out[measure.name] = found
    return out


def _values_at(session: Session, column: Any, rows: ColumnElement[bool], low: int, n: int) -> list[float]:
    """The values at ranks ``low`` and ``low + 1`` (when there is one), ascending, walking the index
    from whichever end is nearer."""
    if low <= n - 1 - low:
        stmt = select(column).where(rows).order_by(column.asc()).limit(2).offset(low)
        return [float(v) for v in session.execute(stmt).scalars()]
    top = n - 2 - low  # rank low + 1 counted from the top
    if top < 0:  # low is the last rank
        stmt = select(column).where(rows).order_by(column.desc()).limit(1)
    else:
        stmt = select(column).where(rows).order_by(column.desc()).limit(2).offset(top)
    return sorted(float(v) for v in session.execute(stmt).scalars())


def label_of(p: float) -> str:
    """``50`` → ``"50"``, ``99.9`` → ``"99.9"``: the percentile as given, as a JSON key."""
    return str(int(p)) if float(p).is_integer() else repr(float(p))
