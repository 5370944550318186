"""How the remote commands print: rich tables for people, the API's own JSON for jq, CSV for
spreadsheets, and the live display of a running execution. Data goes to stdout, everything else
(progress, notes, errors) to stderr, so output pipes cleanly."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import IO, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from clusterbook.models.clusters import Cluster
from clusterbook.models.executions import ClusterExecutionCentroid, ClusterExecutionResult
from clusterbook.models.exports import RUN_COLUMNS
from clusterbook.models.listing import ClusterExecutionListStats, PaginationResponse
from clusterbook.models.measures import MEASURES, Measure

STATUS_STYLE = {
    "pending": "yellow",
    "processing": "cyan",
    "completed": "green",
    "failed": "red",
    "canceled": "magenta",
}
RUN_CSV_COLUMNS = tuple(column.name for column in RUN_COLUMNS)
"""CSV columns: the server's run export columns (``models/exports.py``): the run's facts, one per declared measure."""


def stdout() -> Console:
    """The data console; wide when not a terminal, so piped tables are never squeezed."""
    return Console(highlight=False) if sys.stdout.isatty() else Console(highlight=False, width=200)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def note(message: str) -> None:
    """A remark for the person at the terminal (stderr; never mixed into data)."""
    stderr().print(escape(message))


def print_json(data: Any) -> None:
    """JSON exactly as the API sent it (plain text, no colour), for jq and friends."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# ----------------------------------------------------------------------------- small formatters


def when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def seconds(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms / 1000:.1f} s" if ms < 600_000 else f"{ms / 60_000:.1f} min"


def number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def metric(run: ClusterExecutionResult, name: str) -> float | None:
    return run.metrics.value(name) if run.metrics else None


def measure_text(measure: Measure, value: float | None, *, extra_digits: int = 0) -> str:
    """A measure's value as people read it: times in s/min, counts whole, scores to their digits."""
    if value is None:
        return ""
    if measure.unit == "ms":
        return seconds(value)
    if measure.kind == "integer":
        return str(int(value))
    return number(value, measure.digits + extra_digits)


# ----------------------------------------------------------------------------- runs


