"""The API docs (``/docs``, Swagger UI) with its scripts and styles served by clusterbook itself.

FastAPI's default page loads Swagger UI from a CDN, so on a machine without internet ``/docs`` is
a blank page. The assets come from the ``fastapi-offline`` package (a bundle of Swagger UI 5,
which renders OpenAPI 3.1); this module only serves them. ReDoc is not offered: its bundle still
fetches a logo from its CDN.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PREFIX = "/docs-assets"


def mount_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI at ``/docs``; create ``app`` with ``docs_url`` and ``redoc_url`` None."""
    title = f"{app.title} API"
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSETS_PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PREFIX}/favicon.png",
        )

    async def redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_api_route("/docs", swagger, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    app.add_api_route(redirect_url, redirect, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    app.mount(ASSETS_PREFIX, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
