"""Small factories for tests: make_cluster / make_collection / make_execution with overridable fields."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster, ClusterCreate
from clusterbook.models.collections import Collection, CollectionCreate, DocumentIn, DocumentsUpsertResult
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.store.clusters import create_cluster
from clusterbook.store.collections import create_collection
from clusterbook.store.documents import upsert_documents
from clusterbook.store.executions import create_execution, execution_values, insert_executions
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import executions

BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def make_collection(factory: sessionmaker[Session], namespace: str = "default", **overrides: Any) -> Collection:
    data = {"collection_name": f"collection-{random.randrange(10**9)}", **overrides}
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name=namespace)
        return create_collection(session, namespace_id=ns.namespace_id, data=CollectionCreate(**data))


def make_documents(
    factory: sessionmaker[Session], collection: Collection, documents: list[dict[str, Any]]
) -> DocumentsUpsertResult:
    """Upsert documents given as wire dicts ({document_id, text, metadata, vector})."""
    with factory() as session, session.begin():
        return upsert_documents(session, collection=collection, docs=[DocumentIn(**doc) for doc in documents])


def make_cluster(factory: sessionmaker[Session], namespace: str = "default", **overrides: Any) -> Cluster:
    """A cluster over a fresh (empty) collection of its own, unless ``collection_ids`` is given."""
    data = {"cluster_name": f"cluster-{random.randrange(10**9)}", **overrides}
    if "collection_ids" not in data:
        data["collection_ids"] = [make_collection(factory, namespace).collection_id]
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name=namespace)
        return create_cluster(session, namespace_id=ns.namespace_id, data=ClusterCreate(**data))


def make_execution(factory: sessionmaker[Session], cluster: Cluster, **fields: Any) -> ClusterExecutionResult:
    with factory() as session, session.begin():
        return create_execution(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, **fields)


def completed_fields(i: int, **overrides: Any) -> dict[str, Any]:
    """A completed run created ``i`` minutes after BASE_TIME, with metrics and two centroids."""
    created = BASE_TIME + timedelta(minutes=i)
    return {
        "status": "completed",
        "created_at": created,
        "started_at": created,  # no queue time: the execution time is all of created..completed
        "completed_at": created + timedelta(seconds=2 + i % 7),
        "num_clusters": 2 + i % 5,
        "num_points": 100 + 10 * i,
        "metrics": {
            "silhouette_score": round(0.1 + (i % 9) / 10, 2),
            "davies_bouldin_index": 1.0 + i % 3,
            "calinski_harabasz_score": 100.0 + i,
        },  # fmt: skip
        "centroids": [
            {
                "cluster_id": "cl_0",
                "num_members": 60 + i,
                "label": "Billing",
                "summary": "Invoices and refunds",
                "keywords": ["invoice", "refund"],
            },  # fmt: skip
            {
                "cluster_id": "cl_1",
                "num_members": 40,
                "label": "Login",
                "summary": "Password resets",
                "keywords": ["password", "2fa"],
            },  # fmt: skip
        ],
        "algorithm": "kmeans",
        **overrides,
    }


def make_history(factory: sessionmaker[Session], cluster: Cluster, count: int, **overrides: Any) -> list[str]:
    """``count`` completed runs, one minute apart; returns their run ids oldest first."""
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, **completed_fields(i, **overrides)
        )
        for i in range(count)
    ]
    with factory() as session, session.begin():
        insert_executions(session, rows)
    return [row["run_id"] for row in rows]


def make_runs(factory: sessionmaker[Session], cluster: Cluster, specs: list[dict[str, Any]]) -> list[str]:
    """Insert executions with exactly the given fields (bulk); returns their run ids in order."""
    rows = [
        execution_values(namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, **dict(spec))
        for spec in specs
    ]
    with factory() as session, session.begin():
        insert_executions(session, rows)
    return [row["run_id"] for row in rows]


def count_runs(factory: sessionmaker[Session], cluster_id: str) -> int:
    """How many executions the database holds for ``cluster_id`` (checks deletes behind the API's back)."""
    with factory() as session:
        return int(
            session.execute(
                select(func.count()).select_from(executions).where(executions.c.cluster_id == cluster_id)
            ).scalar_one()
        )
