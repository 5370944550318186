"""``clusterbook schedules create|list|pause|resume|delete``: a cluster's triggers on a server, through
the SDK (``client.schedules``). Options as for the other remote commands (``--url``, ``--api-key``,
``--namespace``, ``--debug``); ``--format json`` prints the API's JSON."""

from __future__ import annotations

from typing import Annotated

import typer

from clusterbook.cli.remote_options import (
    ApiKeyOption,
    DebugOption,
    DetailFormat,
    DetailFormatOption,
    NamespaceOption,
    Remote,
    UrlOption,
    connected,
    parse_json_object,
    usage,
)

schedules_app = typer.Typer(
    help="Schedules that run a cluster by cron, interval or new documents (over HTTP).",
    no_args_is_help=True,
    add_completion=False,
)
ClusterArgument = Annotated[str, typer.Argument(help="Cluster id or name.")]
ScheduleArgument = Annotated[str, typer.Argument(help="Schedule id (sched_…).")]


@schedules_app.command("create")
def schedules_create(
    cluster: ClusterArgument,
    cron: Annotated[str | None, typer.Option("--cron", help="Five-field cron expression, e.g. '0 3 * * *'.")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", "--tz", help="IANA time zone of --cron (default UTC).")
    ] = None,
    every: Annotated[int | None, typer.Option("--every", help="Run every this many seconds (at least 60).")] = None,
    new_documents: Annotated[
        int | None, typer.Option("--new-documents", help="Run once this many documents changed since the last run.")
    ] = None,
    execute_body: Annotated[
        str | None, typer.Option("--execute", help='Execute body as JSON, e.g. {"run_name": "nightly"}.')
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="A label for people.")] = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a schedule: exactly one of --cron (with --timezone), --every or --new-documents."""
    from clusterbook.cli import render_schedules

    given = [
        flag for flag, value in (("--cron", cron), ("--every", every), ("--new-documents", new_documents)) if value
    ]
    if len(given) != 1:
        usage("--cron", f"give exactly one of --cron, --every or --new-documents (got {', '.join(given) or 'none'})")
    body = parse_json_object(execute_body, "--execute")
    with connected(Remote(url, api_key, namespace, debug)) as client:
        made = client.schedules.create(
            cluster, cron=cron, timezone=timezone, interval_seconds=every, new_documents=new_documents,
            execute=body, paused=paused, name=name,
        )  # fmt: skip
        render_schedules.show(made, output, f"created schedule {made.schedule_id}")


@schedules_app.command("list")
def schedules_list(
    cluster: ClusterArgument,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """The cluster's schedules with their next fire time and last firing."""
    from clusterbook.cli import render, render_schedules

    with connected(Remote(url, api_key, namespace, debug)) as client:
        response = client.schedules.list(cluster)
        if output == DetailFormat.json:
            render.print_json(response.to_dict())
            return
        render.stdout().print(render_schedules.schedules_table(response.results))
        render.note(f"{response.total_count} schedule{'s' if response.total_count != 1 else ''}")


def _set_paused(cluster: str, schedule_id: str, paused: bool, output: DetailFormat, remote: Remote) -> None:
    from clusterbook.cli import render_schedules

    with connected(remote) as client:
        changed = (client.schedules.pause if paused else client.schedules.resume)(cluster, schedule_id)
        render_schedules.show(changed, output, f"{'paused' if paused else 'resumed'} schedule {schedule_id}")


@schedules_app.command("pause")
def schedules_pause(
    cluster: ClusterArgument,
    schedule_id: ScheduleArgument,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Pause a schedule: its slots are recorded as skipped until it is resumed."""
    _set_paused(cluster, schedule_id, True, output, Remote(url, api_key, namespace, debug))


@schedules_app.command("resume")
def schedules_resume(
    cluster: ClusterArgument,
    schedule_id: ScheduleArgument,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Resume a paused schedule at its next slot."""
    _set_paused(cluster, schedule_id, False, output, Remote(url, api_key, namespace, debug))


@schedules_app.command("delete")
def schedules_delete(
    cluster: ClusterArgument,
    schedule_id: ScheduleArgument,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete a schedule (the runs it started stay in the history)."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        client.schedules.delete(cluster, schedule_id)
        render.note(f"deleted schedule {schedule_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(schedules_app, name="schedules")
