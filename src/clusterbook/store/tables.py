"""SQLAlchemy tables. The schema itself is created by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from clusterbook.store.types import IdentifierType, JSONType, UTCDateTime

metadata = MetaData()

PrimaryKey = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids on PostgreSQL; SQLite's INTEGER PRIMARY KEY is the rowid the FTS index points at."""

namespaces = Table(
    "namespaces",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("namespace_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_name", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

clusters = Table(
    "clusters",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("cluster_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, ForeignKey("namespaces.namespace_id", ondelete="CASCADE"), nullable=False),
    Column("cluster_name", String(128), nullable=False),
    Column("cluster_type", String(16), nullable=False),
    Column("collection_ids", JSONType, nullable=False),
    Column("vector_config", JSONType),
    Column("attribute_config", JSONType),
    Column("filters", JSONType),
    Column("llm_labeling", JSONType),
    Column("description", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("namespace_id", "cluster_name", name="uq_clusters_namespace_name"),
)

executions = Table(
    "executions",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("run_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, nullable=False),
    Column("cluster_id", IdentifierType, ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("run_name", String(200)),
    Column("algorithm", String(64)),
    Column("num_clusters", Integer, nullable=False),
    Column("num_points", Integer, nullable=False),
    Column("silhouette_score", Float),
    Column("davies_bouldin_index", Float),
    Column("calinski_harabasz_score", Float),
    Column("centroids", JSONType),
    Column("llm_labeling_errors", JSONType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("duration_ms", Float),
    Column("error_message", Text),
    Column("error_traceback", Text),
    Column("search_text", Text, nullable=False),
)

server_state = Table(
    "server_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Small server-wide values that must survive restarts, such as the cursor-signing key."""

executions_fts = Table(
    "executions_fts",
    MetaData(),
    Column("rowid", Integer, primary_key=True),
    Column("search_text", Text),
)
"""SQLite only: the FTS5 trigram index over ``executions.search_text`` (created by the migration;
kept out of ``metadata`` because it is a virtual table)."""
