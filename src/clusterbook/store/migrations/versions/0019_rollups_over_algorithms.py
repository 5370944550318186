"""Rollup grains summed over algorithms (``hs``, ``ds``): the triggers learn them and the rollups are
rebuilt, so a trend without an algorithm filter reads one row per bucket and status
(see ``store/rollup_schema.py``).

Revision ID: 0019
Revises: 0017
"""

from __future__ import annotations

from alembic import op

from clusterbook.store import rollup_schema

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    rollup_schema.install(bind)
    rollup_schema.rebuild(bind)


def downgrade() -> None:
    op.execute("DELETE FROM execution_rollups WHERE grain IN ('hs', 'ds')")
    # The triggers stay: the rows they keep in these grains are ones no reader of 0015 selects.
