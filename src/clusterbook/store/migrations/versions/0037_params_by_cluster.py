"""``execution_params`` keyed by cluster, and an index per measure for exact percentiles.

**Params by cluster**: ``cluster_id`` on every row and indexes that lead with it.

``group_by config.*`` over a whole history probed ``execution_params`` once per run of the cluster
(driven from the executions index); past the read budget at 190k runs on SQLite. With the run's
cluster on each row, the grouping walks the index ``(cluster_id, name, num, text, execution_id)``
— one range per (cluster, field), already in group order — and a filter on ``config.*`` ranges over
the cluster's own rows instead of every cluster's (``store/groups.py``, ``store/compiler.py``).
The same index answers ``num`` filters (its prefix), so the number of indexes stays two.

Back-fill: one ``INSERT … SELECT`` joined on ``executions.id`` (SQLite rebuilds the WITHOUT ROWID
table, since a NOT NULL column cannot be added to it); PostgreSQL adds the column, fills it with
one ``UPDATE … FROM`` while no index is kept, then sets it NOT NULL. Writers fill it in the same
transaction as the row (``store/params.py``).

**Percentile indexes**: one partial index ``(cluster_id, m) WHERE m IS NOT NULL`` per measure with
percentiles (execution time's also ``AND status IN ('completed', 'failed')``), walked by
``ORDER BY m LIMIT 2 OFFSET k`` (``store/percentiles.py``). Partial, so a pending run's insert adds
nothing to them; a completion adds an entry per measure it has. The measures are listed here as
they are today (history stays explicit); a measure declared later adds its index in its own
migration (``tests/store/test_measure_columns.py`` checks every declared one has it).

Revision ID: 0037
Revises: 0033
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0033"
branch_labels = None
depends_on = None

OLD_INDEXES = {
    "ix_execution_params_num": ["name", "num", "execution_id"],
    "ix_execution_params_text": ["name", "text_folded", "execution_id"],
}
FINISHED = "status IN ('completed', 'failed')"
PERCENTILE_COLUMNS = {
    "duration_ms": f"duration_ms IS NOT NULL AND {FINISHED}",
    **{
        name: f"{name} IS NOT NULL"
        for name in (
            "silhouette_score",
            "davies_bouldin_index",
            "calinski_harabasz_score",
            "noise_points",
            "unassigned_ratio",
            "noise_ratio",
            "cluster_size_entropy",
            "largest_cluster_share",
            "degenerate",
            "reassigned_points",
            "agreement_ari",
            "agreement_ami",
            "matched_fraction",
            "moved_documents",
            "stability",
        )
    },
}
NEW_INDEXES = {
    "ix_execution_params_cluster_num": ["cluster_id", "name", "num", "text", "execution_id"],
    "ix_execution_params_cluster_text": ["cluster_id", "name", "text_folded", "execution_id"],
}


def upgrade() -> None:
    bind = op.get_bind()
    for name in OLD_INDEXES:
        op.drop_index(name, table_name="execution_params")
    if bind.dialect.name == "sqlite":
        op.create_table(
            "execution_params_new",
            sa.Column(
                "execution_id",
                sa.Integer(),
                sa.ForeignKey("executions.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("name", sa.String(128), primary_key=True),
            sa.Column("cluster_id", sa.String(40), nullable=False),
            sa.Column("num", sa.Float),
            sa.Column("text", sa.Text),
            sa.Column("text_folded", sa.Text),
            sqlite_with_rowid=False,
        )
        op.execute(
            "INSERT INTO execution_params_new (execution_id, name, cluster_id, num, text, text_folded) "
            "SELECT p.execution_id, p.name, e.cluster_id, p.num, p.text, p.text_folded "
            "FROM execution_params p JOIN executions e ON e.id = p.execution_id"
        )
        op.drop_table("execution_params")
        op.rename_table("execution_params_new", "execution_params")
    else:
        op.add_column("execution_params", sa.Column("cluster_id", sa.String(40, collation="C")))
        op.execute(
            "UPDATE execution_params p SET cluster_id = e.cluster_id FROM executions e WHERE e.id = p.execution_id"
        )
        op.alter_column("execution_params", "cluster_id", nullable=False)
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "execution_params", columns)
    for column, predicate in PERCENTILE_COLUMNS.items():
        op.create_index(
            f"ix_executions_pct_{column}",
            "executions",
            ["cluster_id", column],
            sqlite_where=sa.text(predicate),
            postgresql_where=sa.text(predicate),
        )
    _reanalyze()


def downgrade() -> None:
    for column in PERCENTILE_COLUMNS:
        op.drop_index(f"ix_executions_pct_{column}", table_name="executions")
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="execution_params")
    if op.get_bind().dialect.name == "sqlite":  # native since SQLite 3.35; keeps the table WITHOUT ROWID
        op.execute("ALTER TABLE execution_params DROP COLUMN cluster_id")
    else:
        op.drop_column("execution_params", "cluster_id")
    for name, columns in OLD_INDEXES.items():
        op.create_index(name, "execution_params", columns)
    _reanalyze()


def _reanalyze() -> None:
    """An analyzed SQLite history must learn the new indexes' statistics (as 0013 does)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    analyzed = bind.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
    if analyzed:
        bind.exec_driver_sql("PRAGMA analysis_limit = 1000")
        bind.exec_driver_sql("ANALYZE execution_params")
        bind.exec_driver_sql("ANALYZE executions")
