"""``client.centroids`` against a live server, sync and async: only the fields given are sent (``None``
removes an override), errors come back as the SDK's exceptions, and a lone string is refused before
anything is sent."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client
from clusterbook.errors import Conflict, NotFound, ValidationFailed
from tests.factories import completed_fields, make_cluster, make_execution


def test_update_sends_only_the_fields_given_and_maps_errors(
    live_server: BackgroundServer, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory)
    run = make_execution(session_factory, cluster, **completed_fields(1))
    pending = make_execution(session_factory, cluster, status="pending")
    with Client(live_server.url, retries=0) as client:
        updated = client.centroids.update(cluster.cluster_id, run.run_id, "cl_0", label="Invoices")
        first = (updated.centroids or [])[0]
        assert (
            first.label == "Invoices" and first.computed_label == "Billing" and first.summary == "Invoices and refunds"
        )
        assert first.override is not None and first.override.summary is None and first.override.by == "anonymous"
        kept = client.centroids.update(cluster.cluster_id, run.run_id, "cl_0", keywords=("vat",))
        assert (kept.centroids or [])[0].label == "Invoices" and (kept.centroids or [])[0].keywords == ["vat"]
        back = client.centroids.update(cluster.cluster_id, run.run_id, "cl_0", label=None, keywords=None)
        assert (back.centroids or [])[0].override is None and (back.centroids or [])[0].label == "Billing"
        with pytest.raises(NotFound, match="cl_9"):
            client.centroids.update(cluster.cluster_id, run.run_id, "cl_9", label="x")
        with pytest.raises(Conflict, match="pending"):
            client.centroids.update(cluster.cluster_id, pending.run_id, "cl_0", label="x")
        with pytest.raises(ValidationFailed):
            client.centroids.update(cluster.cluster_id, run.run_id, "cl_0")
        with pytest.raises(ValidationFailed, match="cl_4"):
            client.centroids.merge(cluster.cluster_id, run.run_id, ["cl_0", "cl_4"])
        with pytest.raises(TypeError, match="list of words"):
            client.centroids.update(cluster.cluster_id, run.run_id, "cl_0", keywords="vat")
        with pytest.raises(TypeError, match="list of cluster ids"):
            client.centroids.merge(cluster.cluster_id, run.run_id, "cl_0")


def test_the_async_client_curates_too(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    run = make_execution(session_factory, cluster, **completed_fields(2))

    async def curate() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            updated = await client.centroids.update(cluster.cluster_id, run.run_id, "cl_1", summary="Sign-in trouble")
            assert (updated.centroids or [])[1].summary == "Sign-in trouble"
            with pytest.raises(ValidationFailed, match="named twice"):
                await client.centroids.merge(cluster.cluster_id, run.run_id, ["cl_1", "cl_1"])

    asyncio.run(curate())
