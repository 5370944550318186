"""Diagnostics of a run as declared measures: ``noise_ratio``, ``cluster_size_entropy``,
``largest_cluster_share``, ``degenerate`` and ``reassigned_points`` (``models/measures.py``), one
nullable column each on ``executions`` and their sums on ``execution_rollups``; the rollup triggers
learn them and the rollups are rebuilt. Stored runs keep null values: they were never diagnosed.

Revision ID: 0033
Revises: 0031
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from clusterbook.store import rollup_schema

revision = "0033"
down_revision = "0031"
branch_labels = None
depends_on = None

FLOAT_MEASURES = ("noise_ratio", "cluster_size_entropy", "largest_cluster_share")
INTEGER_MEASURES = ("degenerate", "reassigned_points")


def upgrade() -> None:
    bind = op.get_bind()
    for name in FLOAT_MEASURES:
        op.add_column("executions", sa.Column(name, sa.Float))
    for name in INTEGER_MEASURES:
        op.add_column("executions", sa.Column(name, sa.Integer))
    present = {c["name"] for c in sa.inspect(bind).get_columns("execution_rollups")}
    for name in (*FLOAT_MEASURES, *INTEGER_MEASURES):
        kind: Any = sa.BigInteger if name in INTEGER_MEASURES else sa.Float
        for suffix, column_type in (("_n", sa.BigInteger), ("_sum", kind), ("_sq", kind)):
            if name + suffix not in present:  # 0015 creates the rollup table from the current declaration
                op.add_column(
                    "execution_rollups", sa.Column(name + suffix, column_type, nullable=False, server_default="0")
                )
    rollup_schema.install(bind)
    rollup_schema.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for event in ("insert", "delete", "update"):  # they name the columns about to go
        if bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS executions_rollup_{event}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS executions_rollup_{event} ON executions")
    for name in (*INTEGER_MEASURES, *FLOAT_MEASURES):
        op.drop_column("executions", name)
    # The triggers again: a measure without its executions column counts as null (rollup_schema's
    # missing_measures); its rollup sums stay, unused, as 0031 leaves its own.
    rollup_schema.install(bind)
