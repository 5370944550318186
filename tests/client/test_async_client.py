"""The async SDK: the same surface as the sync one (checked by signature), every method exercised
against a live server."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, F, WaitTimeout
from clusterbook.client import resources as r
from clusterbook.errors import Conflict, InvalidFilter, NotFound
from clusterbook.models.clusters import Cluster
from tests.api.helpers import NAME_OF, ZOO

PAIRS = [
    (Client, AsyncClient),
    (r.Namespaces, r.AsyncNamespaces),
    (r.Collections, r.AsyncCollections),
    (r.Documents, r.AsyncDocuments),
    (r.Clusters, r.AsyncClusters),
    (r.Executions, r.AsyncExecutions),
    (r.Schedules, r.AsyncSchedules),
    (r.Monitors, r.AsyncMonitors),
    (r.Centroids, r.AsyncCentroids),
]


def _public(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") or name == "__init__"
    }


@pytest.mark.parametrize(("sync", "async_"), PAIRS)
def test_async_twins_have_the_same_methods_and_parameters(sync: type, async_: type) -> None:
    mine, theirs = _public(sync), _public(async_)
    assert set(mine) == set(theirs)
    for name, signature in mine.items():
        if name == "__init__":
            continue
        assert list(signature.parameters) == list(theirs[name].parameters), name
        for param, spec in signature.parameters.items():
            assert spec.default == theirs[name].parameters[param].default, (name, param)
        if name not in ("iter", "iter_members"):
            assert inspect.iscoroutinefunction(getattr(async_, name)) or name in ("close",), name


def test_every_async_method_against_a_live_server(live_server: BackgroundServer, zoo: Cluster) -> None:
    async def scenario() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            assert (await client.health())["status"] == "ok"
            ns = await client.namespaces.create("async-team")
            assert ns.namespace_name in [n.namespace_name for n in await client.namespaces.list()]

            created = await client.collections.create("async-docs", description="d")
            assert (await client.collections.get("async-docs")).collection_id == created.collection_id
            assert (await client.collections.list(search="async")).total_count == 1
            assert [c.collection_name async for c in client.collections.iter(search="async")] == ["async-docs"]
            docs = [{"document_id": f"a{i}", "text": f"text {i}", "metadata": {"i": i}} for i in range(5)]
            result = await client.documents.upsert("async-docs", docs, batch_size=2)
            assert (result.created, result.collection.document_count) == (5, 5)
            assert (await client.documents.upsert("async-docs", [])).upserted == 0
            page = await client.documents.list("async-docs", filters=F.metadata("i") >= 3, sort="document_id")
            assert [d.document_id for d in page.results] == ["a3", "a4"]
            assert len([d async for d in client.documents.iter("async-docs", page_size=2)]) == 5
            assert (await client.documents.get("async-docs", "a0", include_vector=True)).text == "text 0"
            await client.documents.delete("async-docs", "a0")
            assert (await client.documents.delete_many("async-docs", ["a1", "a2", "zz"])).deleted == 2
            assert (await client.documents.delete_many("async-docs", [])).collection.document_count == 2

            cluster = await client.clusters.create("async-topics", collection_ids=["async-docs"])
            assert (await client.clusters.get("async-topics")).cluster_id == cluster.cluster_id
            assert (await client.clusters.list(search="async")).total_count == 1
            assert [c.cluster_name async for c in client.clusters.iter(search="async")] == ["async-topics"]
            updated = await client.clusters.update("async-topics", description="now described")
            assert updated.description == "now described"
            assert await client.executions.latest("async-topics") is None
            with pytest.raises(Conflict):
                await client.collections.delete("async-docs")  # a cluster still uses it
            await client.clusters.delete("async-topics")
            await client.collections.delete("async-docs")
            with pytest.raises(NotFound):
                await client.clusters.get("async-topics")

            history = await client.executions.list("zoo", filters=F.status == "failed", stats_scope="all")
            assert {NAME_OF[run.run_id] for run in history.results} == {"charlie", "delta"}
            assert history.stats and history.stats.executions_by_status == {"failed": 2}
            walked = [
                NAME_OF[run.run_id] async for run in client.executions.iter("zoo", sort="created_at", page_size=3)
            ]
            assert walked == list(ZOO)
            assert (await client.executions.get("zoo", "run_Bravo02")).num_clusters == 5
            assert (await client.executions.find("run_Bravo02")).cluster_id == zoo.cluster_id
            latest = await client.executions.latest("zoo")
            assert latest is not None and latest.run_id == "run_Hotel08"
            assert (await client.executions.cancel("zoo", "run_Foxtrot06")).status == "canceled"
            ended = await client.executions.wait("zoo", "run_Foxtrot06", poll_interval=0.05, timeout=5)
            assert ended.status == "canceled"  # an ended run: wait returns at once
            assert (await client.executions.members("zoo", "run_Alpha01")).total_count == 0
            assert [m async for m in client.executions.iter_members("zoo", "run_Alpha01")] == []
            with pytest.raises(NotFound):
                await client.executions.projection("zoo", "run_Alpha01")
            with pytest.raises(InvalidFilter) as caught:
                await client.executions.list("zoo", filters={"status": "exploded"})
            assert caught.value.errors[0].loc == "filters.status"

            # no workers here: a submitted run stays pending, so waiting for it times out
            run = await client.clusters.execute("zoo", run_name="queued", algorithm_params={"n_clusters": 2})
            assert run.status == "pending" and run.run_name == "queued"
            with pytest.raises(WaitTimeout) as late:
                await client.executions.wait("zoo", run.run_id, poll_interval=0.05, timeout=0.2)
            assert late.value.extra == {"run_id": run.run_id, "cluster_id": zoo.cluster_id, "run_status": "pending"}
            with pytest.raises(WaitTimeout, match="still pending after 0.1 s"):
                await client.clusters.execute("zoo", wait=True, poll_interval=0.05, timeout=0.1)

    asyncio.run(scenario())
