"""Initial schema: namespaces, clusters, executions (with sort and search indexes), server state.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from clusterbook.store import fulltext
from clusterbook.store.types import IdentifierType, JSONType, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NULLABLE_SORTS = ("silhouette_score", "duration_ms", "completed_at")
"""Sorts the history UI uses most, beyond created_at; each gets an index serving 'desc, nulls last'."""


def upgrade() -> None:
    namespaces = op.create_table(
        "namespaces",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("namespace_id", IdentifierType, nullable=False, unique=True),
        sa.Column("namespace_name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "clusters",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("cluster_id", IdentifierType, nullable=False, unique=True),
        sa.Column(
            "namespace_id",
            IdentifierType,
            sa.ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("cluster_name", sa.String(128), nullable=False),
        sa.Column("cluster_type", sa.String(16), nullable=False),
        sa.Column("collection_ids", JSONType, nullable=False),
        sa.Column("vector_config", JSONType),
        sa.Column("attribute_config", JSONType),
        sa.Column("filters", JSONType),
        sa.Column("llm_labeling", JSONType),
        sa.Column("description", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("namespace_id", "cluster_name", name="uq_clusters_namespace_name"),
    )
    op.create_index("ix_clusters_namespace_created", "clusters", ["namespace_id", "created_at", "cluster_id"])
    op.create_table(
        "executions",
        sa.Column("id", PK, primary_key=True, autoincrement=True),
        sa.Column("run_id", IdentifierType, nullable=False, unique=True),
        sa.Column("namespace_id", IdentifierType, nullable=False),
        sa.Column(
            "cluster_id", IdentifierType, sa.ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_name", sa.String(200)),
        sa.Column("algorithm", sa.String(64)),
        sa.Column("num_clusters", sa.Integer, nullable=False),
        sa.Column("num_points", sa.Integer, nullable=False),
        sa.Column("silhouette_score", sa.Float),
        sa.Column("davies_bouldin_index", sa.Float),
        sa.Column("calinski_harabasz_score", sa.Float),
        sa.Column("centroids", JSONType),
        sa.Column("llm_labeling_errors", JSONType),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("completed_at", UTCDateTime),
        sa.Column("duration_ms", sa.Float),
        sa.Column("error_message", sa.Text),
        sa.Column("error_traceback", sa.Text),
        sa.Column("search_text", sa.Text, nullable=False),
    )
    op.create_index("ix_executions_cluster_created", "executions", ["cluster_id", "created_at", "run_id"])
    op.create_index(
        "ix_executions_cluster_status_created", "executions", ["cluster_id", "status", "created_at", "run_id"]
    )
    # COUNT(*) of a history reads the narrowest index on cluster_id, and on SQLite a search probes
    # (cluster_id, rowid) here instead of fetching every matching row.
    op.create_index("ix_executions_cluster", "executions", ["cluster_id"])
    # stats_scope "all": every column the aggregate reads, so it never touches the table rows.
    op.create_index(
        "ix_executions_cluster_stats",
        "executions",
        ["cluster_id", "status", "num_points", "num_clusters", "duration_ms"],
    )
    op.create_table(
        "server_state",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_sort_and_search()
    else:
        _postgres_sort_and_search()
    op.bulk_insert(
        namespaces,
        [{"namespace_id": "ns_default", "namespace_name": "default", "created_at": datetime.now(UTC)}],
    )


def _sqlite_sort_and_search() -> None:
    # SQLite keeps NULLs smallest, so one DESC index serves DESC NULLS LAST and ASC NULLS LAST.
    for column in NULLABLE_SORTS:
        op.execute(
            f"CREATE INDEX ix_executions_cluster_{column} ON executions (cluster_id, {column} DESC, run_id DESC)"
        )
    # The history UI's usual metric view: completed runs, best silhouette first (page and count).
    op.execute(
        "CREATE INDEX ix_executions_cluster_status_silhouette "
        "ON executions (cluster_id, status, silhouette_score DESC, run_id DESC)"
    )
    # Substring search: an FTS5 trigram index over the denormalised, lowercased search text.
    for statement in fulltext.ALL_DDL:
        op.execute(statement)


def _postgres_sort_and_search() -> None:
    for column in NULLABLE_SORTS:
        op.execute(
            f"CREATE INDEX ix_executions_cluster_{column} "
            f"ON executions (cluster_id, {column} DESC NULLS LAST, run_id DESC)"
        )
    op.execute(
        "CREATE INDEX ix_executions_cluster_silhouette_score_asc ON executions (cluster_id, silhouette_score, run_id)"
    )
    op.execute(
        "CREATE INDEX ix_executions_cluster_status_silhouette "
        "ON executions (cluster_id, status, silhouette_score DESC NULLS LAST, run_id DESC)"
    )
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_executions_search ON executions USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS executions_fts")
    op.drop_table("server_state")
    op.drop_table("executions")
    op.drop_table("clusters")
    op.drop_table("namespaces")
