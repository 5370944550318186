"""Fixtures of the SDK tests: a client on the live server, the zoo history behind it, and a server
whose workers really compute runs (for execute/wait, members and projections)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import Client
from clusterbook.models.clusters import Cluster
from clusterbook.settings import Settings
from tests.api.helpers import make_zoo
from tests.factories import make_cluster

WORKER_RUNNER = {"heartbeat_seconds": 0.5, "lease_seconds": 30.0, "poll_seconds": 0.2}
"""Quick polls, and a lease long enough that a worker's first (slow, cold) start is never reclaimed."""


@pytest.fixture
def client(live_server: BackgroundServer) -> Iterator[Client]:
    with Client(live_server.url, retries=0) as c:
        yield c


@pytest.fixture
def zoo(session_factory: sessionmaker[Session], live_server: BackgroundServer) -> Cluster:
    """A cluster named 'zoo' holding the eight known runs of ``tests.api.helpers.ZOO``."""
    cluster = make_cluster(session_factory, cluster_name="zoo")
    make_zoo(session_factory, cluster)
    return cluster


@pytest.fixture
def worker_server(db_url: str) -> Iterator[BackgroundServer]:
    settings = Settings(database_url=db_url, secret_key="test-signing-key", **WORKER_RUNNER)  # type: ignore[arg-type]
    with BackgroundServer(settings, workers=1) as server:
        yield server


def blobs(n: int, centres: int = 3, dims: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """Documents with vectors around ``centres`` well separated points (k-means finds them at once)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(0, 10, size=(centres, dims))
    return [
        {
            "document_id": f"doc-{i:04d}",
            "vector": (means[i % centres] + rng.normal(0, 0.3, size=dims)).round(4).tolist(),
            "metadata": {"group": i % centres},
        }
        for i in range(n)
    ]