def runs_table(runs: Sequence[ClusterExecutionResult], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("run", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("points", justify="right")
    table.add_column("clusters", justify="right")
    for measure in MEASURES:
        table.add_column(measure.label.lower(), justify="right", no_wrap=measure.unit is not None)
    table.add_column("name / error", overflow="ellipsis", max_width=60)
    for run in runs:
        detail = run.error_message or run.run_name or ""
        table.add_row(
            run.run_id,
            status_text(str(run.status)),
            when(run.created_at),
            str(run.num_points),
            str(run.num_clusters),
            *(measure_text(m, run.measure_value(m), extra_digits=1) for m in MEASURES),
            Text(" ".join(detail.split())),
        )
    return table


def listing_footer(
    pagination: PaginationResponse | None, total: int, stats: ClusterExecutionListStats | None, shown: int
) -> str:
    parts = [f"{total} matching run{'s' if total != 1 else ''}"]
    if pagination is not None and pagination.total_pages:
        parts.append(f"page {pagination.page} of {pagination.total_pages}")
    elif pagination is None:
        parts.append(f"all {shown} shown")
    if stats is not None and stats.total_executions:
        by_status = ", ".join(f"{n} {s}" for s, n in sorted(stats.executions_by_status.items()))
        parts.append(by_status)
        if stats.avg_execution_time_ms:
            parts.append(f"avg {seconds(stats.avg_execution_time_ms)}")
    return " · ".join(parts)


def run_row(run: ClusterExecutionResult) -> dict[str, Any]:
    data = run.to_dict()
    row = {name: data.get(name) for name in RUN_CSV_COLUMNS}
    for measure in MEASURES:
        row[measure.name] = run.measure_value(measure)
    return row


def write_runs_csv(runs: Iterable[ClusterExecutionResult], file: IO[str] | None = None) -> None:
    writer = csv.DictWriter(file or sys.stdout, fieldnames=RUN_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for run in runs:
        writer.writerow({k: "" if v is None else v for k, v in run_row(run).items()})


def _key_values(rows: Sequence[tuple[str, RenderableType | str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(key, value if not isinstance(value, str) else Text(value))
    return table


def centroids_table(run: ClusterExecutionResult) -> Table | None:
    if not run.centroids:
        return None
    total = sum(c.num_members for c in run.centroids) or 1
    table = Table(header_style="bold", title="clusters", title_justify="left")
    table.add_column("cluster", no_wrap=True)
    table.add_column("size", justify="right")
    table.add_column("share", justify="right")
    table.add_column("label")
    table.add_column("keywords")
    compared = run.baseline_run_id is not None and any(c.baseline_cluster_id for c in run.centroids)
    if compared:
        table.add_column("baseline match")
        table.add_column("jaccard", justify="right")
    scored = any(c.stability is not None for c in run.centroids)
    if scored:
        table.add_column("stability", justify="right")
    for c in run.centroids:
        cells = [c.cluster_id, str(c.num_members), f"{100 * c.num_members / total:.0f}%"]
        texts = [Text((c.label or "") + curation_note(c)), Text(", ".join(c.keywords or []))]
        if compared:
            texts += [Text(baseline_match(c)), Text(number(c.jaccard, 2))]
        if scored:
            texts.append(Text(number(c.stability, 2)))
        table.add_row(*cells, *texts)
    return table


def curation_note(centroid: ClusterExecutionCentroid) -> str:
    """Where a curated label came from: " (curated by alice)", " (from run_… cl_2)", or nothing."""
    if centroid.override is not None and centroid.override.label is not None:
        return f" (curated by {centroid.override.by})"
    if centroid.inherited is not None and centroid.inherited.label is not None:
        return f" (from {centroid.inherited.run_id} {centroid.inherited.cluster_id})"
    return ""


def baseline_match(centroid: ClusterExecutionCentroid) -> str:
    """The baseline cluster matched to ``centroid`` with its label, or "unmatched"."""
    if centroid.baseline_cluster_id is None:
        return "unmatched"
    label = f" ({centroid.baseline_label})" if centroid.baseline_label else ""
    return centroid.baseline_cluster_id + label


def run_details(run: ClusterExecutionResult, *, traceback: bool = False) -> RenderableType:
    rows: list[tuple[str, RenderableType | str]] = [
        ("run", run.run_id),
        ("status", status_text(str(run.status))),
        ("cluster", run.cluster_id),
    ]
    if run.run_name:
        rows.append(("name", run.run_name))
    if run.algorithm:
        rows.append(("algorithm", run.algorithm))
    rows += [
        ("created (UTC)", when(run.created_at)),
        ("started (UTC)", when(run.started_at)),
        ("completed (UTC)", when(run.completed_at)),
        ("points", str(run.num_points)),
        ("clusters", str(run.num_clusters)),
        ("baseline", run.baseline_run_id or "none"),
        ("started by", run.trigger),
    ]
    if run.mode == "assign":
        rows.append(("mode", f"assign, to the centres of {run.source_run_id}"))
    if run.should_recluster:
        rows.append(("re-cluster", Text(f"yes: {run.recluster_reason}", style="yellow")))
    for measure in MEASURES:
        value = run.measure_value(measure)
        if value is not None:
            better = f"  ({measure.direction} is better)" if measure.direction else ""
            rows.append((measure.label.lower(), measure_text(measure, value, extra_digits=2) + better))
    agreement_note = ((run.metrics.notes if run.metrics else None) or {}).get("agreement_ari")
    if agreement_note and metric(run, "agreement_ari") is None:
        rows.append(("agreement", agreement_note))
    if run.error_message:
        rows.append(("error", Text(run.error_message, style="red")))
    if run.llm_labeling_errors:
        rows.append(("labeling errors", "; ".join(run.llm_labeling_errors)))
    parts: list[RenderableType] = [_key_values(rows)]
    centroids = centroids_table(run)
    if centroids is not None:
        parts.append(centroids)
    if traceback and run.error_traceback:
        parts.append(Text(run.error_traceback, style="dim"))
    return Group(*parts)


# ----------------------------------------------------------------------------- clusters

CLUSTER_CSV_COLUMNS = ("cluster_id", "cluster_name", "cluster_type", "algorithm", "collection_ids", "created_at")


def _algorithm(cluster: Cluster) -> str:
    if cluster.cluster_type == "attribute":
        return "by " + ", ".join(cluster.attribute_config.attributes) if cluster.attribute_config else "attribute"
    return cluster.vector_config.clustering_method if cluster.vector_config else "kmeans"


def clusters_table(clusters: Sequence[Cluster]) -> Table:
    table = Table(header_style="bold")
    table.add_column("cluster", no_wrap=True)
    table.add_column("name")
    table.add_column("type")
    table.add_column("algorithm")
    table.add_column("collections")
    table.add_column("created (UTC)", no_wrap=True)
    for c in clusters:
        table.add_row(
            c.cluster_id,
            Text(c.cluster_name),
            c.cluster_type,
            Text(_algorithm(c)),
            str(len(c.collection_ids)),
            when(c.created_at),
        )
    return table


def write_clusters_csv(clusters: Iterable[Cluster], file: IO[str] | None = None) -> None:
    writer = csv.DictWriter(file or sys.stdout, fieldnames=CLUSTER_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for c in clusters:
        writer.writerow(
            {
                "cluster_id": c.cluster_id,
                "cluster_name": c.cluster_name,
                "cluster_type": c.cluster_type,
                "algorithm": _algorithm(c),
                "collection_ids": " ".join(c.collection_ids),
                "created_at": c.created_at.isoformat(),
            }
        )


def cluster_details(cluster: Cluster, latest: ClusterExecutionResult | None) -> RenderableType:
    rows: list[tuple[str, RenderableType | str]] = [
        ("cluster", cluster.cluster_id),
        ("name", cluster.cluster_name),
        ("namespace", cluster.namespace_id),
        ("type", cluster.cluster_type),
        ("algorithm", _algorithm(cluster)),
        ("collections", ", ".join(cluster.collection_ids)),
    ]
    if cluster.vector_config and cluster.vector_config.algorithm_params:
        rows.append(("parameters", json.dumps(cluster.vector_config.algorithm_params, sort_keys=True)))
    if cluster.filters:
        rows.append(("document filter", json.dumps(cluster.filters, sort_keys=True)))
    if cluster.description:
        rows.append(("description", cluster.description))
    rows += [("created (UTC)", when(cluster.created_at)), ("updated (UTC)", when(cluster.updated_at))]
    if latest is None:
        rows.append(("latest run", "never run"))
    else:
        summary = Text.assemble(latest.run_id, " ", status_text(str(latest.status)), f" {when(latest.created_at)}")
        rows.append(("latest run", summary))
    return _key_values(rows)


# ----------------------------------------------------------------------------- the live run display


class RunProgress:
    """What ``execute --wait`` shows while a run goes on: a spinner, the run, its status and the
    time since it was submitted (redrawn several times a second by ``rich.live.Live``)."""

    def __init__(self, run: ClusterExecutionResult) -> None:
        self.run = run
        self.started = time.monotonic()
        self.spinner = Spinner("dots")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def update(self, run: ClusterExecutionResult) -> bool:
        """Take a polled state; ``True`` when the status changed."""
        changed = run.status != self.run.status
        self.run = run
        return changed

    def __rich__(self) -> RenderableType:
        self.spinner.text = Text.assemble(
            f"{self.run.run_id}  ", status_text(str(self.run.status)), f"  {self.elapsed():.1f} s elapsed"
        )
        return self.spinner


def finished_line(run: ClusterExecutionResult) -> str:
    """One line saying how a run ended."""
    took = f" in {seconds(run.duration_ms)}" if run.duration_ms is not None else ""
    if run.status == "completed":
        quality = metric(run, "silhouette_score")
        extra = f", silhouette {quality:.3f}" if quality is not None else ""
        return f"{run.run_id} completed{took}: {run.num_clusters} clusters over {run.num_points} points{extra}"
    reason = f": {' '.join(run.error_message.split())}" if run.error_message else ""
    return f"{run.run_id} {run.status}{took}{reason}"
