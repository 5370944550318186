"""SQLAlchemy tables. The schema itself is created by the Alembic migrations in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from clusterbook.models.measures import MEASURES
from clusterbook.store.rollup_columns import rollup_columns
from clusterbook.store.types import DocumentIdType, IdentifierType, JSONType, UTCDateTime

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
    # the verdict of the latest assign run ({"should_recluster", "reason", "run_id"}), cleared by a full run
    Column("recluster", JSONType),
    Column("cluster_id_folded", Text, info={"folds": "cluster_id"}),
    Column("cluster_name_folded", Text, info={"folds": "cluster_name"}),
    Column("description_folded", Text, info={"folds": "description"}),
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
    Column("centroids", JSONType),
    Column("llm_labeling_errors", JSONType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Column("error_message", Text),
    Column("error_traceback", Text),
    Column("search_text", Text, nullable=False),
    # the run queue (see runner/): attempt count, the token of the attempt holding the lease, its expiry
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("attempt_token", String(40)),
    Column("lease_expires_at", UTCDateTime),
    Column("worker_id", String(200)),
    # the completed run this one is compared with when it completes (issue "runs in relation")
    Column("baseline_run_id", IdentifierType),
    # the configuration the run was submitted with, replaced by the effective one when it ends
    Column("config", JSONType),
    # run details beside the metrics: timings per phase and why a metric is null
    Column("details", JSONType),
    # folded copies (clusterbook.folding) that case-insensitive conditions compare; see store/folded.py
    Column("run_id_folded", Text, info={"folds": "run_id"}),
    Column("run_name_folded", Text, info={"folds": "run_name"}),
    Column("algorithm_folded", Text, info={"folds": "algorithm"}),
    Column("error_message_folded", Text, info={"folds": "error_message"}),
    Column("baseline_run_id_folded", Text, info={"folds": "baseline_run_id"}),
    # what started the run: 'api', 'schedule:<id>' or 'monitor:<id>' (migration 0021; models/triggers.py)
    Column("trigger", String(80), nullable=False, server_default="api"),
    Column("trigger_folded", Text, nullable=False, server_default="api", info={"folds": "trigger"}),
    # one nullable column per declared measure (models/measures.py); each is added by a migration
    *(Column(m.column, Float if m.kind == "number" else Integer) for m in MEASURES),
)

collections = Table(
    "collections",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("collection_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, ForeignKey("namespaces.namespace_id", ondelete="CASCADE"), nullable=False),
    Column("collection_name", String(128), nullable=False),
    Column("description", Text),
    Column("vector_dimension", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("collection_id_folded", Text, info={"folds": "collection_id"}),
    Column("collection_name_folded", Text, info={"folds": "collection_name"}),
    Column("description_folded", Text, info={"folds": "description"}),
    UniqueConstraint("namespace_id", "collection_name", name="uq_collections_namespace_name"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column(
        "collection_id", IdentifierType, ForeignKey("collections.collection_id", ondelete="CASCADE"), nullable=False
    ),
    Column("document_id", DocumentIdType, nullable=False),
    Column("text", Text),
    Column("metadata", JSONType),
    Column("vector", LargeBinary),  # float32 bytes (little-endian), never JSON
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("document_id_folded", Text, info={"folds": "document_id"}),
    Column("text_folded", Text, info={"folds": "text"}),
    Column("metadata_folded", JSONType, info={"folds": "metadata"}),
    UniqueConstraint("collection_id", "document_id", name="uq_documents_collection_document"),
)

execution_members = Table(
    "execution_members",
    metadata,
    # No foreign key (migration 0017): a per-row check cost a fifth of persisting a run's memberships.
    # ``queue.insert_members`` checks the run once per batch; a trigger on executions cascades deletes.
    Column("run_id", IdentifierType, primary_key=True),
    Column("document_id", DocumentIdType, primary_key=True),
    Column("cluster_id", String(16)),  # 'cl_<n>' of the run, NULL for noise
    Column("distance", Float),
)

execution_params = Table(
    "execution_params",
    metadata,
    Column("execution_id", PrimaryKey, ForeignKey("executions.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128), primary_key=True),  # 'algorithm', 'random_state', 'params.n_clusters' …
    Column("cluster_id", IdentifierType, nullable=False),  # the run's: indexes lead with it (migration 0037)
    Column("num", Float),  # a number; NULL for text and booleans
    Column("text", Text),  # a string, or 'true'/'false' for a boolean
    Column("text_folded", Text, info={"folds": "text"}),
    sqlite_with_rowid=False,  # clustered by (execution_id, name): a replace is one range delete
)
"""The ``config.*`` leaves of each run's configuration (``models/config_fields.py``), one row each,
so a filter on ``config.params.n_clusters`` probes an index instead of every config document.
Written in the same transaction as ``executions.config`` (``store/params.py``)."""

execution_projections = Table(
    "execution_projections",
    metadata,
    Column("run_id", IdentifierType, ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
    Column("projection", JSONType, nullable=False),
)

execution_centres = Table(
    "execution_centres",
    metadata,
    Column("run_id", IdentifierType, ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
    Column("cluster_id", String(16), primary_key=True),  # 'cl_<n>' of the run
    Column("position", Integer, nullable=False),  # n of 'cl_<n>': the centres' order
    Column("vector", LargeBinary, nullable=False),  # float32 bytes (little-endian), never JSON
)
"""Each completed run's cluster centres (means in the clustered space), written with the completion;
assign runs place documents against them (``runner/assign.py``)."""

execution_hierarchies = Table(
    "execution_hierarchies",
    metadata,
    Column("run_id", IdentifierType, ForeignKey("executions.run_id", ondelete="CASCADE"), primary_key=True),
    Column("hierarchy", JSONType, nullable=False),
)
"""The tree over a run's clusters (``vector_config.hierarchy`` or hierarchical attribute grouping)."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("key_id", IdentifierType, nullable=False, unique=True),  # public: listing and revoking
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the whole key
    Column("name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)
"""API keys, stored as the SHA-256 of the key (see ``store/keys.py``); the key itself is never kept."""

api_key_namespaces = Table(
    "api_key_namespaces",
    metadata,
    Column("key_id", IdentifierType, ForeignKey("api_keys.key_id", ondelete="CASCADE"), primary_key=True),
    Column(
        "namespace_id",
        IdentifierType,
        ForeignKey("namespaces.namespace_id", ondelete="CASCADE"),
        primary_key=True,
    ),
)
"""The namespaces a key may act in."""

server_state = Table(
    "server_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Small server-wide values that must survive restarts, such as the cursor-signing key."""

schedules = Table(
    "schedules",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("schedule_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, nullable=False),
    Column("cluster_id", IdentifierType, ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200)),
    Column("kind", String(16), nullable=False),  # 'cron', 'interval', 'new_documents'
    Column("cron", String(200)),
    Column("timezone", String(64)),
    Column("interval_seconds", Integer),
    Column("new_documents", Integer),
    Column("execute", JSONType),  # the ExecuteRequest body each run is submitted with
    Column("paused", Boolean, nullable=False, server_default="0"),
    Column("next_fire_at", UTCDateTime, nullable=False),  # claimed by a conditional UPDATE (store/schedules.py)
    Column("last_fired_at", UTCDateTime),
    Column("last_run_id", IdentifierType),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""A cluster's triggers (migration 0021): the worker's scheduler (``runner/scheduler.py``) starts a
run when one is due; ``next_fire_at`` is the instant it is due next (for ``new_documents``, the next check)."""

schedule_firings = Table(
    "schedule_firings",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("schedule_id", IdentifierType, ForeignKey("schedules.schedule_id", ondelete="CASCADE"), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),  # the slot this firing served
    Column("fired_at", UTCDateTime, nullable=False),
    Column("run_id", IdentifierType),  # the run it started; NULL when it skipped
    Column("skipped", String(32)),  # why no run: 'paused', 'in_flight', 'no_new_documents', 'refused'
    Column("detail", Text),
    Column("repeats", Integer, nullable=False, server_default="1"),  # the same skip in a row, counted once
)
"""Each firing of a schedule, the newest ``MAX_FIRINGS_KEPT`` per schedule (``store/schedules.py``)."""

execution_rollups = Table(
    "execution_rollups",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("cluster_id", IdentifierType, nullable=False),
    Column(
        "grain", String(4), nullable=False
    ),  # 'hour', 'day', 'all'; 'hs', 'ds': summed over algorithms (rollup_schema.py)
    Column("bucket_start", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("algorithm_key", String(80), nullable=False),  # '-' for no algorithm, '=' + algorithm otherwise
    Column("algorithm", String(64)),
    Column("algorithm_folded", Text),
    *rollup_columns(),
    UniqueConstraint("cluster_id", "grain", "bucket_start", "status", "algorithm_key", name="uq_execution_rollups_key"),
)
"""Per-cluster sums of the runs by (grain, bucket, status, algorithm), kept by database triggers in the
transaction of every write to ``executions`` (see ``store/rollup_schema.py``); no foreign key, so a
cascade deleting a cluster's runs can still decrement them."""

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("webhook_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, ForeignKey("namespaces.namespace_id", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", JSONType, nullable=False),  # a list of event names (models/webhooks.py, WEBHOOK_EVENTS)
    Column("description", Text),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("secret", String(100), nullable=False),  # kept to sign deliveries; returned once, at creation
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
"""Webhook endpoints of a namespace (migration 0023, ``store/webhooks.py``)."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("delivery_id", IdentifierType, nullable=False, unique=True),
    Column("webhook_id", IdentifierType, ForeignKey("webhooks.webhook_id", ondelete="CASCADE"), nullable=False),
    Column("namespace_id", IdentifierType, nullable=False),
    Column("event_id", IdentifierType, nullable=False),  # the same for every endpoint sent one event
    Column("event", String(40), nullable=False),
    Column("payload", JSONType, nullable=False),  # the body sent: {id, type, created_at, namespace_id, data}
    Column("status", String(16), nullable=False),  # pending | delivering | delivered | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim_token", String(40)),
    Column("lease_expires_at", UTCDateTime),
    Column("last_error", Text),
    Column("response_code", Integer),
    Column("response_ms", Float),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_attempt_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
)
"""The webhook outbox and delivery log (``store/deliveries.py``): written in the event's own
transaction, claimed and sent by the workers' delivery loop (``runner/webhooks.py``)."""
monitors = Table(
    "monitors",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("monitor_id", IdentifierType, nullable=False, unique=True),
    Column("namespace_id", IdentifierType, ForeignKey("namespaces.namespace_id", ondelete="CASCADE"), nullable=False),
    Column("cluster_id", IdentifierType, ForeignKey("clusters.cluster_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("kind", String(32), nullable=False),  # 'failure_rate', 'metric', 'no_completed_run'
    Column("rule", JSONType, nullable=False),  # the kind's parameters, as models/monitors.py validated them
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("state", String(16), nullable=False, server_default="ok"),  # 'ok' | 'alerting'
    Column("state_since", UTCDateTime, nullable=False),
    Column("evaluated_at", UTCDateTime),
    Column("last_values", JSONType),  # what the last evaluation saw
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("cluster_id", "name", name="uq_monitors_cluster_name"),
)
"""Saved rules over a cluster's history (``store/monitors.py``), each with its ok/alerting state."""

monitor_alerts = Table(
    "monitor_alerts",
    metadata,
    Column("id", PrimaryKey, primary_key=True, autoincrement=True),
    Column("alert_id", IdentifierType, nullable=False, unique=True),
    Column("monitor_id", IdentifierType, ForeignKey("monitors.monitor_id", ondelete="CASCADE"), nullable=False),
    Column("cluster_id", IdentifierType, nullable=False),
    Column("event", String(16), nullable=False),  # 'triggered' | 'recovered'
    Column("at", UTCDateTime, nullable=False),
    Column("observed", JSONType, nullable=False),  # the values that decided the transition
    Column("message", Text, nullable=False),
    Column("run_id", IdentifierType),  # the latest run the evaluation considered, if any
)
"""Each transition of a monitor: into the bad state (``triggered``) or back out (``recovered``)."""

executions_fts = Table(
    "executions_fts",
    MetaData(),
    Column("rowid", Integer, primary_key=True),
    Column("search_text", Text),
)
"""SQLite only: the FTS5 trigram index over ``executions.search_text`` (created by the migration;
kept out of ``metadata`` because it is a virtual table)."""
