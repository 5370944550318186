"""Request dependencies: the per-request transaction and the namespace the request acts in."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import BackgroundTasks, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.auth import Access, resolve_access
from clusterbook.api.budget import request_token
from clusterbook.errors import InvalidRequest, NotFound
from clusterbook.models.clusters import Cluster, Namespace
from clusterbook.models.collections import Collection
from clusterbook.settings import Settings
from clusterbook.store.budget import QueryBudget, enforce_budget
from clusterbook.store.clusters import read_cluster
from clusterbook.store.collections import read_collection
from clusterbook.store.keys import last_used_is_stale, touch_api_key
from clusterbook.store.namespaces import DEFAULT_NAMESPACE, read_namespace

logger = logging.getLogger(__name__)
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

    A read is held to the query budget (``CLUSTERBOOK_QUERY_TIMEOUT``) and stopped when its client
    disconnects (``store/budget.py``).

    Used with ``scope="function"`` so the commit happens before the response is sent: a client
    that gets a 201 and asks again at once must see what it just wrote.
    """
    writes = getattr(request.scope.get("endpoint"), "writes_database", False)
    if writes:  # a write is never cut short by the read budget
        with request.app.state.write_sessionmaker() as session, session.begin():
            yield session
    else:
        budget = QueryBudget(request.app.state.settings.query_timeout, request_token(request))
        request.state.query_budget = budget
        with request.app.state.sessionmaker() as session, session.begin(), enforce_budget(session, budget):
            yield session
    after_commit = getattr(request.state, "after_commit", None)
    if after_commit is not None:  # e.g. wake the workers once a submitted run is visible to them
        after_commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`clusterbook keys create`). Required once the server has one.",
)


def require_key(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Access:
    """The door of every /v1 route (applied to the routers in ``api/app.py``): 401 without a valid
    key once one exists. ``_credentials`` only declares the scheme in the OpenAPI document; the
    header itself is read here, so that a header of another scheme counts as a wrong key."""
    settings: Settings = request.app.state.settings
    access = resolve_access(session, request.headers.get("authorization"), settings=settings)
    if access.key is not None and last_used_is_stale(access.key, datetime.now(UTC)):
        background.add_task(_record_use, request.app.state.write_sessionmaker, access.key.key_id)
    return access


def _record_use(factory: sessionmaker[Session], key_id: str) -> None:
    """After the response: note the key's use in a transaction of its own, so a read stays a read."""
    try:
        with factory() as session, session.begin():
            touch_api_key(session, key_id=key_id, now=datetime.now(UTC))
    except Exception:  # noqa: BLE001 - bookkeeping only; never worth an error
        logger.debug("could not record the use of API key %s", key_id, exc_info=True)


AccessDep = Annotated[Access, Depends(require_key)]


def get_namespace(
    session: SessionDep,
    access: AccessDep,
    x_namespace: Annotated[
        str | None,
        Header(description="Namespace name or id; 'default' when absent (or the key's one namespace).", max_length=200),
    ] = None,
) -> Namespace:
    """The request's namespace. A namespace the key does not hold is answered exactly like one that
    does not exist. Without the header: 'default', or the key's namespace when it holds one only."""
    ref = DEFAULT_NAMESPACE if x_namespace is None else x_namespace.strip()
    if not NAMESPACE_HEADER_PATTERN.match(ref):
        raise InvalidRequest("X-Namespace must be a namespace name or id: 1-64 letters, digits, '-' or '_'")
    namespace = read_namespace(session, ref)
    held = access.namespace_ids
    mine = namespace is not None and access.allows(namespace.namespace_id)
    if x_namespace is None and held is not None and len(held) == 1 and not mine:
        namespace = read_namespace(session, next(iter(held)))
    if namespace is None or not access.allows(namespace.namespace_id):
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
