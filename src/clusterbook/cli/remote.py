"""The commands that talk to a clusterbook server over HTTP, through the SDK (``clusterbook.client``):
``clusters create|list|show|delete|estimate``, ``execute``, ``executions list|trends|show|cancel|compare``
(and the exports of ``cli/exporting.py``).

Every one takes ``--url`` (``CLUSTERBOOK_URL``), ``--api-key`` (``CLUSTERBOOK_API_KEY``),
``--namespace`` (``CLUSTERBOOK_NAMESPACE``) and ``--debug``. A failure prints one line to stderr and
exits non-zero; ``--debug`` prints the traceback and the HTTP retries as well. The SDK and the
renderers are imported when a command runs, so the rest of the CLI starts fast.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clusterbook.cli.centroids import centroids_app
from clusterbook.cli.remote_options import (
    AllOption,
    ApiKeyOption,
    ClusterOption,
    DebugOption,
    DetailFormat,
    DetailFormatOption,
    Format,
    FormatOption,
    GroupByOption,
    NamespaceOption,
    PageOption,
    PageSizeOption,
    ParamFilterOption,
    Remote,
    SearchOption,
    StatsScope,
    TrendBucket,
    UrlOption,
    check_page_or_all,
    connected,
    execution_filter,
    fail,
    parse_json_object,
    parse_params,
    parse_percentiles,
    usage,
)

if TYPE_CHECKING:
    from clusterbook.client import Client
    from clusterbook.models.executions import ClusterExecutionResult


# ----------------------------------------------------------------------------- clusters

clusters_app = typer.Typer(
    help="Cluster configurations on a clusterbook server (over HTTP).", no_args_is_help=True, add_completion=False
)


@clusters_app.command("create")
def clusters_create(
    name: Annotated[str, typer.Argument(help="Cluster name (unique in the namespace).")],
    collection: Annotated[
        list[str] | None, typer.Option("--collection", help="Collection id or name (repeat for several).")
    ] = None,
    algorithm: Annotated[
        str | None, typer.Option("--algorithm", "-a", help="Clustering method, e.g. kmeans, hdbscan.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Algorithm parameter key=value (repeat), e.g. n_clusters=8."),
    ] = None,
    sample_size: Annotated[int | None, typer.Option("--sample-size", help="Fit on this many documents.")] = None,
    embedder: Annotated[str | None, typer.Option("--embedder", help="tfidf-svd or minilm, for text.")] = None,
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", help="Group by this metadata attribute instead (repeat): an attribute cluster."),
    ] = None,
    document_filter: Annotated[
        str | None, typer.Option("--filter", help='Document pre-filter as JSON, e.g. {"metadata.lang": "en"}.')
    ] = None,
    description: Annotated[str | None, typer.Option("--description", help="Free text.")] = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a cluster over one or more collections."""
    from clusterbook.cli import render

    vector: dict[str, Any] = {}
    if algorithm:
        vector["clustering_method"] = algorithm
    if param:
        vector["algorithm_params"] = parse_params(param)
    if sample_size is not None:
        vector["sample_size"] = sample_size
    if embedder:
        vector["embedder"] = embedder
    if attribute and vector:
        usage("--attribute", "an attribute cluster takes no --algorithm, --param, --sample-size or --embedder")
    filters = parse_json_object(document_filter, "--filter")
    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster = client.clusters.create(
            name,
            collection_ids=collection or [],
            cluster_type="attribute" if attribute else "vector",
            vector_config=vector or None,
            attribute_config={"attributes": attribute} if attribute else None,
            filters=filters,
            description=description,
        )
        if output == DetailFormat.json:
            render.print_json(cluster.to_dict())
            return
        render.stdout().print(render.cluster_details(cluster, None))
        render.note(f"created cluster {cluster.cluster_name} ({cluster.cluster_id})")


