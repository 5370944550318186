"""Assign mode and hierarchies: each completed run's cluster centres (float32), its cluster tree, the
``unassigned_ratio`` measure, and a cluster's standing verdict on whether to re-cluster.

``execution_centres`` holds one row per cluster of a run (its mean in the clustered space as
little-endian float32 bytes), so an assign run can place new documents against a finished run's
centres and ``GET …/executions/{run_id}?include_vectors=true`` can return them. ``execution_hierarchies``
holds the tree built over a run's clusters (``vector_config.hierarchy``), like the projection.
``clusters.recluster`` is the verdict of the cluster's latest assign run (``should_recluster`` and
the reason), cleared by a completed full run.

Revision ID: 0031
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store import rollup_schema
from clusterbook.store.rollup_columns import AGG_COLUMNS
from clusterbook.store.types import IdentifierType, JSONType

MEASURE = "unassigned_ratio"

revision = "0031"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "execution_centres",
        sa.Column("run_id", IdentifierType, sa.ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("cluster_id", sa.String(16), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "execution_hierarchies",
        sa.Column("run_id", IdentifierType, sa.ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("hierarchy", JSONType, nullable=False),
    )
    op.add_column("executions", sa.Column(MEASURE, sa.Float))
    op.add_column("clusters", sa.Column("recluster", JSONType))
    # The measure's rollup sums: present when 0015 created the table from today's declaration
    bind = op.get_bind()
    present = {column["name"] for column in sa.inspect(bind).get_columns("execution_rollups")}
    for column in AGG_COLUMNS:
        if column.name.startswith(MEASURE + "_") and column.name not in present:
            kind = sa.BigInteger if column.integer else sa.Float
            op.add_column("execution_rollups", sa.Column(column.name, kind, nullable=False, server_default="0"))
    rollup_schema.install(bind)
    rollup_schema.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # its triggers name the column: SQLite refuses to drop it under them
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS executions_rollup_{event}")
    op.drop_column("clusters", "recluster")  # SQLite 3.35+ drops a column in place
    op.drop_column("executions", MEASURE)
    rollup_schema.install(bind)  # without the measure; its rollup sums stay, unused, at what they were
    op.drop_table("execution_hierarchies")
    op.drop_table("execution_centres")
