"""``clusterbook webhooks create|list|deliveries|delete``: webhook endpoints of a server, through the SDK.

``create`` prints the signing secret once (the server never shows it again); ``deliveries`` shows an
endpoint's delivery log: status, attempts, response code, last error.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

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
    fail,
)
from clusterbook.models.webhooks import WEBHOOK_EVENTS, DeliveryStatus

if TYPE_CHECKING:
    from rich.table import Table

    from clusterbook.models.webhooks import Webhook, WebhookDelivery

webhooks_app = typer.Typer(
    help="Webhook endpoints on a clusterbook server (over HTTP): who hears when runs end or monitors fire.",
    no_args_is_help=True,
    add_completion=False,
)
Event = enum.StrEnum("Event", {name.replace(".", "_"): name for name in WEBHOOK_EVENTS})  # type: ignore[misc]
"""The declared events (``models/webhooks.py``) as the CLI's choices."""
Status = enum.StrEnum("Status", {s.value: s.value for s in DeliveryStatus})  # type: ignore[misc]


def _hooks_table(hooks: list[Webhook]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from clusterbook.cli.render import when

    table = Table(header_style="bold")
    for column in ("webhook", "url", "events", "active", "description", "created (UTC)"):
        table.add_column(column, no_wrap=column in ("webhook", "created (UTC)"))
    for h in hooks:
        table.add_row(
            h.webhook_id, Text(h.url), ", ".join(h.events), "yes" if h.active else "no",
            Text(h.description or ""), when(h.created_at),
        )  # fmt: skip
    return table


def _deliveries_table(rows: list[WebhookDelivery]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from clusterbook.cli.render import when

    table = Table(header_style="bold")
    for column in ("delivery", "event", "status", "attempts", "code", "last error", "created (UTC)", "delivered"):
        table.add_column(column, no_wrap=column not in ("last error",))
    for d in rows:
        table.add_row(
            d.delivery_id, d.event, str(d.status), str(d.attempts),
            "" if d.response_code is None else str(d.response_code), Text(d.last_error or ""),
            when(d.created_at), when(d.delivered_at) if d.delivered_at else "",
        )  # fmt: skip
    return table


@webhooks_app.command("create")
def webhooks_create(
    url_: Annotated[str, typer.Argument(metavar="URL", help="Where deliveries are POSTed (http or https).")],
    event: Annotated[list[Event], typer.Option("--event", "-e", help="An event to deliver (repeat for several).")],
    description: Annotated[str | None, typer.Option("--description", help="Free text.")] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Create it switched off.")] = False,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Create an endpoint and print its signing secret (shown only this once)."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        created = client.webhooks.create(url_, [e.value for e in event], description=description, active=not inactive)
    if output == DetailFormat.json:
        render.print_json(created.to_dict())
        return
    typer.echo(f"webhook  {created.webhook_id}")
    typer.echo(f"url      {created.url}")
    typer.echo(f"events   {', '.join(created.events)}")
    typer.echo(f"secret   {created.secret}")
    render.note("keep the secret now: it verifies the Clusterbook-Signature header and is never shown again")


@webhooks_app.command("list")
def webhooks_list(
    page: PageOption = None,
    page_size: PageSizeOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """List the namespace's endpoints (newest first)."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        response = client.webhooks.list(page=page, page_size=page_size)
    if output == DetailFormat.json:
        render.print_json(response.to_dict())
        return
    render.stdout().print(_hooks_table(response.results))
    render.note(f"{response.total_count} webhook endpoint{'s' if response.total_count != 1 else ''}")


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    webhook: Annotated[str, typer.Argument(help="The endpoint's id (wh_…).")],
    status: Annotated[Status | None, typer.Option("--status", help="Only deliveries in this status.")] = None,
    event: Annotated[Event | None, typer.Option("--event", "-e", help="Only deliveries of this event.")] = None,
    page: PageOption = None,
    page_size: PageSizeOption = None,
    output: DetailFormatOption = DetailFormat.table,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """An endpoint's delivery log (newest first): status, attempts, response code, last error."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        response = client.webhooks.deliveries(
            webhook,
            status=status.value if status else None,
            event=event.value if event else None,
            page=page,
            page_size=page_size,
        )
    if output == DetailFormat.json:
        render.print_json(response.to_dict())
        return
    render.stdout().print(_deliveries_table(response.results))
    pages = response.pagination
    render.note(f"{response.total_count} deliveries · page {pages.page} of {max(pages.total_pages, 1)}")


@webhooks_app.command("delete")
def webhooks_delete(
    webhook: Annotated[str, typer.Argument(help="The endpoint's id (wh_…).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    namespace: NamespaceOption = None,
    debug: DebugOption = False,
) -> None:
    """Delete an endpoint and its delivery log."""
    from clusterbook.cli import render

    with connected(Remote(url, api_key, namespace, debug)) as client:
        found = client.webhooks.get(webhook)
        if not yes and not typer.confirm(
            f"Delete webhook {found.webhook_id} ({found.url}) and its delivery log?", err=True
        ):
            fail("not deleted")
        client.webhooks.delete(found.webhook_id)
    render.note(f"deleted webhook {found.webhook_id}")
