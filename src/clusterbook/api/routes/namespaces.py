"""Namespace routes and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from clusterbook import __version__
from clusterbook.api.deps import AccessDep, SessionDep, writes_database
from clusterbook.api.problems import problem_responses
from clusterbook.errors import Conflict, Forbidden
from clusterbook.models.clusters import Namespace, NamespaceCreate
from clusterbook.store.namespaces import create_namespace, list_namespaces, read_namespace

router = APIRouter(tags=["namespaces"])
health_router = APIRouter(tags=["health"])
"""Open to everyone, key or not: it says only that the server and its database answer."""


@router.post(
    "/v1/namespaces",
    response_model=Namespace,
    status_code=201,
    summary="Create a namespace",
    responses=problem_responses(400, 401, 403, 409, 413, 422),
)
@writes_database
def post_namespace(data: NamespaceCreate, session: SessionDep, access: AccessDep) -> Namespace:
    existing = read_namespace(session, data.namespace_name)
    if access.namespace_ids is not None and (existing is None or not access.allows(existing.namespace_id)):
        # The same answer whether or not the name exists elsewhere: keys never learn of other tenants.
        raise Forbidden(
            "with API keys, namespaces are created on the server: `clusterbook keys create --namespace NAME` "
            "creates the namespace and a key for it"
        )
    if existing is not None:
        raise Conflict(f"namespace {data.namespace_name!r} already exists")
    return create_namespace(session, name=data.namespace_name)


@router.get(
    "/v1/namespaces",
    response_model=list[Namespace],
    summary="List namespaces (those of the key)",
    responses=problem_responses(401),
)
def get_namespaces(session: SessionDep, access: AccessDep) -> list[Namespace]:
    return [ns for ns in list_namespaces(session) if access.allows(ns.namespace_id)]


@health_router.get("/healthz", summary="Liveness and database reachability")
def health(session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
