"""``clusterbook centroids label|merge``: curate a completed run's clusters over HTTP, through the SDK
(``client.centroids``), with the shared connection options and one-line errors of the remote commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clusterbook.cli.remote_options import (
    ApiKeyOption,
    ClusterOption,
    DebugOption,
    DetailFormat,
    DetailFormatOption,
    NamespaceOption,
    Remote,
    UrlOption,
    connected,
    usage,
)

centroids_app = typer.Typer(
    help="Curate a completed run's clusters: curated labels (kept beside the computed ones) and merges.",
    no_args_is_help=True,
)
RunArgument = Annotated[str, typer.Argument(help="Run id (run_…), a completed run.")]


@centroids_app.command("label")
def centroids_label(
    run: RunArgument,
    centroid: Annotated[str, typer.Argument(help="The run's cluster (cl_…).")],
    label: Annotated[str | None, typer.Option("--label", help="The curated label.")] = None,
    summary: Annotated[str | None, typer.Option("--summary", help="The curated summary.")] = None,
    keyword: Annotated[
        list[str] | None, typer.Option("--keyword", help="A curated keyword (repeat for several; replaces them all).")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option("--clear", help="Remove the override of label, summary or keywords (repeatable)."),
    ] = None,
    cluster: ClusterOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Curate one cluster of a run: the values given override the computed ones; --clear removes one."""
    from clusterbook.cli import render
    from clusterbook.client.resources.centroids import UNSET

    cleared = set(clear or [])
    unknown = cleared - {"label", "summary", "keywords"}
    if unknown:
        usage("--clear", f"{', '.join(sorted(unknown))} is not one of label, summary, keywords")
    fields: dict[str, Any] = {"label": label, "summary": summary, "keywords": keyword}
    sent: dict[str, Any] = {name: (None if name in cleared else value) for name, value in fields.items()}
    sent = {name: value for name, value in sent.items() if value is not None or name in cleared}
    if not sent:
        usage("--label", "give --label, --summary, --keyword or --clear")
    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster_id = cluster or client.executions.find(run).cluster_id
        updated = client.centroids.update(
            cluster_id,
            run,
            centroid,
            label=sent.get("label", UNSET),
            summary=sent.get("summary", UNSET),
            keywords=sent.get("keywords", UNSET),
        )
        if output == DetailFormat.json:
            render.print_json(updated.to_dict())
            return
        found = next(c for c in updated.centroids or [] if c.cluster_id == centroid)
        by = f" (curated by {found.override.by})" if found.override else ""
        typer.echo(f"{updated.run_id} {found.cluster_id}: {found.label}{by}")


@centroids_app.command("merge")
def centroids_merge(
    run: RunArgument,
    centroids: Annotated[list[str], typer.Argument(help="2 or more of the run's clusters; the first keeps its id.")],
    label: Annotated[str | None, typer.Option("--label", help="The merged cluster's curated label.")] = None,
    cluster: ClusterOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Merge clusters of a completed run; the server rewrites the memberships and rescores the run."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster_id = cluster or client.executions.find(run).cluster_id
        merged = client.centroids.merge(cluster_id, run, centroids, label=label)
        if output == DetailFormat.json:
            render.print_json(merged.to_dict())
        else:
            render.stdout().print(render.run_details(merged, traceback=False))
