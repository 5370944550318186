"""``client.executions.trends`` (with ``group_by``) and ``client.executions.config_fields``, sync and
async, against the live server on both databases: the SDK sends what the server validates and reads
the answer back into the wire models."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, F, ValidationFailed
from tests.api.test_trend_groups import HISTORY
from tests.factories import make_cluster, make_runs


def test_trends_grouped_by_a_parameter(client: Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    make_runs(session_factory, cluster, HISTORY)
    plain = client.executions.trends(cluster.cluster_id)
    assert plain.groups is None and plain.total_count == 6 and len(plain.buckets) == 6
    grouped = client.executions.trends(cluster.cluster_id, group_by="config.params.n_clusters")
    assert grouped.groups is not None
    assert [(g.key, g.total_count) for g in grouped.groups] == [(3, 2), (5, 2), (None, 2)]
    assert grouped.buckets == plain.buckets
    kmeans = client.executions.trends(
        cluster.cluster_id, filters=F.config("algorithm") == "kmeans", bucket="week", group_by="status"
    )
    assert kmeans.groups is not None
    assert {g.key: g.total_count for g in kmeans.groups} == {"completed": 2, "failed": 2}
    with pytest.raises(ValidationFailed, match="cannot group by"):
        client.executions.trends(cluster.cluster_id, group_by="run_name")


def test_config_fields_name_what_the_filters_take(client: Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    make_runs(session_factory, cluster, HISTORY)
    fields = client.executions.config_fields(cluster.cluster_id)
    by_name = {f.field: f for f in fields.results}
    assert by_name["config.params.n_clusters"].run_count == 4
    assert by_name["config.params.min_cluster_size"].value_type == "number"
    assert fields.complete and fields.scanned_runs == 6
    for f in fields.results:  # each name is one the SDK's filters accept
        page = client.executions.list(cluster.cluster_id, filters={f.field: {"exists": True}})
        assert page.total_count == f.run_count, f.field


def test_async_twins(live_server: BackgroundServer, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    make_runs(session_factory, cluster, HISTORY)

    async def scenario() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            grouped = await client.executions.trends(cluster.cluster_id, group_by="algorithm")
            assert grouped.groups is not None
            assert [g.key for g in grouped.groups] == ["hdbscan", "kmeans", None]
            fields = await client.executions.config_fields(cluster.cluster_id)
            assert fields.results[0].field == "config.algorithm"

    asyncio.run(scenario())
