"""Rollups of the execution history: per-cluster sums by (grain, bucket, status, algorithm), kept by
triggers in the transaction of every write, so totals, ``stats_scope: "all"``, trends and the
overview stop scanning the history (see ``store/rollup_schema.py``). Built from the rows present.

Revision ID: 0015
Revises: 0013
"""

from __future__ import annotations

from alembic import op

from clusterbook.store import rollup_schema
from clusterbook.store.tables import execution_rollups

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    execution_rollups.create(bind)
    # trends and ranges read one grain of a cluster in bucket order
    op.create_index("ix_execution_rollups_read", "execution_rollups", ["cluster_id", "grain", "bucket_start"])
    rollup_schema.install(bind)
    rollup_schema.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for event in ("insert", "delete", "update"):
        if bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS executions_rollup_{event}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS executions_rollup_{event} ON executions")
            op.execute(f"DROP FUNCTION IF EXISTS executions_rollup_{event}()")
    op.drop_table("execution_rollups")
