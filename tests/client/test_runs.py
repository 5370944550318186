"""Real runs through the SDK: documents uploaded with ``documents.upsert``, ``clusters.execute(wait=True)``
(sync and async) against a server whose worker computes them, then members and the projection."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, F
from clusterbook.models.executions import ClusterExecutionResult
from tests.client.conftest import blobs


def _check_members(client: Client, run: ClusterExecutionResult) -> None:
    assert run.centroids
    sizes = {c.cluster_id: c.num_members for c in run.centroids}
    members = list(client.executions.iter_members(run.cluster_id, run.run_id, page_size=40))
    assert len({m.document_id for m in members}) == len(members) == run.num_points
    assert Counter(m.cluster_id for m in members) == sizes
    distances = [m.distance for m in client.executions.members(run.cluster_id, run.run_id, page_size=10).results]
    assert distances == sorted(distances)  # closest to their centre first
    biggest = run.centroids[0]
    inside = client.executions.members(run.cluster_id, run.run_id, filters=F.field("cluster_id") == biggest.cluster_id)
    assert inside.total_count == biggest.num_members
    projection = client.executions.projection(run.cluster_id, run.run_id)
    assert projection.run_id == run.run_id and projection.total == run.num_points
    assert 0 < projection.sampled == len(projection.points) <= run.num_points
    assert {p.cluster_id for p in projection.points} <= set(sizes)
    assert {c.cluster_id for c in projection.centroids} == set(sizes)


@pytest.mark.slow
def test_execute_waits_for_real_runs_sync_and_async(worker_server: BackgroundServer) -> None:
    with Client(worker_server.url, retries=0) as client:
        client.collections.create("blobs")
        uploaded = client.documents.upsert("blobs", blobs(90), batch_size=40)
        assert uploaded.created == 90 and uploaded.collection.vector_dimension == 4
        client.clusters.create(
            "three",
            collection_ids=["blobs"],
            vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3, "random_state": 0}},
        )
        seen: list[str] = []
        run = client.clusters.execute(
            "three",
            run_name="sync",
            wait=True,
            poll_interval=0.1,
            timeout=120,
            on_update=lambda r: seen.append(r.status),
        )
        assert run.status == "completed", run.error_message
        assert (run.num_points, run.num_clusters, run.run_name) == (90, 3, "sync")
        assert run.metrics and run.metrics.silhouette_score and run.metrics.silhouette_score > 0.8
        assert seen[0] == "pending" and seen[-1] == "completed"
        assert seen.count("completed") == 1
        _check_members(client, run)

    async def run_async() -> ClusterExecutionResult:
        async with AsyncClient(worker_server.url, retries=0) as aclient:
            done = await aclient.clusters.execute(
                "three", run_name="async", algorithm_params={"n_clusters": 2}, wait=True, poll_interval=0.1, timeout=120
            )
            members = [m async for m in aclient.executions.iter_members(done.cluster_id, done.run_id)]
            assert len(members) == 90
            assert (await aclient.executions.projection(done.cluster_id, done.run_id)).total == 90
            return done

    second = asyncio.run(run_async())
    assert second.status == "completed" and second.num_clusters == 2 and second.run_name == "async"

    with Client(worker_server.url) as client:
        history = client.executions.list("three", sort="-metrics.silhouette_score", stats_scope="all")
        assert [r.run_name for r in history.results] == ["sync", "async"]  # three true blobs beat two
        assert history.stats and history.stats.executions_by_status == {"completed": 2}
        latest = client.executions.latest("three")
        assert latest is not None and latest.run_id == second.run_id