@clusters_app.command("list")
def clusters_list(
    search: SearchOption = None,
    sort: Annotated[str | None, typer.Option("--sort", help="Field; '-' prefix for descending.")] = None,
    page: PageOption = None,
    all_pages: AllOption = False,
    page_size: PageSizeOption = None,
    output: FormatOption = Format.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """List the namespace's clusters (newest first)."""
    from clusterbook.cli import render

    check_page_or_all(page, all_pages)
    with connected(Remote(url, api_key, namespace, debug)) as client:
        if all_pages:
            clusters = list(client.clusters.iter(search=search, sort=sort, page_size=page_size or 100))
            if output == Format.json:
                render.print_json([c.to_dict() for c in clusters])
            elif output == Format.csv:
                render.write_clusters_csv(clusters)
            else:
                render.stdout().print(render.clusters_table(clusters))
                render.note(f"{len(clusters)} cluster{'s' if len(clusters) != 1 else ''}")
            return
        response = client.clusters.list(search=search, sort=sort, page=page, page_size=page_size)
        if output == Format.json:
            render.print_json(response.to_dict())
        elif output == Format.csv:
            render.write_clusters_csv(response.results)
        else:
            render.stdout().print(render.clusters_table(response.results))
            pages = response.pagination
            plural = "s" if response.total_count != 1 else ""
            render.note(f"{response.total_count} cluster{plural} · page {pages.page} of {max(pages.total_pages, 1)}")


@clusters_app.command("show")
def clusters_show(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Show a cluster's configuration and its latest run."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.clusters.get(cluster)
        if output == DetailFormat.json:
            render.print_json(found.to_dict())
            return
        latest = client.executions.latest(found.cluster_id)
        render.stdout().print(render.cluster_details(found, latest))


@clusters_app.command("delete")
def clusters_delete(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete a cluster and its whole execution history."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.clusters.get(cluster)
        if not yes and not typer.confirm(
            f"Delete cluster {found.cluster_name} ({found.cluster_id}) and its whole execution history?", err=True
        ):
            fail("not deleted")
        client.clusters.delete(found.cluster_id)
        render.note(f"deleted cluster {found.cluster_name} ({found.cluster_id})")


@clusters_app.command("estimate")
def clusters_estimate(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Override an algorithm parameter for this run: key=value (repeat)."),
    ] = None,
    random_state: Annotated[int | None, typer.Option("--random-state", min=0, help="Seed for this run.")] = None,
    sample_size: Annotated[int | None, typer.Option("--sample-size", min=2, help="Fit on this many documents.")] = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """What `execute` with these options would fit and cost; exits 1 when the server would refuse it."""
    from clusterbook.cli import render

    overrides = parse_params(param) or None
    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.clusters.estimate(
            cluster, algorithm_params=overrides, random_state=random_state, sample_size=sample_size
        )
    if output == DetailFormat.json:
        render.print_json(found.to_dict())
    else:
        fitted = f"{found.fit_documents:,} × {found.fit_dimensions:,}"
        lines = [
            f"algorithm      {found.algorithm}",
            f"documents      {found.documents:,} × {found.dimensions:,} dimensions (fits {fitted})",
            f"limit          {found.max_documents:,} documents, {found.max_cells:,} documents × dimensions",
            f"estimate       ~{found.estimated_seconds:,.0f} s, ~{found.estimated_memory_bytes / 2**20:,.0f} MiB",
        ]
        for line in lines:
            typer.echo(line)
    if found.refused:
        fail(f"refused: {found.reason}")


# ----------------------------------------------------------------------------- execute


def execute(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Follow the run live until it ends.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="A name for this run.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Override an algorithm parameter for this run: key=value (repeat)."),
    ] = None,
    random_state: Annotated[int | None, typer.Option("--random-state", min=0, help="Seed for this run.")] = None,
    sample_size: Annotated[int | None, typer.Option("--sample-size", min=2, help="Fit on this many documents.")] = None,
    stability_resamples: Annotated[
        int | None,
        typer.Option(
            "--stability-resamples",
            help="Score each cluster's bootstrap stability over this many re-clustered subsamples (2-50).",
        ),
    ] = None,
    stability_fraction: Annotated[
        float | None,
        typer.Option(
            "--stability-fraction",
            help="With stability: share of the documents in each subsample (0.5-0.95, default 0.8).",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode", help="'assign': place documents against a completed run's centres instead of re-clustering."
        ),
    ] = None,
    source_run: Annotated[
        str | None, typer.Option("--source-run", help="Assign mode: the run whose centres to use (default: latest).")
    ] = None,
    assignment_threshold: Annotated[
        float | None,
        typer.Option("--assignment-threshold", help="Assign mode: least cosine similarity to a centre (0-1)."),
    ] = None,
    all_documents: Annotated[
        bool, typer.Option("--all-documents", help="Assign mode: every document, not only those changed since.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0, help="With --wait: give up waiting after this many seconds.")
    ] = None,
    poll_interval: Annotated[float, typer.Option("--poll-interval", min=0.05, help="Seconds between polls.")] = 0.5,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Run a cluster. Prints the run id; with --wait, shows the run live and exits 1 unless it completes."""
    from clusterbook.cli import render

    overrides = parse_params(param) or None
    stability: dict[str, Any] | None = None
    if stability_resamples is not None or stability_fraction is not None:  # the server checks the ranges
        stability = {"resamples": stability_resamples, "fraction": stability_fraction}
        stability = {k: v for k, v in stability.items() if v is not None}
    with connected(Remote(url, api_key, namespace, debug)) as client:
        run = client.clusters.execute(
            cluster,
            run_name=name,
            algorithm_params=overrides,
            random_state=random_state,
            sample_size=sample_size,
            stability=stability,
            mode=mode,
            source_run_id=source_run,
            assignment_threshold=assignment_threshold,
            documents="all" if all_documents else None,
        )
        if not wait:
            if output == DetailFormat.json:
                render.print_json(run.to_dict())
            else:
                typer.echo(run.run_id)
                render.note(
                    f"submitted {run.run_id} ({run.status}); follow it with: clusterbook executions show {run.run_id}"
                )
            return
        final = _follow(client, run, poll_interval, timeout)
        if output == DetailFormat.json:
            render.print_json(final.to_dict())
        else:
            render.stdout().print(render.run_details(final))
        if final.status != "completed":
            fail(render.finished_line(final))
        render.note(render.finished_line(final))


def _follow(client: Client, run: ClusterExecutionResult, poll_interval: float, timeout: float | None) -> Any:
    """Wait for ``run`` with a live spinner (status, elapsed) on stderr; a line per status change."""
    from rich.live import Live

    from clusterbook.cli import render

    progress = render.RunProgress(run)
    console = render.stderr()
    console.print(f"{run.run_id}: {run.status}")
    with Live(progress, console=console, refresh_per_second=10, transient=True) as live:

        def seen(polled: ClusterExecutionResult) -> None:
            if progress.update(polled):
                live.console.print(f"{run.run_id}: {polled.status} after {progress.elapsed():.1f} s")

        try:
            return client.executions.wait(
                run.cluster_id, run.run_id, poll_interval=poll_interval, timeout=timeout, on_update=seen
            )
        except KeyboardInterrupt:
            live.stop()
            typer.echo(
                f"stopped waiting; {run.run_id} keeps running (cancel it with: clusterbook executions cancel "
                f"{run.run_id})",
                err=True,
            )
            raise typer.Exit(130) from None


# ----------------------------------------------------------------------------- executions

executions_app = typer.Typer(
    help="A cluster's execution history and single runs (over HTTP).", no_args_is_help=True, add_completion=False
)


@executions_app.command("list")
def executions_list(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", "-s", help="pending, processing, completed, failed or canceled (repeat for any of several)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Created at or after: 2026-01-31, an ISO timestamp, or an age: 30m, 12h, 7d."),
    ] = None,
    min_silhouette: Annotated[
        float | None, typer.Option("--min-silhouette", help="Silhouette score at least this.")
    ] = None,
    search: SearchOption = None,
    raw_filter: Annotated[
        str | None, typer.Option("--filter", help="A filter tree as JSON, combined (AND) with the options above.")
    ] = None,
    params: ParamFilterOption = None,
    sort: Annotated[
        str | None,
        typer.Option("--sort", help="Field to sort by, '-' prefix for descending, e.g. -metrics.silhouette_score."),
    ] = None,
    page: PageOption = None,
    all_pages: AllOption = False,
    page_size: PageSizeOption = None,
    stats_scope: Annotated[
        StatsScope | None, typer.Option("--stats-scope", help="Stats over the page (default) or all matches.")
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by",
            "-g",
            help="Stats of all matches per value of status, algorithm or a config field "
            "(e.g. config.params.n_clusters); implies --stats-scope all.",
        ),
    ] = None,  # fmt: skip
    percentiles: Annotated[
        str | None,
        typer.Option(
            "--percentiles",
            help="Percentiles of execution time and each metric over all matches, e.g. "
            "50,95; implies --stats-scope all.",
        ),
    ] = None,  # fmt: skip
    output: FormatOption = Format.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """List a cluster's runs: filter, search, sort, page; as a table, the API's JSON, or CSV."""
    from clusterbook.cli import render

    check_page_or_all(page, all_pages)
    filters = execution_filter(status, since, min_silhouette, raw_filter, params)
    wanted = parse_percentiles(percentiles)
    whole = group_by is not None or wanted is not None
    if whole and (all_pages or stats_scope == StatsScope.page):
        usage(
            "--group-by" if group_by else "--percentiles", "describes all matches: not with --all or --stats-scope page"
        )
    if whole:
        stats_scope = StatsScope.all
    with connected(Remote(url, api_key, namespace, debug)) as client:
        if all_pages:
            runs = client.executions.iter(
                cluster, filters=filters, sort=sort, search=search, page_size=page_size or 100
            )
            first = next(runs, None)  # fetch the first page before printing anything: it may fail
            runs = itertools.chain([first] if first is not None else [], runs)
            if output == Format.csv:
                render.write_runs_csv(runs)
                return
            collected = list(runs)
            if output == Format.json:
                render.print_json([run.to_dict() for run in collected])
                return
            render.stdout().print(render.runs_table(collected))
            render.note(render.listing_footer(None, len(collected), None, len(collected)))
            return
        response = client.executions.list(
            cluster,
            filters=filters,
            sort=sort,
            search=search,
            page=page,
            page_size=page_size,
            stats_scope=stats_scope.value if stats_scope else None,
            group_by=group_by,
            percentiles=wanted,
        )
        if output == Format.json:
            render.print_json(response.to_dict())
        elif output == Format.csv:
            render.write_runs_csv(response.results)
        else:
            render.stdout().print(render.runs_table(response.results))
            _print_aggregates(response, group_by)
            render.note(
                render.listing_footer(response.pagination, response.total_count, response.stats, len(response.results))
            )


def _print_aggregates(response: Any, group_by: str | None) -> None:
    from clusterbook.cli import render, render_groups

    if response.groups is not None and group_by is not None:
        render.stdout().print(render_groups.groups_table(response.groups, group_by))
    if response.percentiles is not None:
        render.stdout().print(render_groups.percentiles_table(response.percentiles))


@executions_app.command("trends")
def executions_trends(
    cluster: Annotated[str, typer.Argument(help="Cluster id or name.")],
    bucket: Annotated[TrendBucket, typer.Option("--bucket", "-b", help="hour, day or week (weeks start Monday).")] = (
        TrendBucket.day
    ),
    utc_offset: Annotated[
        int | None, typer.Option("--utc-offset", help="Minutes east of UTC where days begin, e.g. 120 [default: 0]")
    ] = None,
    status: Annotated[list[str] | None, typer.Option("--status", "-s", help="Runs of this status (repeat).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Created at or after: a date, timestamp or 7d.")] = None,
    search: SearchOption = None,
    raw_filter: Annotated[str | None, typer.Option("--filter", help="A filter tree as JSON (AND-ed).")] = None,
    params: ParamFilterOption = None,
    group_by: GroupByOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """A cluster's runs per hour, day or week: counts by status, times, silhouette; split with --group-by."""
    from clusterbook.cli import render, render_groups

    filters = execution_filter(status, since, None, raw_filter, params)
    with connected(Remote(url, api_key, namespace, debug)) as client:
        trends = client.executions.trends(
            cluster,
            filters=filters,
            search=search,
            bucket=bucket.value,
            utc_offset_minutes=utc_offset,
            group_by=group_by,
        )
    if output == DetailFormat.json:
        render.print_json(trends.to_dict())
        return
    render.stdout().print(render_groups.trends_table(trends, group_by))
    render.note(f"{trends.total_count} matching run{'s' if trends.total_count != 1 else ''}")


def _find_run(client: Client, run_id: str, cluster: str | None) -> ClusterExecutionResult:
    return client.executions.get(cluster, run_id) if cluster else client.executions.find(run_id)


@executions_app.command("show")
def executions_show(
    run: Annotated[str, typer.Argument(help="Run id (run_…).")],
    cluster: ClusterOption = None,
    traceback: Annotated[bool, typer.Option("--traceback", help="Also print a failed run's traceback.")] = False,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Show one run: status, timings, metrics, clusters with their labels, error."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = _find_run(client, run, cluster)
        if output == DetailFormat.json:
            render.print_json(found.to_dict())
        else:
            render.stdout().print(render.run_details(found, traceback=traceback))


@executions_app.command("cancel")
def executions_cancel(
    run: Annotated[str, typer.Argument(help="Run id (run_…).")],
    cluster: ClusterOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Cancel a pending or processing run."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster_id = cluster or client.executions.find(run).cluster_id
        canceled = client.executions.cancel(cluster_id, run)
        if output == DetailFormat.json:
            render.print_json(canceled.to_dict())
        else:
            typer.echo(f"{canceled.run_id} {canceled.status}")


@executions_app.command("compare")
def executions_compare(
    runs: Annotated[
        list[str],
        typer.Argument(help="2 to 4 completed run ids; the first is the reference the others are related to."),
    ],
    cluster: ClusterOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Compare runs on the server: measures (best starred), config differences, and per run ARI/AMI
    and matched clusters against the first."""
    from clusterbook.cli import render, render_compare

    with connected(Remote(url, api_key, namespace, debug)) as client:
        cluster_id = cluster or client.executions.find(runs[0]).cluster_id
        compared = client.executions.compare(cluster_id, runs)
        if output == DetailFormat.json:
            render.print_json(compared.to_dict())
        else:
            render.stdout().print(render_compare.compare_view(compared))


def register(app: typer.Typer) -> None:
    """Add the remote commands to the ``clusterbook`` command line."""
    from clusterbook.cli import algorithms, exporting

    exporting.register(app, executions_app)
    app.command("algorithms")(algorithms.algorithms)
    app.add_typer(clusters_app, name="clusters")
    app.add_typer(executions_app, name="executions")
    app.add_typer(centroids_app, name="centroids")
    app.command("execute")(execute)
