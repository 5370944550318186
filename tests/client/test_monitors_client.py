"""``client.monitors`` (sync and async) against a live server: the whole life of a monitor, its alert
history after an evaluation, and the server's refusals raised as the SDK's exception classes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client
from clusterbook.errors import Conflict, NotFound, ValidationFailed
from clusterbook.models.monitors import MetricRule
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import evaluate_cluster_monitors
from tests.factories import BASE_TIME, make_cluster, make_runs

FAILURES = {"kind": "failure_rate", "last_runs": 3, "above": 0.5}


def test_the_life_of_a_monitor(client: Client, session_factory, engine):
    cluster = make_cluster(session_factory, cluster_name="topics")
    created = client.monitors.create("topics", "failures", FAILURES)
    assert created.state == "ok" and created.rule.kind == "failure_rate"
    rule = MetricRule(kind="metric", measure="silhouette_score", below=0.2)
    client.monitors.create("topics", "quality", rule, paused=True)
    assert [m.name for m in client.monitors.list("topics")] == ["failures", "quality"]
    assert client.monitors.resume("topics", "quality").paused is False
    assert client.monitors.pause("topics", "quality").paused is True
    renamed = client.monitors.update("topics", created.monitor_id, name="failure rate")
    assert (
        renamed.name == "failure rate"
        and client.monitors.get("topics", "failure rate").monitor_id == created.monitor_id
    )

    at = BASE_TIME
    make_runs(session_factory, cluster, [{"status": "failed", "created_at": at, "completed_at": at}])
    with make_sessionmaker(engine, writes=True)() as session, session.begin():
        evaluate_cluster_monitors(session, cluster_id=cluster.cluster_id, now=at + timedelta(seconds=1))
    page = client.monitors.alerts("topics", "failure rate")
    assert page.total_count == 1 and page.results[0].event == "triggered"
    assert page.results[0].observed["failure_rate"] == 1.0
    assert client.monitors.get("topics", "failure rate").state == "alerting"

    with pytest.raises(Conflict):
        client.monitors.create("topics", "quality", FAILURES)
    with pytest.raises(ValidationFailed, match="unknown measure 'speed'"):
        client.monitors.create("topics", "x", {"kind": "metric", "measure": "speed", "above": 1})
    client.monitors.delete("topics", "failure rate")
    with pytest.raises(NotFound):
        client.monitors.get("topics", "failure rate")


def test_the_async_twin(live_server: BackgroundServer, session_factory):
    make_cluster(session_factory, cluster_name="topics")

    async def main() -> list[str]:
        async with AsyncClient(live_server.url, retries=0) as client:
            await client.monitors.create("topics", "quiet", {"kind": "no_completed_run", "for_seconds": 3600})
            await client.monitors.pause("topics", "quiet")
            await client.monitors.resume("topics", "quiet")
            await client.monitors.update("topics", "quiet", rule={"kind": "no_completed_run", "for_seconds": 7200})
            found = await client.monitors.get("topics", "quiet")
            assert found.rule.kind == "no_completed_run" and found.rule.for_seconds == 7200
            assert (await client.monitors.alerts("topics", "quiet", page_size=5)).total_count == 0
            names = [m.name for m in await client.monitors.list("topics")]
            await client.monitors.delete("topics", "quiet")
            assert await client.monitors.list("topics") == []
            return names

    assert asyncio.run(main()) == ["quiet"]
