"""The sums a rollup row keeps, derived from the one declaration of measures (``models/measures.py``).

Each aggregate column is named with what one run contributes to it (a SQL expression over the run's
row), so the triggers, the rebuild and the exact edge queries all sum the same contributions:

* ``n``: the runs; ``num_points_sum``/``_sq`` and ``num_clusters_sum``/``_sq``;
* for every declared measure ``m``: ``m_n`` (runs with a value), ``m_sum`` and ``m_sq``;
* for the median measure (``duration_ms``): a fixed log-scale histogram ``duration_ms_h00 …``, so the
  trends' median is answered from the rollup within one bin (see ``median_from_histogram``).

Kept apart from ``tables.py`` so the table definition and the SQL generators share one list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, Float

from clusterbook.models.measures import MEASURES, MEASURES_BY_NAME

MEDIAN_MEASURE = MEASURES_BY_NAME["duration_ms"]
"""The measure whose median the trends serve (``p50_duration_ms``)."""
HIST_LOW_MS = 16.0
"""Lower edge of the first interior bin; values below fall in the underflow bin 0."""
BINS_PER_OCTAVE = 4
OCTAVES = 18
"""Interior bins cover 16 ms … 16·2^18 ms (≈ 70 min) in steps of 2^(1/4) (19 %)."""
HIST_EDGES: tuple[float, ...] = tuple(
    HIST_LOW_MS * 2 ** (i / BINS_PER_OCTAVE) for i in range(BINS_PER_OCTAVE * OCTAVES + 1)
)
HIST_BINS = len(HIST_EDGES) + 1
"""Bin 0: below the first edge; bin i: [edge i-1, edge i); the last bin: at or above the last edge."""
BIN_RATIO = 2 ** (1 / BINS_PER_OCTAVE)


@dataclass(frozen=True)
class AggColumn:
    """One summed column of a rollup row and what one run (``{r}`` = the row's alias) adds to it."""

    name: str
    integer: bool
    contribution: str
    measure: str | None = None
    """The executions column of the declared measure it sums (None: not a measure's)."""

    def of(self, alias: str, missing: frozenset[str] = frozenset()) -> str:
        """The contribution over ``alias``; a measure column in ``missing`` (not yet added by the
        migrations that ran so far) counts as null."""
        contribution = self.contribution
        for column in missing:
            cast = "BIGINT" if MEASURES_BY_NAME[column].kind == "integer" else "DOUBLE PRECISION"
            contribution = contribution.replace("{r}." + column, f"CAST(NULL AS {cast})")
        return contribution.replace("{r}", alias)


def hist_column(i: int) -> str:
    return f"{MEDIAN_MEASURE.column}_h{i:02d}"


def _bin_condition(i: int) -> str:
    col = "{r}." + MEDIAN_MEASURE.column
    if i == 0:
        return f"{col} < {HIST_EDGES[0]!r}"
    if i == HIST_BINS - 1:
        return f"{col} >= {HIST_EDGES[-1]!r}"
    return f"{col} >= {HIST_EDGES[i - 1]!r} AND {col} < {HIST_EDGES[i]!r}"


def _agg_columns() -> tuple[AggColumn, ...]:
    cols = [AggColumn("n", True, "1")]
    for name in ("num_points", "num_clusters"):
        cols.append(AggColumn(f"{name}_sum", True, f"{{r}}.{name}"))
        cols.append(AggColumn(f"{name}_sq", True, f"CAST({{r}}.{name} AS BIGINT) * {{r}}.{name}"))
    for m in MEASURES:
        col = "{r}." + m.column
        integer = m.kind == "integer"
        # PostgreSQL raises on a float square that under- or overflows: tiny values square to 0,
        # huge ones are clamped (the squares serve variances, which such values make meaningless anyway)
        square = (
            f"CAST({col} AS BIGINT) * {col}"
            if integer
            else f"CASE WHEN abs({col}) < 1e-150 THEN 0 WHEN abs({col}) > 1e150 THEN 1e300 ELSE {col} * {col} END"
        )
        cols.append(AggColumn(f"{m.column}_n", True, f"CASE WHEN {col} IS NULL THEN 0 ELSE 1 END", m.column))
        cols.append(AggColumn(f"{m.column}_sum", integer, f"COALESCE({col}, 0)", m.column))
        cols.append(AggColumn(f"{m.column}_sq", integer, f"COALESCE({square}, 0)", m.column))
    for i in range(HIST_BINS):
        cols.append(AggColumn(hist_column(i), True, f"CASE WHEN {_bin_condition(i)} THEN 1 ELSE 0 END"))
    return tuple(cols)


AGG_COLUMNS: tuple[AggColumn, ...] = _agg_columns()
AGG_NAMES: tuple[str, ...] = tuple(c.name for c in AGG_COLUMNS)
HIST_NAMES: tuple[str, ...] = tuple(hist_column(i) for i in range(HIST_BINS))


def rollup_columns() -> list[Column[object]]:
    """The summed columns of ``execution_rollups`` (all NOT NULL, starting at 0)."""
    return [Column(c.name, BigInteger if c.integer else Float, nullable=False, server_default="0") for c in AGG_COLUMNS]


def median_from_histogram(counts: Sequence[int]) -> float | None:
    """The median estimated from bin counts, defined like the exact one (the middle value, or the
    mean of the middle two): each middle rank is placed in its bin, interpolated geometrically by
    rank inside it. Each estimate lies in the same bin as the value it stands for, so the median is
    within a factor ``BIN_RATIO`` (2^(1/4) ≈ 1.19) of the exact one; for values below 16 ms within
    16 ms; values at or above the last edge (≈ 70 min) count as the edge itself."""
    total = sum(counts)
    if total <= 0:
        return None
    middle = [total // 2] if total % 2 else [total // 2 - 1, total // 2]
    return sum(_value_at_rank(counts, k) for k in middle) / len(middle)


def _value_at_rank(counts: Sequence[int], rank: int) -> float:
    seen = 0
    for i, c in enumerate(counts):
        if c > 0 and seen + c > rank:
            frac = (rank - seen + 0.5) / c
            if i == 0:
                return HIST_EDGES[0] * frac
            if i == len(counts) - 1:
                return HIST_EDGES[-1]
            lo, hi = HIST_EDGES[i - 1], HIST_EDGES[i]
            return lo * math.exp(math.log(hi / lo) * frac)
        seen += c
    return HIST_EDGES[-1]
