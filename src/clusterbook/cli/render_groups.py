"""Tables for the history's aggregates: ``group_by`` stats, percentiles, and the trends (plain or
grouped). Only non-empty buckets become rows; ``--format json`` prints the API's JSON instead."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from clusterbook.cli.render import number, seconds
from clusterbook.models.listing import ExecutionStatsGroup
from clusterbook.models.measures import MEASURES, Measure
from clusterbook.models.trends import ExecutionTrendBucket, ExecutionTrendsResponse


def key_text(key: Any) -> str:
    """A group's value as people read it: ``(none)`` for runs without it, JSON for true/false."""
    if key is None:
        return "(none)"
    return json.dumps(key) if isinstance(key, bool) else str(key)


def _by_status(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def groups_table(groups: Sequence[ExecutionStatsGroup], group_by: str) -> Table:
    table = Table(title=f"by {group_by}", title_justify="left", header_style="bold")
    for name, justify in ((group_by, "left"), ("runs", "right"), ("by status", "left"), ("avg time", "right"),
                          ("documents", "right"), ("avg clusters", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for group in groups:
        s = group.stats
        table.add_row(
            key_text(group.key),
            str(s.total_executions),
            _by_status(s.executions_by_status),
            seconds(s.avg_execution_time_ms) if s.avg_execution_time_ms else "",
            str(s.total_documents_clustered),
            number(s.avg_num_clusters, 2),
        )
    return table


_BY_FIELD = {m.field: m for m in MEASURES}


def _measure_value(name: str, value: float | None) -> str:
    if value is None:
        return ""
    measure: Measure | None = _BY_FIELD.get(name)
    if name == "execution_time_ms" or (measure is not None and measure.unit == "ms"):
        return seconds(value)
    return number(value, measure.digits if measure is not None else 3)


def percentiles_table(percentiles: dict[str, dict[str, float | None]]) -> Table:
    labels = list(next(iter(percentiles.values()), {}))
    table = Table(title="percentiles", title_justify="left", header_style="bold")
    table.add_column("measure")
    for label in labels:
        table.add_column(f"p{label}", justify="right")
    for name, values in percentiles.items():
        table.add_row(name, *(_measure_value(name, values.get(label)) for label in labels))
    return table


def _bucket_cells(b: ExecutionTrendBucket) -> list[str]:
    return [
        b.start.strftime("%Y-%m-%d %H:%M"),
        str(b.total),
        _by_status(b.by_status),
        seconds(b.avg_duration_ms),
        seconds(b.p50_duration_ms),
        number(b.avg_silhouette_score),
        number(b.avg_num_clusters, 2),
    ]


TREND_COLUMNS = ("runs", "by status", "avg time", "median time", "avg silhouette", "avg clusters")


def trends_table(trends: ExecutionTrendsResponse, group_by: str | None = None) -> Table:
    """One row per non-empty bucket; with groups, one per (group, non-empty bucket), grouped by value."""
    title = f"runs per {trends.bucket}" + (f" by {group_by}" if group_by else "")
    table = Table(title=title, title_justify="left", header_style="bold")
    if trends.groups is not None:
        table.add_column(group_by or "group")
    table.add_column("start", no_wrap=True)
    for name in TREND_COLUMNS:
        table.add_column(name, justify="left" if name == "by status" else "right")
    if trends.groups is None:
        for b in trends.buckets:
            if b.total:
                table.add_row(*_bucket_cells(b))
        return table
    for group in trends.groups:
        for b in group.buckets:
            if b.total:
                table.add_row(key_text(group.key), *_bucket_cells(b))
        table.add_section()
    return table
