"""Migration 0023 on both databases: the tables as ``store/tables.py`` declares them, the claim's
partial index, a clean downgrade and upgrade, and a namespace's deletion taking its endpoints and
their delivery logs with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.webhooks import WebhookCreate
from clusterbook.store.db import alembic_config, make_engine
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import namespaces, webhook_deliveries, webhooks
from clusterbook.store.webhooks import create_webhook, enqueue_event


@pytest.fixture
def unmigrated(unmigrated_url: str) -> Iterator[Engine]:
    engine = make_engine(unmigrated_url)
    yield engine
    engine.dispose()


def test_the_migration_matches_the_declared_tables_and_reverts(unmigrated: Engine) -> None:
    config = alembic_config(unmigrated)
    command.upgrade(config, "head")
    inspector = sa.inspect(unmigrated)
    for table in (webhooks, webhook_deliveries):
        assert {c["name"] for c in inspector.get_columns(table.name)} == {c.name for c in table.columns}
    indexes = {ix["name"]: ix for ix in inspector.get_indexes("webhook_deliveries")}
    assert indexes["ix_webhook_deliveries_due"]["column_names"] == ["status", "next_attempt_at"]
    assert indexes["ix_webhook_deliveries_log"]["column_names"] == ["webhook_id", "created_at", "delivery_id"]
    command.downgrade(config, "0019")
    assert not {"webhooks", "webhook_deliveries"} & set(sa.inspect(unmigrated).get_table_names())
    command.upgrade(config, "head")
    assert {"webhooks", "webhook_deliveries"} <= set(sa.inspect(unmigrated).get_table_names())


def test_deleting_a_namespace_deletes_its_endpoints_and_their_logs(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        for name in ("doomed", "kept"):
            ns = ensure_namespace(session, name=name).namespace_id
            create_webhook(
                session, namespace_id=ns, data=WebhookCreate(url="https://x.example/", events=["monitor.triggered"])
            )
            enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"ns": name})
    with session_factory() as session, session.begin():
        session.execute(delete(namespaces).where(namespaces.c.namespace_name == "doomed"))
    with session_factory() as session:
        assert session.execute(select(func.count()).select_from(webhooks)).scalar_one() == 1
        (payload,) = session.execute(select(webhook_deliveries.c.payload)).scalars()
    assert payload["data"] == {"ns": "kept"}
