"""``client.schedules`` (sync and async) against a live server on both databases: every method, the
server's exception classes for bad input, and a scheduled run's trigger read back through the SDK."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client
from clusterbook.errors import Conflict, NotFound, ValidationFailed
from clusterbook.runner.scheduler import fire_due
from clusterbook.store.db import make_sessionmaker, transaction
from tests.factories import make_cluster


def test_the_sync_sdk_manages_schedules(client: Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory, cluster_name="tickets")
    nightly = client.schedules.create("tickets", cron="0 3 * * *", timezone="Europe/Berlin", name="nightly")
    hourly = client.schedules.create(
        cluster.cluster_id, interval_seconds=3600, execute={"run_name": "hourly"}, paused=True
    )
    assert (nightly.kind, nightly.timezone, nightly.name) == ("cron", "Europe/Berlin", "nightly")
    assert hourly.paused and hourly.execute == {"run_name": "hourly"}
    listed = client.schedules.list("tickets")
    assert [s.schedule_id for s in listed.results] == [nightly.schedule_id, hourly.schedule_id]
    assert listed.total_count == 2
    assert client.schedules.get("tickets", hourly.schedule_id).interval_seconds == 3600
    assert client.schedules.resume("tickets", hourly.schedule_id).paused is False
    assert client.schedules.pause("tickets", hourly.schedule_id).paused is True
    changed = client.schedules.update("tickets", hourly.schedule_id, new_documents=50, name=None)
    assert (changed.kind, changed.new_documents, changed.interval_seconds, changed.name) == (
        "new_documents", 50, None, None
    )  # fmt: skip
    assert client.schedules.firings("tickets", hourly.schedule_id, limit=5).total_count == 0
    client.schedules.delete("tickets", hourly.schedule_id)
    with pytest.raises(NotFound):
        client.schedules.get("tickets", hourly.schedule_id)
    with pytest.raises(ValidationFailed, match="not a valid cron expression"):
        client.schedules.create("tickets", cron="0 25 * * *")
    with pytest.raises(ValidationFailed, match="not an IANA time zone"):
        client.schedules.create("tickets", cron="0 3 * * *", timezone="Nowhere/Land")
    with pytest.raises(ValidationFailed, match="exactly one"):
        client.schedules.create("tickets")
    for _ in range(19):
        client.schedules.create("tickets", interval_seconds=600)
    with pytest.raises(Conflict):
        client.schedules.create("tickets", interval_seconds=600)


def test_a_fired_schedule_shows_its_run_and_trigger_through_the_sdk(
    client: Client, session_factory: sessionmaker[Session], live_server: BackgroundServer
) -> None:
    make_cluster(session_factory, cluster_name="tickets")
    made = client.schedules.create("tickets", interval_seconds=60)
    writes = make_sessionmaker(live_server.engine, writes=True)
    with transaction(writes) as session:  # the scheduler's tick, one minute later
        [fired] = fire_due(session, now=datetime.now(UTC) + timedelta(seconds=61), size_limit_factor=1.0)
    found = client.schedules.get("tickets", made.schedule_id)
    assert found.last_run_id == fired.run_id and found.last_firings[0].run_id == fired.run_id
    run = client.executions.get("tickets", fired.run_id)
    assert run.trigger == made.trigger
    page = client.executions.list("tickets", filters={"trigger": made.trigger})
    assert [r.run_id for r in page.results] == [fired.run_id]


def test_the_async_sdk_manages_schedules(live_server: BackgroundServer, session_factory) -> None:
    make_cluster(session_factory, cluster_name="tickets")

    async def main() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            made = await client.schedules.create("tickets", new_documents=10)
            assert made.kind == "new_documents"
            assert (await client.schedules.pause("tickets", made.schedule_id)).paused
            assert not (await client.schedules.resume("tickets", made.schedule_id)).paused
            changed = await client.schedules.update("tickets", made.schedule_id, cron="*/5 * * * *")
            assert changed.kind == "cron" and changed.timezone == "UTC"
            assert (await client.schedules.list("tickets")).total_count == 1
            assert (await client.schedules.get("tickets", made.schedule_id)).cron == "*/5 * * * *"
            assert (await client.schedules.firings("tickets", made.schedule_id)).results == []
            await client.schedules.delete("tickets", made.schedule_id)
            with pytest.raises(NotFound):
                await client.schedules.delete("tickets", made.schedule_id)

    asyncio.run(main())
