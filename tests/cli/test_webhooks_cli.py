"""``clusterbook webhooks create|list|deliveries|delete`` against a live server (through the SDK):
the secret printed once, the log's columns, JSON output, and one-line errors."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import Client
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.webhooks import enqueue_event
from tests.cli.test_remote_cli import cli, error_line, ok


def test_create_list_deliveries_delete(
    live_server: BackgroundServer, client: Client, session_factory: sessionmaker[Session]
) -> None:
    out = ok(cli(live_server, "webhooks", "create", "https://example.com/hook", "-e", "execution.failed",
                 "-e", "monitor.triggered", "--description", "pager"))  # fmt: skip
    fields = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert fields["secret"].startswith("whsec_") and fields["events"] == "execution.failed, monitor.triggered"
    webhook_id = fields["webhook"]
    assert [h.webhook_id for h in client.webhooks.list().results] == [webhook_id]

    listed = ok(cli(live_server, "webhooks", "list"))
    assert webhook_id in listed and "https://example.com/hook" in listed and fields["secret"] not in listed
    as_json = json.loads(ok(cli(live_server, "webhooks", "list", "-f", "json")))
    assert as_json["total_count"] == 1 and "secret" not in as_json["results"][0]

    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"monitor_id": "mon_cli"})
    log = ok(cli(live_server, "webhooks", "deliveries", webhook_id))
    assert "monitor.triggered" in log and "pending" in log
    rows = json.loads(ok(cli(live_server, "webhooks", "deliveries", webhook_id, "--status", "pending", "-f", "json")))
    assert rows["total_count"] == 1 and rows["results"][0]["attempts"] == 0
    none = json.loads(ok(cli(live_server, "webhooks", "deliveries", webhook_id, "--status", "delivered", "-f", "json")))
    assert none["total_count"] == 0

    refused = cli(live_server, "webhooks", "delete", webhook_id, input="n\n")
    assert refused.exit_code == 1 and refused.stderr.rstrip().endswith("error: not deleted")
    assert client.webhooks.get(webhook_id).webhook_id == webhook_id
    ok(cli(live_server, "webhooks", "delete", webhook_id, "--yes"))
    assert client.webhooks.list().total_count == 0


def test_errors_are_one_line(live_server: BackgroundServer) -> None:
    line = error_line(cli(live_server, "webhooks", "create", "ftp://example.com", "-e", "execution.failed"))
    assert "http:// or https://" in line and "[422]" in line
    assert "not found" in error_line(cli(live_server, "webhooks", "deliveries", "wh_missing"))
    bad = cli(live_server, "webhooks", "create", "https://example.com", "-e", "execution.started")
    assert bad.exit_code == 2 and "execution.completed" in bad.stderr  # the declared events are the choices
