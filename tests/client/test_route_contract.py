"""Route contract: every path the SDK calls exists in the server's OpenAPI schema with that method."""

from __future__ import annotations

import re
from pathlib import Path

import clusterbook.client  # noqa: F401 - imports every resource, registering its routes
from clusterbook.api.app import create_app
from clusterbook.client._http import ROUTES
from clusterbook.settings import Settings


def _shape(path: str) -> str:
    """``/v1/clusters/{cluster_id}`` and ``/v1/clusters/{id}`` are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_sdk_route_is_in_the_openapi_schema(sqlite_template: Path, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{sqlite_template}", secret_key="k"), run_migrations=False)
    schema = app.openapi()
    served = {(method.upper(), _shape(path)) for path, item in schema["paths"].items() for method in item}
    app.state.engine.dispose()
    called = {(route.method, _shape(route.template)) for route in ROUTES}
    assert len(called) == len(ROUTES) >= 24  # no route declared twice
    missing = sorted(called - served)
    assert not missing, f"the SDK calls routes the server does not have: {missing}"
    assert ("POST", _shape("/v1/clusters/{cluster_id}/executions/compare")) in called


def test_routes_that_may_be_resent_are_the_idempotent_ones() -> None:
    resent = {(route.method, route.template) for route in ROUTES if route.idempotent}
    assert all(
        method != "POST"
        or template.endswith(
            ("/list", "/documents", "/documents/delete", "/executions/compare", "/executions/trends", "/export")
        )
        for method, template in resent
    )
    assert ("POST", "/v1/clusters/{cluster_id}/execute") not in resent
    assert ("POST", "/v1/clusters") not in resent
