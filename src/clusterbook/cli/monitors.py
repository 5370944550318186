"""``clusterbook monitors list|create|show|pause|resume|delete|alerts``: a cluster's alert rules, over
HTTP through the SDK (``client.monitors``), with the same connection options as every remote command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from clusterbook.cli.remote_options import (
    ApiKeyOption,
    DebugOption,
    DetailFormat,
    DetailFormatOption,
    NamespaceOption,
    PageOption,
    PageSizeOption,
    Remote,
    UrlOption,
    connected,
    parse_json_object,
    usage,
)

if TYPE_CHECKING:
    from rich.table import Table

    from clusterbook.models.monitors import Monitor, MonitorAlert

monitors_app = typer.Typer(
    help="Monitors: rules over a cluster's history that alert once when they break (over HTTP).",
    no_args_is_help=True,
    add_completion=False,
)
ClusterArg = Annotated[str, typer.Argument(help="Cluster id or name.")]
MonitorArg = Annotated[str, typer.Argument(help="Monitor id or name.")]
RULE_HELP = (
    'The rule as JSON, e.g. \'{"kind": "failure_rate", "last_runs": 10, "above": 0.3}\', '
    '\'{"kind": "metric", "measure": "silhouette_score", "below": 0.25}\', '
    '\'{"kind": "metric", "measure": "stability", "below_median": {"last_runs": 5, "delta": 0.05}}\' or '
    '\'{"kind": "no_completed_run", "for_seconds": 86400}\'.'
)


def describe_rule(rule: Any) -> str:
    """A rule in a few words, for tables."""
    data = rule.model_dump(exclude_none=True)
    kind = data.pop("kind")
    return f"{kind} " + " ".join(f"{k}={v}" for k, v in data.items())


def _monitors_table(monitors: list[Monitor]) -> Table:
    from rich.table import Table

    table = Table("monitor", "name", "state", "since", "rule", "last evaluation")
    for m in monitors:
        state = "paused" if m.paused else m.state
        style = "bold red" if m.state == "alerting" else None
        last = (m.last_values or {}).get("message") or "—"
        table.add_row(m.monitor_id, m.name, f"[{style}]{state}[/]" if style else state, m.state_since.isoformat(),
                      describe_rule(m.rule), str(last))  # fmt: skip
    return table


def _alerts_table(alerts: list[MonitorAlert]) -> Table:
    from rich.table import Table

    table = Table("at", "event", "run", "message")
    for a in alerts:
        table.add_row(a.at.isoformat(), a.event, a.run_id or "—", a.message)
    return table


@monitors_app.command("list")
def monitors_list(
    cluster: ClusterArg,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """The cluster's monitors with their state."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.monitors.list(cluster)
    if output == DetailFormat.json:
        render.print_json([m.to_dict() for m in found])
        return
    render.stdout().print(_monitors_table(found))


@monitors_app.command("create")
def monitors_create(
    cluster: ClusterArg,
    name: Annotated[str, typer.Argument(help="Monitor name (unique in the cluster).")],
    rule: Annotated[str, typer.Option("--rule", help=RULE_HELP)],
    paused: Annotated[bool, typer.Option("--paused", help="Save it paused (not evaluated).")] = False,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Save a monitor on a cluster."""
    from clusterbook.cli import render

    parsed = parse_json_object(rule, "--rule")
    if parsed is None:
        usage("--rule", "give the rule as a JSON object")
    with connected(Remote(url, api_key, namespace, debug)) as client:
        created = client.monitors.create(cluster, name, parsed, paused=paused)
    if output == DetailFormat.json:
        render.print_json(created.to_dict())
        return
    render.stdout().print(_monitors_table([created]))


@monitors_app.command("show")
def monitors_show(
    cluster: ClusterArg,
    monitor: MonitorArg,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """One monitor, with what its last evaluation saw."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.monitors.get(cluster, monitor)
    if output == DetailFormat.json:
        render.print_json(found.to_dict())
        return
    render.stdout().print(_monitors_table([found]))


def _set_paused(cluster: str, monitor: str, paused: bool, remote: Remote) -> None:
    from clusterbook.cli import render

    with connected(remote) as client:
        changed = client.monitors.update(cluster, monitor, paused=paused)
    render.note(f"{'paused' if paused else 'resumed'} monitor {changed.name} ({changed.monitor_id})")


@monitors_app.command("pause")
def monitors_pause(
    cluster: ClusterArg,
    monitor: MonitorArg,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Stop evaluating a monitor (its state and history stay)."""
    _set_paused(cluster, monitor, True, Remote(url, api_key, namespace, debug))


@monitors_app.command("resume")
def monitors_resume(
    cluster: ClusterArg,
    monitor: MonitorArg,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Evaluate a paused monitor again."""
    _set_paused(cluster, monitor, False, Remote(url, api_key, namespace, debug))


@monitors_app.command("delete")
def monitors_delete(
    cluster: ClusterArg,
    monitor: MonitorArg,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete a monitor and its alert history."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.monitors.get(cluster, monitor)
        client.monitors.delete(cluster, found.monitor_id)
    render.note(f"deleted monitor {found.name} ({found.monitor_id})")


@monitors_app.command("alerts")
def monitors_alerts(
    cluster: ClusterArg,
    monitor: MonitorArg,
    page: PageOption = None,
    page_size: PageSizeOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """A monitor's alert history, newest first: each trigger and recovery with the values seen."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        response = client.monitors.alerts(cluster, monitor, page=page, page_size=page_size)
    if output == DetailFormat.json:
        render.print_json(response.to_dict())
        return
    render.stdout().print(_alerts_table(response.results))
    pages = response.pagination
    render.note(f"{response.total_count} alerts · page {pages.page} of {max(pages.total_pages, 1)}")
