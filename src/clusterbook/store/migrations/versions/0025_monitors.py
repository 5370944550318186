"""Monitors (saved rules over a cluster's history, with their ok/alerting state) and their alert
history, plus the index their evaluation reads: a cluster's finished runs by completion time.

Revision ID: 0025
Revises: 0019
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import IdentifierType, JSONType, UTCDateTime

revision = "0025"
down_revision = "0023"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("monitor_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "namespace_id",
            IdentifierType,
            sa.ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "cluster_id", IdentifierType, sa.ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", JSONType, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(16), nullable=False, server_default="ok"),
        sa.Column("state_since", UTCDateTime, nullable=False),
        sa.Column("evaluated_at", UTCDateTime),
        sa.Column("last_values", JSONType),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("cluster_id", "name", name="uq_monitors_cluster_name"),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("alert_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "monitor_id", IdentifierType, sa.ForeignKey("monitors.monitor_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("cluster_id", IdentifierType, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("observed", JSONType, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("run_id", IdentifierType),
    )
    op.create_index("ix_monitor_alerts_monitor_at", "monitor_alerts", ["monitor_id", "at", "id"])
    # A monitor reads "the latest N finished runs" and "the latest completed run": one descending walk
    # of this index per status, whatever the size of the history.
    op.create_index(
        "ix_executions_cluster_status_completed", "executions", ["cluster_id", "status", "completed_at", "run_id"]
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and _has_statistics(bind):
        # as in 0003: a new index without statistics looks cheaper than it is to SQLite's planner
        bind.exec_driver_sql("PRAGMA analysis_limit = 1000")
        bind.exec_driver_sql("ANALYZE executions")


def _has_statistics(bind: Any) -> bool:
    tables = bind.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
    return bool(tables) and bool(
        bind.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'executions'").scalar()
    )


def downgrade() -> None:
    op.drop_index("ix_executions_cluster_status_completed", "executions")
    op.drop_index("ix_monitor_alerts_monitor_at", "monitor_alerts")
    op.drop_table("monitor_alerts")
    op.drop_table("monitors")
