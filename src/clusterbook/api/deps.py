"""Request dependencies: the per-request transaction and the namespace the request acts in."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import BackgroundTasks, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.auth import Access, resolve_access
from clusterbook.api.budget import request_token
from clusterbook.errors import InvalidRequest, NotFound
from clusterbook.models.clusters import Cluster, Namespace
from clusterbook.models.collections import Collection
from clusterbook.settings import Settings
from clusterbook.store.budget import BudgetGuard, QueryBudget, interrupted
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


GUARD_KEY = "clusterbook.budget_guard"
"""Where a read session's ``info`` holds the guard that budgets its connection."""


@event.listens_for(Session, "after_begin")
def _attach_budget(session: Session, _transaction: Any, connection: Connection) -> None:
    """A read's budget goes onto its connection when the session first takes one: on the worker
    thread that runs the first statement, never on the event loop."""
    guard: BudgetGuard | None = session.info.get(GUARD_KEY)
    if guard is not None:
        guard.attach(connection)


class RequestSession:
    """The request's one transaction, opened lazily and finished exactly once."""

    def __init__(self, session: Session, guard: BudgetGuard | None) -> None:
        self.session = session
        self.guard = guard
        self.open = True

    @property
    def needs_io(self) -> bool:
        """Finishing talks to the database only when a statement ran (a transaction began)."""
        return self.open and self.session.in_transaction()

    def finish(self) -> None:
        """Commit and close (as the ``with session.begin()`` block did): budget off, commit, close."""
        self._end(commit=True)

    def abort(self) -> None:
        """Budget off and close, which rolls back whatever began."""
        self._end(commit=False)

    def _end(self, *, commit: bool) -> None:
        if not self.open:
            return
        self.open = False
        try:
            if self.guard is not None:
                self.guard.release()
            if commit and self.session.in_transaction():
                self.session.commit()
        finally:
            self.session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed on success, rolled back entirely on any error.

    A read is held to the query budget (``CLUSTERBOOK_QUERY_TIMEOUT``) and stopped when its client
    disconnects (``store/budget.py``).

    Used with ``scope="function"`` so the commit happens before the response is sent: a client
    that gets a 201 and asks again at once must see what it just wrote.

    Why async: a sync dependency with ``yield`` costs two threadpool hops per request (enter and
    exit). Making a session and beginning it does no I/O (the connection is taken by the first
    statement, on a worker thread, and the budget attaches then), so only finishing a transaction
    that ran a statement goes to the threadpool — and a route that finishes its own
    (:func:`finish_request_session`, at the end of its one hop) spares even that.
    """
    writes = getattr(request.scope.get("endpoint"), "writes_database", False)
    budget: QueryBudget | None = None
    if writes:  # a write is never cut short by the read budget
        state = RequestSession(request.app.state.write_sessionmaker(), None)
    else:
        budget = QueryBudget(request.app.state.settings.query_timeout, request_token(request))
        request.state.query_budget = budget
        guard = BudgetGuard(budget)
        state = RequestSession(request.app.state.sessionmaker(), guard)
        state.session.info[GUARD_KEY] = guard
    request.state.request_session = state
    try:
        yield state.session
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            if state.needs_io:
                await run_in_threadpool(state.abort)
            else:
                state.abort()
        if budget is not None and isinstance(exc, DBAPIError) and interrupted(exc):
            raise budget.error() from exc
        raise
    try:
        if state.needs_io:
            await run_in_threadpool(state.finish)
        else:
            state.finish()
    except DBAPIError as exc:
        if budget is not None and interrupted(exc):
            raise budget.error() from exc
        raise
    after_commit = getattr(request.state, "after_commit", None)
    if after_commit is not None:  # e.g. wake the workers once a submitted run is visible to them
        after_commit()


def finish_request_session(request: Request) -> None:
    """Commit and close the request's transaction now, from the worker thread a route already runs
    on, so the dependency's teardown has nothing left to do on another hop. Reads only."""
    state: RequestSession = request.state.request_session
    state.finish()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`clusterbook keys create`). Required once the server has one.",
)


