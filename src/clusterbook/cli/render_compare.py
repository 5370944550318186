"""How ``clusterbook executions compare`` prints the server's compare: the measures with the best run
starred, the config keys that differ, and per pair ARI/AMI with the matched clusters."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from clusterbook.cli.render import measure_text, number
from clusterbook.models.compare import CompareExecutionsResponse, RunPair
from clusterbook.models.measures import MEASURES_BY_NAME

BEST = " ★"


def _run_title(response: CompareExecutionsResponse, i: int) -> str:
    run = response.runs[i]
    role = "reference" if i == 0 else f"run {i + 1}"
    return f"{run.run_id}\n{run.run_name or run.algorithm or ''} ({role})".rstrip()


def metrics_table(response: CompareExecutionsResponse) -> Table:
    table = Table(header_style="bold", title="measures (★ best)", title_justify="left")
    table.add_column("measure")
    for i in range(len(response.runs)):
        table.add_column(_run_title(response, i), justify="right", no_wrap=True)
    for row in response.metrics:
        measure = MEASURES_BY_NAME.get(row.name)
        label = row.label.lower() + (f" ({row.direction})" if row.direction else "")
        cells = []
        for run, value in zip(response.runs, row.values, strict=True):
            text = measure_text(measure, value, extra_digits=2) if measure else number(value)
            best = row.best_run_id == run.run_id and len(response.runs) > 1
            cells.append(Text(text + BEST, style="bold green") if best else Text(text))
        table.add_row(label, *cells)
    return table


def _value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def config_table(response: CompareExecutionsResponse) -> RenderableType:
    if not response.config_diff:
        return Text("config: the runs' effective configurations are the same", style="dim")
    table = Table(header_style="bold", title="config differences", title_justify="left")
    table.add_column("key", no_wrap=True)
    for run in response.runs:
        table.add_column(run.run_id, no_wrap=True)
    for difference in response.config_diff:
        table.add_row(difference.key, *(Text(_value(v)) for v in difference.values))
    return table


def _cluster(cluster_id: str | None, label: str | None) -> Text:
    if cluster_id is None:
        return Text("—", style="dim")
    return Text(f"{cluster_id} {label}" if label else cluster_id)


def pair_block(pair: RunPair) -> RenderableType:
    head = Text(f"{pair.other_run_id} against {pair.reference_run_id}: ", style="bold")
    if pair.ari is None:
        head.append(f"{pair.shared_documents} shared documents; {pair.note or 'no agreement'}", style="")
        return head
    stayed = f"{100 * pair.matched_fraction:.1f}%" if pair.matched_fraction is not None else ""
    head.append(
        f"ARI {number(pair.ari, 4)}, AMI {number(pair.ami, 4)}, {pair.shared_documents} shared documents, "
        f"{stayed} stayed, {pair.moved_documents} moved",
        style="",
    )
    table = Table(header_style="bold")
    table.add_column("reference cluster")
    table.add_column("matched cluster")
    table.add_column("overlap", justify="right")
    table.add_column("jaccard", justify="right")
    for match in pair.matches:
        table.add_row(
            _cluster(match.reference_cluster_id, match.reference_label),
            _cluster(match.other_cluster_id, match.other_label),
            str(match.overlap),
            number(match.jaccard, 3),
        )
    parts: list[RenderableType] = [head, table]
    if pair.unmatched_other_cluster_ids:
        parts.append(Text("unmatched: " + ", ".join(pair.unmatched_other_cluster_ids), style="dim"))
    if pair.moved_sample:
        shown = ", ".join(m.document_id for m in pair.moved_sample)
        parts.append(Text(f"moved (first {len(pair.moved_sample)} by id): {shown}", style="dim"))
    return Group(*parts)


def compare_view(response: CompareExecutionsResponse) -> RenderableType:
    """The whole compare, top to bottom."""
    return Group(metrics_table(response), config_table(response), *(pair_block(p) for p in response.pairs))
