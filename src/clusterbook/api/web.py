"""Serve the dashboard (``clusterbook/web/``): static assets and the page shell for its deep links.

Assets live under ``/assets/<hash>/…`` where ``<hash>`` is a digest of every dashboard file, so
they can be cached for a year: a new release has a new hash. The page shell (``index.html``,
with that prefix filled in) answers exactly the dashboard's own routes and is never cached, so
nothing under ``/v1``, ``/healthz``, ``/docs`` or ``/openapi.json`` is shadowed. The dashboard
is a client of the public API like any other; this module only hands out its files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
ASSET_PLACEHOLDER = "__ASSETS__"
PAGE_ROUTES = (
    "/",
    "/clusters/{cluster_id}",
    "/clusters/{cluster_id}/runs/{run_id}",
    "/clusters/{cluster_id}/trends",
    "/clusters/{cluster_id}/compare",
    "/webhooks",
    "/clusters/{cluster_id}/alerts",
)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SHELL_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def assets_digest(root: Path = WEB_DIR) -> str:
    """A short digest of every file's path and bytes: changes whenever any asset changes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


class ImmutableAssets(StaticFiles):
    """Static files with a year-long cache: their URL changes whenever their content does."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(".map"):  # vendored builds name source maps we do not ship
            return Response(status_code=404)
        return await super().get_response(path, scope)


def mount_dashboard(app: FastAPI, root: Path = WEB_DIR) -> None:
    """Serve the dashboard at ``/`` (and its deep links) with assets under ``/assets/<hash>/``."""
    if not (root / "index.html").is_file():
        return  # an install without the web files still serves the API
    prefix = f"/assets/{assets_digest(root)}"
    shell = (root / "index.html").read_text(encoding="utf-8").replace(ASSET_PLACEHOLDER, prefix)
    app.state.assets_prefix = prefix

    async def page() -> HTMLResponse:
        return HTMLResponse(shell, headers=SHELL_HEADERS)

    for route in PAGE_ROUTES:
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    app.mount(prefix, ImmutableAssets(directory=root), name="dashboard-assets")
