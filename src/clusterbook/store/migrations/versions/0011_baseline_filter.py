"""The folded copy of ``executions.baseline_run_id``, so the history filters on a run's baseline.

Filters on text fields compare a folded copy (``store/folded.py``) unless asked to be case
sensitive; ``baseline_run_id`` (added by 0007) gets one like ``run_id``'s. Run ids are ASCII, so
the back-fill folds with ``lower``; nothing filled ``baseline_run_id`` before, so it is quick.

Revision ID: 0011
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("baseline_run_id_folded", sa.Text()))
    op.execute(
        "UPDATE executions SET baseline_run_id_folded = lower(baseline_run_id) WHERE baseline_run_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("executions", "baseline_run_id_folded")
