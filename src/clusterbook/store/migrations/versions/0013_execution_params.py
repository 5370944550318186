"""``execution_params``: each run's ``config.*`` leaves in an indexed side table.

Filters, sorts of groups on ``config.params.<name>`` (and ``config.embedder`` …) read this table
instead of every run's config document (``store/params.py``). The back-fill reads stored configs in
id batches and writes their rows with ``models.config_fields.config_values``, the one declaration of
which leaves are indexed. Keyed by the integer ``executions.id`` (SQLite: a WITHOUT ROWID table
clustered by ``(execution_id, name)``); the two indexes hold the id, so a filter is answered from
the index and the runs are then found by rowid.

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from clusterbook.models.config_fields import config_values

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 20_000


def upgrade() -> None:
    op.create_table(
        "execution_params",
        sa.Column(
            "execution_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("executions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("num", sa.Float),
        sa.Column("text", sa.Text),
        sa.Column("text_folded", sa.Text),
        sqlite_with_rowid=False,
    )
    _backfill()
    op.create_index("ix_execution_params_num", "execution_params", ["name", "num", "execution_id"])
    op.create_index("ix_execution_params_text", "execution_params", ["name", "text_folded", "execution_id"])
    # group_by status / algorithm over a whole history (store/groups.py): every column the grouped
    # stats read, so they are aggregated from this index alone, never from the table rows.
    op.create_index(
        "ix_executions_cluster_groups",
        "executions",
        ["cluster_id", "algorithm", "status", "duration_ms", "num_points", "num_clusters"],
    )
    _reanalyze()


def _reanalyze() -> None:
    """An analyzed SQLite history must learn about the new indexes (as 0003 does for the trends index):
    without statistics an index looks cheap to SQLite and could take over other queries."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    analyzed = bind.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
    if analyzed:
        bind.exec_driver_sql("PRAGMA analysis_limit = 1000")
        bind.exec_driver_sql("ANALYZE")


def _backfill() -> None:
    bind = op.get_bind()
    table = sa.table(
        "execution_params",
        sa.column("execution_id"),
        sa.column("name"),
        sa.column("num"),
        sa.column("text"),
        sa.column("text_folded"),
    )
    last = -1
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, config FROM executions WHERE id > :last AND config IS NOT NULL ORDER BY id LIMIT :n"
            ),  # fmt: skip
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        values: list[dict[str, Any]] = []
        for execution_id, config in rows:
            parsed = json.loads(config) if isinstance(config, str) else config
            for name, num, text, folded in config_values(parsed):
                values.append(
                    {"execution_id": execution_id, "name": name, "num": num, "text": text, "text_folded": folded}
                )
        if values:
            bind.execute(sa.insert(table), values)


def downgrade() -> None:
    op.drop_index("ix_executions_cluster_groups", table_name="executions")
    op.drop_table("execution_params")
