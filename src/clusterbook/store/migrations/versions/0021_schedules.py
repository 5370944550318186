"""Schedules (triggers) and what started each run.

``schedules`` holds a cluster's triggers — a cron expression in a time zone, a fixed interval, or a
count of new documents — with the instant each is next due (``next_fire_at``, indexed: the worker's
scheduler claims due rows by moving it with a conditional UPDATE). ``schedule_firings`` records
each firing: when, which slot it served, and the run it started or why it skipped one.

``executions.trigger`` says what started a run (``api``, ``schedule:<id>``, ``monitor:<id>``), with a
folded copy the history filters compare; stored runs were all started over the API. Documents get
an index on ``(collection_id, updated_at)`` so a ``new_documents`` schedule counts recent changes
without reading a collection.

Revision ID: 0021
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import IdentifierType, JSONType, UTCDateTime

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", IdentifierType, nullable=False, unique=True),
        sa.Column("namespace_id", IdentifierType, nullable=False),
        sa.Column(
            "cluster_id", IdentifierType, sa.ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("cron", sa.String(200)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("new_documents", sa.Integer),
        sa.Column("execute", JSONType),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("next_fire_at", UTCDateTime, nullable=False),
        sa.Column("last_fired_at", UTCDateTime),
        sa.Column("last_run_id", IdentifierType),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_schedules_due", "schedules", ["next_fire_at"])
    op.create_index("ix_schedules_cluster", "schedules", ["cluster_id", "created_at"])
    op.create_table(
        "schedule_firings",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "schedule_id", IdentifierType, sa.ForeignKey("schedules.schedule_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=False),
        sa.Column("run_id", IdentifierType),
        sa.Column("skipped", sa.String(32)),
        sa.Column("detail", sa.Text),
        sa.Column("repeats", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_index("ix_schedule_firings_schedule", "schedule_firings", ["schedule_id", "id"])
    op.add_column("executions", sa.Column("trigger", sa.String(80), nullable=False, server_default="api"))
    op.add_column("executions", sa.Column("trigger_folded", sa.Text(), nullable=False, server_default="api"))
    op.create_index("ix_executions_cluster_trigger", "executions", ["cluster_id", "trigger_folded", "created_at"])
    # a new_documents schedule counts the documents changed since the cluster's last run (bounded by its N)
    op.create_index("ix_documents_collection_updated", "documents", ["collection_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_collection_updated", table_name="documents")
    op.drop_index("ix_executions_cluster_trigger", table_name="executions")
    op.drop_column("executions", "trigger_folded")
    op.drop_column("executions", "trigger")
    op.drop_table("schedule_firings")
    op.drop_table("schedules")
