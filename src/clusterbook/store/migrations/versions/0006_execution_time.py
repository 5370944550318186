"""Execution time vs queue time: ``duration_ms`` becomes ``completed_at - started_at`` (it counted the
queue before) and the new ``queue_ms`` holds ``started_at - created_at``. Stored rows are rewritten
in batches of ids, so a large history never holds one huge transaction's worth of row versions
(PostgreSQL) or one huge journal (SQLite). A run canceled before it started gets a null duration.

The covering indexes that hold ``duration_ms`` (``ix_executions_cluster_stats``,
``ix_executions_cluster_trends``, ``ix_executions_cluster_duration_ms``) keep the same column and
stay valid; the database updates them with the rows.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BATCH = 20_000
"""Rows (ids) per UPDATE statement; ``config.attributes["migration_batch_rows"]`` overrides it (tests)."""


def _ms(dialect: str, start: str, end: str) -> str:
    """SQL for the milliseconds from column ``start`` to column ``end`` (NULL when either is NULL)."""
    if dialect == "sqlite":  # timestamps are ISO text in UTC; julianday parses them (fractions included)
        return f"(julianday({end}) - julianday({start})) * 86400000.0"
    return f"EXTRACT(EPOCH FROM ({end} - {start})) * 1000.0"


def _rewrite(duration_start: str, with_queue: bool) -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    assignments = [f"duration_ms = {_ms(dialect, duration_start, 'completed_at')}"]
    if with_queue:
        assignments.append(f"queue_ms = {_ms(dialect, 'created_at', 'started_at')}")
    statement = sa.text(f"UPDATE executions SET {', '.join(assignments)} WHERE id >= :low AND id < :high")
    batch = int(context.config.attributes.get("migration_batch_rows", BATCH))
    low, high = bind.execute(sa.text("SELECT min(id), max(id) FROM executions")).one()
    if low is None:
        return
    for start in range(int(low), int(high) + 1, batch):
        bind.execute(statement, {"low": start, "high": start + batch})


def upgrade() -> None:
    op.add_column("executions", sa.Column("queue_ms", sa.Float))
    _rewrite("started_at", with_queue=True)


def downgrade() -> None:
    _rewrite("created_at", with_queue=False)
    op.drop_column("executions", "queue_ms")  # SQLite 3.35+ drops a column in place
