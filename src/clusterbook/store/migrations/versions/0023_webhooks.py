"""Webhook endpoints per namespace and their delivery outbox (issue 15, "Alerts and webhooks").

``webhooks``: one endpoint (URL, subscribed events, signing secret, active flag). ``webhook_deliveries``:
one row per (event, endpoint), written in the transaction of the event itself (a run's terminal
transition, a monitor's firing) and claimed by the workers' delivery loop like runs are claimed.
The partial index over undelivered rows keeps claiming cheap beside a long delivery log; the
``(webhook_id, created_at, delivery_id)`` index serves each endpoint's log, newest first.

Revision ID: 0023
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import IdentifierType, JSONType, UTCDateTime

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE = "status IN ('pending', 'delivering')"


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "namespace_id",
            IdentifierType,
            sa.ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", JSONType, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_webhooks_namespace", "webhooks", ["namespace_id", "created_at", "webhook_id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "webhook_id", IdentifierType, sa.ForeignKey("webhooks.webhook_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("namespace_id", IdentifierType, nullable=False),
        sa.Column("event_id", IdentifierType, nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False),
        sa.Column("claim_token", sa.String(40)),
        sa.Column("lease_expires_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("response_code", sa.Integer),
        sa.Column("response_ms", sa.Float),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_attempt_at", UTCDateTime),
        sa.Column("delivered_at", UTCDateTime),
    )
    op.create_index("ix_webhook_deliveries_log", "webhook_deliveries", ["webhook_id", "created_at", "delivery_id"])
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
