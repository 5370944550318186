"""``clusterbook executions export``, ``executions export-members`` and ``clusterbook export``: the
server's streamed exports written to a file (or stdout) through the SDK.

The format comes from ``--format`` or else the output file's extension; the file is written as
``<name>.part`` and renamed once complete, so an interrupted export never leaves a truncated file.
The run export takes the same filter options as ``executions list``.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from clusterbook.cli.remote_options import (
    ApiKeyOption,
    ClusterOption,
    DebugOption,
    NamespaceOption,
    ParamFilterOption,
    Remote,
    SearchOption,
    UrlOption,
    connected,
    execution_filter,
    parse_json_object,
    usage,
)


class RunExportFormat(enum.StrEnum):
    csv = "csv"
    ndjson = "ndjson"
    parquet = "parquet"


class MemberExportFormat(enum.StrEnum):
    csv = "csv"
    parquet = "parquet"


BY_SUFFIX = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".parquet": "parquet", ".pq": "parquet"}
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="File to write ('-' for stdout); its extension picks the format.")
]


def _format(chosen: str | None, output: str, accepted: tuple[str, ...]) -> str:
    if chosen is not None:
        return chosen
    found = BY_SUFFIX.get(Path(output).suffix.lower()) if output != "-" else None
    if found is None:
        return accepted[0]
    if found not in accepted:
        usage("--format", f"{Path(output).name} looks like {found}, which this export does not write; "
                          f"pass --format {' or '.join(accepted)}")  # fmt: skip
    return found


def _target(output: str) -> str | object:
    return sys.stdout.buffer if output == "-" else output


def _done(written: int, output: str) -> None:
    from clusterbook.cli import render

    if output != "-":
        render.note(f"wrote {written:,} bytes to {output}")


def executions_export(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    output: OutputOption,
    export_format: Annotated[
        RunExportFormat | None, typer.Option("--format", "-f", help="csv, ndjson or parquet (default: from -o).")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", "-s", help="Only runs of this status (repeat for any of several).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created at or after: a date, timestamp or age (7d).")
    ] = None,
    min_silhouette: Annotated[float | None, typer.Option("--min-silhouette", help="Silhouette at least this.")] = None,
    search: SearchOption = None,
    raw_filter: Annotated[
        str | None, typer.Option("--filter", help="A filter tree as JSON (AND-ed with the rest).")
    ] = None,
    params: ParamFilterOption = None,
    sort: Annotated[str | None, typer.Option("--sort", help="Sort field, '-' prefix for descending.")] = None,
    config_field: Annotated[
        list[str] | None,
        typer.Option(
            "--config-field", help="Add a config.* column to CSV/Parquet (repeat), e.g. config.params.n_clusters."
        ),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Export every matching run of a cluster (no paging) as CSV, NDJSON or Parquet."""
    chosen = _format(export_format.value if export_format else None, output, ("csv", "ndjson", "parquet"))
    filters = execution_filter(status, since, min_silhouette, raw_filter, params)
    with connected(Remote(url, api_key, namespace, debug)) as client:
        written = client.executions.export(
            cluster,
            to=_target(output),  # type: ignore[arg-type]
            format=chosen,  # type: ignore[arg-type]
            filters=filters,
            sort=sort,
            search=search,
            config_fields=config_field,
        )
    _done(written, output)


def executions_export_members(
    run: Annotated[str, typer.Argument(help="Run id (run_…).")],
    output: OutputOption,
    cluster: ClusterOption = None,
    export_format: Annotated[
        MemberExportFormat | None, typer.Option("--format", "-f", help="csv or parquet (default: from -o).")
    ] = None,
    field: Annotated[
        list[str] | None, typer.Option("--field", help="A document metadata column (repeat), e.g. metadata.lang.")
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Export where each document of a run landed: document id, cluster id, label, distance, metadata."""
    chosen = _format(export_format.value if export_format else None, output, ("csv", "parquet"))
    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster_id = cluster or client.executions.find(run).cluster_id
        written = client.executions.export_members(
            cluster_id,
            run,
            to=_target(output),  # type: ignore[arg-type]
            format=chosen,  # type: ignore[arg-type]
            fields=field,
        )
    _done(written, output)


def export_documents(
    output: OutputOption,
    collection: Annotated[str, typer.Option("--collection", help="Collection id or name.")],
    raw_filter: Annotated[
        str | None, typer.Option("--filter", help='Documents to export as a filter tree, e.g. {"metadata.lang": "en"}.')
    ] = None,
    search: SearchOption = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Export a collection's documents as JSON lines (id, text, vector, metadata): what `clusterbook import` reads."""
    _format(None, output, ("ndjson",))
    filters = parse_json_object(raw_filter, "--filter")
    with connected(Remote(url, api_key, namespace, debug)) as client:
        written = client.documents.export(collection, to=_target(output), filters=filters, search=search)  # type: ignore[arg-type]
    _done(written, output)


def register(app: typer.Typer, executions_app: typer.Typer) -> None:
    executions_app.command("export")(executions_export)
    executions_app.command("export-members")(executions_export_members)
    app.command("export")(export_documents)
