"""Request dependencies: the per-request transaction and the namespace the request acts in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from clusterbook.errors import InvalidRequest, NotFound
from clusterbook.models.clusters import Cluster, Namespace
from clusterbook.models.collections import Collection
from clusterbook.settings import Settings
from clusterbook.store.clusters import read_cluster
from clusterbook.store.collections import read_collection
from clusterbook.store.namespaces import DEFAULT_NAMESPACE, read_namespace

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])
NAMESPACE_HEADER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def writes_database(endpoint: Endpoint) -> Endpoint:
    """Mark a route that writes. On SQLite its transaction then takes the write lock as it begins
    (``BEGIN IMMEDIATE``), waiting its turn, instead of failing with "database is locked" when it
    turns from reading to writing while another request writes."""
    endpoint.writes_database = True  # type: ignore[attr-defined]
    return endpoint


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back entirely on any error.

    Used with ``scope="function"`` so the commit happens before the response is sent: a client
    that gets a 201 and asks again at once must see what it just wrote.
    """
    writes = getattr(request.scope.get("endpoint"), "writes_database", False)
    factory = request.app.state.write_sessionmaker if writes else request.app.state.sessionmaker
    with factory() as session, session.begin():
        yield session
    after_commit = getattr(request.state, "after_commit", None)
    if after_commit is not None:  # e.g. wake the workers once a submitted run is visible to them
        after_commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_namespace(
    session: SessionDep,
    x_namespace: Annotated[
        str | None, Header(description="Namespace name or id; 'default' when absent.", max_length=200)
    ] = None,
) -> Namespace:
    ref = DEFAULT_NAMESPACE if x_namespace is None else x_namespace.strip()
    if not NAMESPACE_HEADER_PATTERN.match(ref):
        raise InvalidRequest("X-Namespace must be a namespace name or id: 1-64 letters, digits, '-' or '_'")
    namespace = read_namespace(session, ref)
    if namespace is None:
        raise NotFound(f"namespace {ref!r} not found; create it with POST /v1/namespaces")
    return namespace


NamespaceDep = Annotated[Namespace, Depends(get_namespace)]


def cluster_not_found(ref: str) -> NotFound:
    return NotFound(f"cluster {ref!r} not found")


def get_cluster(cluster_id: str, session: SessionDep, namespace: NamespaceDep) -> Cluster:
    """The path's cluster (by id or name) in the request's namespace; 404 as if absent otherwise."""
    cluster = read_cluster(session, namespace_id=namespace.namespace_id, cluster_ref=cluster_id)
    if cluster is None:
        raise cluster_not_found(cluster_id)
    return cluster


ClusterDep = Annotated[Cluster, Depends(get_cluster)]


def collection_not_found(ref: str) -> NotFound:
    return NotFound(
        f"collection {ref!r} not found in this namespace; create it with POST /v1/collections "
        "(list the namespace's collections with POST /v1/collections/list)"
    )


def get_collection(collection_id: str, session: SessionDep, namespace: NamespaceDep) -> Collection:
    """The path's collection (by id or name) in the request's namespace; 404 as if absent otherwise."""
    collection = read_collection(session, namespace_id=namespace.namespace_id, collection_ref=collection_id)
    if collection is None:
        raise collection_not_found(collection_id)
    return collection


CollectionDep = Annotated[Collection, Depends(get_collection)]
