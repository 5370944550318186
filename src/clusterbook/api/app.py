"""The FastAPI application factory: settings in, a ready app out (migrations run on startup)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from clusterbook import __version__
from clusterbook.api.budget import CancelOnDisconnect
from clusterbook.api.deps import require_key
from clusterbook.api.docs import mount_api_docs
from clusterbook.api.limits import BodySizeLimit, BodyTooLarge, UploadGate
from clusterbook.api.metrics import install_metrics
from clusterbook.api.problems import install_problem_handlers, payload_too_large
from clusterbook.api.routes import (
    catalogue,
    centroids,
    clusters,
    collections,
    estimates,
    executions,
    exports,
    meta,
    monitors,
    namespaces,
    runs,
    schedules,
    trends,
    webhooks,
)
from clusterbook.api.uploads import document_upload_body
from clusterbook.api.web import mount_dashboard
from clusterbook.settings import Settings
from clusterbook.store.cursors import load_signing_key
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, refresh_statistics, transaction

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> FastAPI:
    """Build the app for ``settings``; the database schema is brought up to date first."""
    settings = settings or Settings()
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if run_migrations:
        migrate(engine)
        refresh_statistics(engine)
    app = FastAPI(
        title="clusterbook",
        version=__version__,
        description="Self-hostable clustering service: clusters, executions and their history.",
        docs_url=None,  # served by api.docs with local assets, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.write_sessionmaker = make_sessionmaker(engine, writes=True)
    app.state.runner = None  # a runner.worker.WorkerPool when this process also computes runs
    # Loaded (or created and committed) once at start: every request signs and checks cursors with it.
    with transaction(app.state.sessionmaker) as session:
        app.state.cursor_key = load_signing_key(session, settings.secret_key)
    install_problem_handlers(app)
    document_upload_body(app)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return payload_too_large(request.url.path, exc.max_bytes, hint=exc.hint)

    app.add_middleware(
        UploadGate,
        budget_bytes=settings.upload_budget_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        wait_seconds=settings.upload_wait_seconds,
    )
    # Inside the body limit: it watches for the client leaving once the (bounded) body is read.
    app.add_middleware(CancelOnDisconnect)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    # Outermost: request latency by route template, 413s and 401s included; GET /metrics (api/metrics.py)
    install_metrics(app)
    # Every /v1 route sits behind the key check; tests/api/test_auth.py walks app.routes to hold
    # each one to it. /healthz and the dashboard's files stay open (they hold no data).
    v1 = APIRouter(dependencies=[Depends(require_key)])
    routers = (
        namespaces,
        clusters,
        collections,
        executions,
        centroids,
        estimates,
        runs,
        trends,
        meta,
        catalogue,
        schedules,
        webhooks,
        monitors,
    )
    for module in routers:
        v1.include_router(module.router)
    v1.include_router(exports.runs_router)
    v1.include_router(exports.documents_router)
    app.include_router(v1)
    app.include_router(namespaces.health_router)
    mount_api_docs(app)
    mount_dashboard(app)
    return app
