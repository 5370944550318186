"""Fixtures for real runs: a live server whose workers compute in their own processes, and helpers
that drive it over HTTP the way a user would (upload, create, execute, poll)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings

FAST_RUNNER = {"heartbeat_seconds": 0.2, "lease_seconds": 20.0, "poll_seconds": 0.2, "max_attempts": 3}
"""Quick polls and heartbeats. The lease stays generous: a loaded CI machine must not lapse live runs
(a lapsed lease costs an attempt); killed processes are noticed at once anyway."""


@pytest.fixture
def runner_settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="test-signing-key", **FAST_RUNNER)  # type: ignore[arg-type]


@pytest.fixture
def runner_server(runner_settings: Settings) -> Iterator[BackgroundServer]:
    with BackgroundServer(runner_settings, workers=1) as server:
        yield server


@pytest.fixture
def api(runner_server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runner_server.url, timeout=60) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def upload_collection(api: httpx.Client, name: str, documents: list[dict[str, Any]], batch: int = 2000) -> str:
    collection = ok(api.post("/v1/collections", json={"collection_name": name}), 201)
    for start in range(0, len(documents), batch):
        ok(api.post(f"/v1/collections/{name}/documents", json={"documents": documents[start : start + batch]}))
    return str(collection["collection_id"])


def create_cluster(api: httpx.Client, name: str, collection: str, **fields: Any) -> dict[str, Any]:
    body = {"cluster_name": name, "collection_ids": [collection], **fields}
    return dict(ok(api.post("/v1/clusters", json=body), 201))


def execute(api: httpx.Client, cluster_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(ok(api.post(f"/v1/clusters/{cluster_id}/execute", json=body), 202))


def wait_for(
    api: httpx.Client,
    cluster_id: str,
    run_id: str,
    until: Any = ("completed", "failed", "canceled"),
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Poll the run until ``until(run)`` (or its status is one of ``until``); fail after ``timeout``."""
    check = until if callable(until) else (lambda run: run["status"] in until)
    deadline = time.monotonic() + timeout
    while True:
        run = ok(api.get(f"/v1/clusters/{cluster_id}/executions/{run_id}"))
        if check(run):
            return dict(run)
        assert time.monotonic() < deadline, f"run never reached {until}: {run}"
        time.sleep(0.1)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """One local Ray for every Ray test of the session (two CPUs, no dashboard: light on CI)."""
    ray = pytest.importorskip("ray", reason="the Ray runner's tests need the extra clusterbook[ray]")
    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture
def ray_settings(db_url: str, ray_cluster: Any) -> Settings:
    return Settings(database_url=db_url, secret_key="test-signing-key", runner="ray", **FAST_RUNNER)  # type: ignore[arg-type]