async def require_key(
    request: Request,
    session: SessionDep,
    background: BackgroundTasks,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Access:
    """The door of every /v1 route (applied to the routers in ``api/app.py``): 401 without a valid
    key once one exists. ``_credentials`` only declares the scheme in the OpenAPI document; the
    header itself is read here, so that a header of another scheme counts as a wrong key.

    One threadpool hop resolves the key and, in the same transaction, the request's namespace and
    the path's cluster (:func:`_resolve_scope`): :func:`get_namespace` and :func:`get_cluster` then
    answer from what was found, raising its error at their own turn, so every answer and its order
    stay what they were (401, then the header's 422/400/404, then the cluster's 404)."""
    access = await run_in_threadpool(_resolve_scope, request, session)
    if access.key is not None and last_used_is_stale(access.key, datetime.now(UTC)):
        background.add_task(_record_use, request.app.state.write_sessionmaker, access.key.key_id)
    return access


@dataclass(frozen=True)
class _Resolved:
    """What :func:`require_key` found ahead of :func:`get_namespace` and :func:`get_cluster`."""

    header: str | None
    namespace: Namespace | None = None
    error: Exception | None = None
    cluster_ref: str | None = None
    cluster: Cluster | None = None


def _resolve_scope(request: Request, session: Session) -> Access:
    settings: Settings = request.app.state.settings
    access = resolve_access(session, request.headers.get("authorization"), settings=settings)
    header = request.headers.get("x-namespace")
    if header is not None and len(header) > NAMESPACE_HEADER_MAX_LENGTH:
        return access  # FastAPI answers that header with its 422 when get_namespace's turn comes
    try:
        namespace = _namespace_for(session, access, header)
    except (InvalidRequest, NotFound) as exc:
        request.state.resolved_scope = _Resolved(header, error=exc)
        return access
    cluster_ref = request.path_params.get("cluster_id")
    cluster = None
    if isinstance(cluster_ref, str):
        cluster = read_cluster(session, namespace_id=namespace.namespace_id, cluster_ref=cluster_ref)
    request.state.resolved_scope = _Resolved(header, namespace, cluster_ref=cluster_ref, cluster=cluster)
    return access


def _record_use(factory: sessionmaker[Session], key_id: str) -> None:
    """After the response: note the key's use in a transaction of its own, so a read stays a read."""
    try:
        with factory() as session, session.begin():
            touch_api_key(session, key_id=key_id, now=datetime.now(UTC))
    except Exception:  # noqa: BLE001 - bookkeeping only; never worth an error
        logger.debug("could not record the use of API key %s", key_id, exc_info=True)


AccessDep = Annotated[Access, Depends(require_key)]
NAMESPACE_HEADER_MAX_LENGTH = 200


def _namespace_for(session: Session, access: Access, x_namespace: str | None) -> Namespace:
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


def _resolved(request: Request) -> _Resolved | None:
    found: _Resolved | None = getattr(request.state, "resolved_scope", None)
    return found


async def get_namespace(
    request: Request,
    session: SessionDep,
    access: AccessDep,
    x_namespace: Annotated[
        str | None,
        Header(
            description="Namespace name or id; 'default' when absent (or the key's one namespace).",
            max_length=NAMESPACE_HEADER_MAX_LENGTH,
        ),
    ] = None,
) -> Namespace:
    """The request's namespace. A namespace the key does not hold is answered exactly like one that
    does not exist. Without the header: 'default', or the key's namespace when it holds one only."""
    found = _resolved(request)
    if found is not None and found.header == x_namespace:
        if found.error is not None:
            raise found.error
        assert found.namespace is not None
        return found.namespace
    return await run_in_threadpool(_namespace_for, session, access, x_namespace)


NamespaceDep = Annotated[Namespace, Depends(get_namespace)]


def cluster_not_found(ref: str) -> NotFound:
    return NotFound(f"cluster {ref!r} not found")


def _cluster_for(session: Session, namespace: Namespace, cluster_id: str) -> Cluster:
    cluster = read_cluster(session, namespace_id=namespace.namespace_id, cluster_ref=cluster_id)
    if cluster is None:
        raise cluster_not_found(cluster_id)
    return cluster


async def get_cluster(request: Request, cluster_id: str, session: SessionDep, namespace: NamespaceDep) -> Cluster:
    """The path's cluster (by id or name) in the request's namespace; 404 as if absent otherwise."""
    found = _resolved(request)
    if found is not None and found.cluster_ref == cluster_id and found.namespace is namespace:
        if found.cluster is None:
            raise cluster_not_found(cluster_id)
        return found.cluster
    return await run_in_threadpool(_cluster_for, session, namespace, cluster_id)


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
