"""Collections and documents, the run queue's lease columns, per-run config, members and projections.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clusterbook.store.types import DocumentIdType, IdentifierType, JSONType, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LIVE_STATUSES = "status IN ('pending', 'processing')"


def upgrade() -> None:
    op.create_table(
        "collections",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("collection_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "namespace_id",
            IdentifierType,
            sa.ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("collection_name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("vector_dimension", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("namespace_id", "collection_name", name="uq_collections_namespace_name"),
    )
    op.create_index("ix_collections_namespace_created", "collections", ["namespace_id", "created_at", "collection_id"])
    op.create_table(
        "documents",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column(
            "collection_id",
            IdentifierType,
            sa.ForeignKey("collections.collection_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("document_id", DocumentIdType, nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("metadata", JSONType),
        sa.Column("vector", sa.LargeBinary),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("collection_id", "document_id", name="uq_documents_collection_document"),
    )
    op.create_index("ix_documents_collection_created", "documents", ["collection_id", "created_at", "document_id"])

    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("attempt_token", sa.String(40)))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime))
        batch.add_column(sa.Column("worker_id", sa.String(200)))
        batch.add_column(sa.Column("noise_points", sa.Integer))
        batch.add_column(sa.Column("config", JSONType))
        batch.add_column(sa.Column("details", JSONType))
    # The queue: only live runs are indexed, so claiming and reaping stay cheap beside a huge history.
    op.create_index(
        "ix_executions_live",
        "executions",
        ["status", "created_at", "run_id"],
        sqlite_where=sa.text(LIVE_STATUSES),
        postgresql_where=sa.text(LIVE_STATUSES),
    )
    op.create_table(
        "execution_members",
        sa.Column("run_id", IdentifierType, sa.ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("document_id", DocumentIdType, primary_key=True),
        sa.Column("cluster_id", sa.String(16)),
        sa.Column("distance", sa.Float),
    )
    op.create_index(
        "ix_execution_members_cluster", "execution_members", ["run_id", "cluster_id", "distance", "document_id"]
    )
    op.create_index("ix_execution_members_distance", "execution_members", ["run_id", "distance", "document_id"])
    op.create_table(
        "execution_projections",
        sa.Column("run_id", IdentifierType, sa.ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("projection", JSONType, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("execution_projections")
    op.drop_table("execution_members")
    op.drop_index("ix_executions_live", "executions")
    with op.batch_alter_table("executions") as batch:
        for column in (
            "details",
            "config",
            "noise_points",
            "worker_id",
            "lease_expires_at",
            "attempt_token",
            "attempts",
        ):
            batch.drop_column(column)
    op.drop_table("documents")
    op.drop_table("collections")
