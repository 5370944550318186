"""Runs in relation: each run's baseline and the measures that relate it to other runs.

``baseline_run_id`` names the completed run a run is compared with when it completes. The new
declared measures (``models/measures.py``) get one nullable column each: agreement with the
baseline (``agreement_ari``, ``agreement_ami``, ``matched_fraction``, ``moved_documents``) and
bootstrap ``stability``. Stored runs keep null values: they were never compared.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import IdentifierType

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FLOAT_MEASURES = ("agreement_ari", "agreement_ami", "matched_fraction", "stability")
INTEGER_MEASURES = ("moved_documents",)


def upgrade() -> None:
    op.add_column("executions", sa.Column("baseline_run_id", IdentifierType))
    for name in FLOAT_MEASURES:
        op.add_column("executions", sa.Column(name, sa.Float))
    for name in INTEGER_MEASURES:
        op.add_column("executions", sa.Column(name, sa.Integer))


def downgrade() -> None:
    for name in (*INTEGER_MEASURES, *FLOAT_MEASURES, "baseline_run_id"):
        op.drop_column("executions", name)  # SQLite 3.35+ drops a column in place
