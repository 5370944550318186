"""``execution_members`` without its foreign key: the cascade becomes a trigger on ``executions``.

Why: PostgreSQL checks a foreign key row by row (a lookup and a KEY SHARE lock on ``executions`` per
membership): about a fifth of persisting a run's 100k memberships. ``store.queue.insert_members``
now checks the run once per batch instead (and takes the same lock once), and deleting a run still
deletes its memberships, through an ``AFTER DELETE`` trigger on ``executions`` (PostgreSQL: one
statement trigger over the deleted rows; SQLite: a row trigger). A foreign-key cascade from a
cluster or a namespace deletes runs, which fires it too. SQLite cannot drop a constraint, so its
table is rebuilt (rows copied, the two listing indexes recreated).

Revision ID: 0017
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import DocumentIdType, IdentifierType

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

TRIGGER = "executions_members_cascade"
PG_FK = "execution_members_run_id_fkey"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(foreign_key=False)
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON executions BEGIN "
            "DELETE FROM execution_members WHERE run_id = old.run_id; END"
        )
        return
    op.execute(f"ALTER TABLE execution_members DROP CONSTRAINT IF EXISTS {PG_FK}")
    op.execute(
        f"CREATE OR REPLACE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN "
        "DELETE FROM execution_members m USING old_runs o WHERE m.run_id = o.run_id; RETURN NULL; END $fn$"
    )
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON executions REFERENCING OLD TABLE AS old_runs "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
        _rebuild_sqlite(foreign_key=True)
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON executions")
    op.execute(f"DROP FUNCTION IF EXISTS {TRIGGER}()")
    op.execute(
        "DELETE FROM execution_members m WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.run_id = m.run_id)"
    )
    op.execute(
        f"ALTER TABLE execution_members ADD CONSTRAINT {PG_FK} FOREIGN KEY (run_id) "
        "REFERENCES executions (run_id) ON DELETE CASCADE"
    )


def _rebuild_sqlite(*, foreign_key: bool) -> None:
    run_id = sa.Column(
        "run_id",
        IdentifierType,
        *([sa.ForeignKey("executions.run_id", ondelete="CASCADE")] if foreign_key else []),
        primary_key=True,
    )
    op.create_table(
        "execution_members_new",
        run_id,
        sa.Column("document_id", DocumentIdType, primary_key=True),
        sa.Column("cluster_id", sa.String(16)),
        sa.Column("distance", sa.Float),
    )
    keep = "" if not foreign_key else " WHERE run_id IN (SELECT run_id FROM executions)"
    op.execute(
        "INSERT INTO execution_members_new (run_id, document_id, cluster_id, distance) "
        f"SELECT run_id, document_id, cluster_id, distance FROM execution_members{keep} ORDER BY run_id, document_id"
    )
    op.drop_table("execution_members")
    op.rename_table("execution_members_new", "execution_members")
    op.create_index(
        "ix_execution_members_cluster", "execution_members", ["run_id", "cluster_id", "distance", "document_id"]
    )
    op.create_index("ix_execution_members_distance", "execution_members", ["run_id", "distance", "document_id"])
