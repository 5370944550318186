"""Clusters (saved configurations): CRUD and the cluster list, always scoped to a namespace.

A cluster's ``collection_ids`` must name collections of its namespace (by id or name; the ids are
stored) and its ``filters`` must be a valid document pre-filter, so a bad configuration is refused
when it is saved rather than when it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clusterbook.errors import Conflict, ErrorLocation, ValidationFailed
from clusterbook.models.clusters import Cluster, ClusterCreate, ClusterUpdate, check_type_config
from clusterbook.models.filters import parse_filter_tree
from clusterbook.models.storable import is_storable_ref
from clusterbook.store.collections import resolve_collection_ids
from clusterbook.store.compiler import compile_filter
from clusterbook.store.fields import CLUSTER_FIELDS, DOCUMENT_FIELDS
from clusterbook.store.folded import with_folded
from clusterbook.store.ids import new_id
from clusterbook.store.listing import ListQuery, PageRequest, PageRows, compile_query, fetch_page
from clusterbook.store.tables import clusters, execution_rollups, executions

_c = clusters.c


def row_to_cluster(row: Row[Any]) -> Cluster:
    values = dict(row._mapping)
    verdict = values.pop("recluster", None) or {}
    return Cluster.model_validate(
        {
            **values,
            "should_recluster": bool(verdict.get("should_recluster")),
            "recluster_reason": verdict.get("reason"),
            "recluster_run_id": verdict.get("run_id"),
        }
    )


def record_recluster(session: Session, *, cluster_id: str, verdict: dict[str, Any] | None) -> None:
    """The cluster's standing verdict: an assign run's (``should_recluster``, ``reason``, ``run_id``),
    or None once a full run completed. Written in the run's completion transaction."""
    session.execute(update(clusters).where(_c.cluster_id == cluster_id).values(recluster=verdict))


def _name_taken(name: str) -> Conflict:
    return Conflict(f"a cluster named {name!r} already exists in this namespace; choose another cluster_name")


def _check_filters(session: Session, filters: dict[str, Any] | None) -> None:
    """The pre-filter must compile against the document fields (raises InvalidFilter naming the node)."""
    compile_filter(parse_filter_tree(filters), DOCUMENT_FIELDS, session.get_bind().dialect.name)


def create_cluster(session: Session, *, namespace_id: str, data: ClusterCreate) -> Cluster:
    now = datetime.now(UTC)
    _check_filters(session, data.filters)
    values = {
        **data.model_dump(mode="json"),
        "collection_ids": resolve_collection_ids(session, namespace_id=namespace_id, refs=data.collection_ids),
        "cluster_id": new_id("clust"),
        "namespace_id": namespace_id,
        "created_at": now,
        "updated_at": now,
    }
    try:
        with session.begin_nested():
            session.execute(insert(clusters).values(**with_folded(clusters, values)))
    except IntegrityError as exc:
        raise _name_taken(data.cluster_name) from exc
    return read_cluster(session, namespace_id=namespace_id, cluster_ref=values["cluster_id"])  # type: ignore[return-value]


def read_cluster(session: Session, *, namespace_id: str, cluster_ref: str) -> Cluster | None:
    """A cluster of this namespace by id or by name; ``None`` when absent (or in another namespace)."""
    if not is_storable_ref(cluster_ref):
        return None
    row = session.execute(
        select(clusters).where(
            _c.namespace_id == namespace_id, or_(_c.cluster_id == cluster_ref, _c.cluster_name == cluster_ref)
        )
    ).first()
    return row_to_cluster(row) if row else None


def update_cluster(session: Session, *, namespace_id: str, cluster_id: str, data: ClusterUpdate) -> Cluster:
    """Apply the fields present in ``data``; the result must still be a consistent cluster."""
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if changes.get("filters") is not None:
        _check_filters(session, changes["filters"])
    if changes.get("collection_ids") is not None:
        changes["collection_ids"] = resolve_collection_ids(
            session, namespace_id=namespace_id, refs=changes["collection_ids"]
        )
    current = read_cluster(session, namespace_id=namespace_id, cluster_ref=cluster_id)
    if current is not None:
        merged = current.model_copy(update=changes)
        try:
            check_type_config(merged.cluster_type, merged.attribute_config)
        except ValueError as exc:
            raise ValidationFailed(str(exc), errors=[ErrorLocation("attribute_config", str(exc))]) from exc
    values = {k: (v.model_dump(mode="json") if hasattr(v, "model_dump") else v) for k, v in changes.items()}
    values["updated_at"] = datetime.now(UTC)
    try:
        with session.begin_nested():
            session.execute(update(clusters).where(_c.cluster_id == cluster_id).values(**with_folded(clusters, values)))
    except IntegrityError as exc:
        raise _name_taken(str(values.get("cluster_name"))) from exc
    return read_cluster(session, namespace_id=namespace_id, cluster_ref=cluster_id)  # type: ignore[return-value]


def delete_cluster(session: Session, *, cluster_id: str) -> None:
    """Delete a cluster and its whole execution history in one transaction."""
    session.execute(delete(executions).where(executions.c.cluster_id == cluster_id))
    session.execute(delete(clusters).where(_c.cluster_id == cluster_id))
    # the delete trigger brought its rollups to zero; the rows themselves go too
    session.execute(delete(execution_rollups).where(execution_rollups.c.cluster_id == cluster_id))


def list_clusters(
    session: Session, *, namespace_id: str, query: ListQuery, page: PageRequest
) -> tuple[list[Cluster], PageRows]:
    compiled = compile_query(session, CLUSTER_FIELDS, _c.namespace_id == namespace_id, query)
    fetched = fetch_page(session, CLUSTER_FIELDS, compiled, page)
    return [row_to_cluster(row) for row in fetched.rows], fetched
