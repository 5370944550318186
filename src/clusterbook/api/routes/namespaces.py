"""Namespace routes and the health check."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from clusterbook import __version__
from clusterbook.api.deps import SessionDep, writes_database
from clusterbook.errors import Conflict
from clusterbook.models.clusters import Namespace, NamespaceCreate
from clusterbook.store.namespaces import create_namespace, list_namespaces, read_namespace

router = APIRouter(tags=["namespaces"])


@router.post("/v1/namespaces", response_model=Namespace, status_code=201, summary="Create a namespace")
@writes_database
def post_namespace(data: NamespaceCreate, session: SessionDep) -> Namespace:
    if read_namespace(session, data.namespace_name) is not None:
        raise Conflict(f"namespace {data.namespace_name!r} already exists")
    return create_namespace(session, name=data.namespace_name)


@router.get("/v1/namespaces", response_model=list[Namespace], summary="List namespaces")
def get_namespaces(session: SessionDep) -> list[Namespace]:
    return list_namespaces(session)


@router.get("/healthz", summary="Liveness and database reachability")
def health(session: SessionDep) -> dict[str, Any]:
    session.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
