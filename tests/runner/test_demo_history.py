"""The demo's nightly history: real runs, computed by a real worker, then moved back to their nights
of the schedule with their queue and execution times intact and the move recorded; the trends then
span weeks, and the rollups still equal a rebuild (both databases)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.models.collections import CollectionCreate, DocumentIn
from clusterbook.runner.demo import sensor_documents
from clusterbook.runner.demo_history import (
    CADENCE_DAYS,
    HISTORY_CLUSTER,
    HISTORY_NIGHTS,
    STATE_KEY,
    backdate_finished,
    history_slots,
    queue_history,
)
from clusterbook.store import rollup_schema
from clusterbook.store.collections import create_collection
from clusterbook.store.documents import upsert_documents
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import executions, server_state
from tests.api.test_auth import writer
from tests.runner.conftest import ok
from tests.store.test_rollups import _close, _rollup_table, _scales


def _queue(factory: sessionmaker[Session], now: datetime | None = None) -> None:
    with writer(factory)() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        collection = create_collection(session, namespace_id=ns, data=CollectionCreate(collection_name="demo-sensors"))
        upsert_documents(session, collection=collection, docs=[DocumentIn(**d) for d in sensor_documents()[:300]])
        assert queue_history(session, namespace_id=ns, now=now) == HISTORY_NIGHTS


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_the_nightly_runs_are_real_and_moved_back_to_their_nights(
    api: httpx.Client, runner_server: BackgroundServer, session_factory: sessionmaker[Session]
) -> None:
    _queue(session_factory)
    writes = writer(session_factory)  # SQLite: the write lock from the start, waiting for the worker's turn
    deadline = time.monotonic() + 240
    while True:  # what serve --demo's history thread does, as the worker finishes the runs
        with writes() as session, session.begin():
            if backdate_finished(session) == 0:
                break
        assert time.monotonic() < deadline, "the nightly runs never all ended"
        time.sleep(0.3)

    cluster = next(
        c
        for c in ok(api.post("/v1/clusters/list", json={}))["results"]
        if c["cluster_name"] == HISTORY_CLUSTER["cluster_name"]
    )
    history = ok(
        api.post(
            f"/v1/clusters/{cluster['cluster_id']}/executions/list",
            json={"sort": {"field": "created_at", "direction": "asc"}, "stats_scope": "all"},
            params={"page_size": 50},
        )
    )
    runs = history["results"]
    assert history["stats"]["executions_by_status"] == {"completed": HISTORY_NIGHTS}
    created = [_parse(r["created_at"]) for r in runs]
    assert created == history_slots(datetime.now(UTC))  # on the schedule's nights, oldest first
    assert created[-1] - created[0] >= timedelta(days=14) and created[-1] <= datetime.now(UTC) - timedelta(days=1)
    assert all(b - a == timedelta(days=CADENCE_DAYS) for a, b in zip(created, created[1:], strict=False))
    for run in runs:
        moved = run["backdated"]
        assert _parse(moved["slot"]) == _parse(run["created_at"]) and moved["cadence"] in HISTORY_CLUSTER["description"]
        ran = _parse(moved["ran_at"])
        assert ran > datetime.now(UTC) - timedelta(minutes=30)  # really computed just now
        assert abs(ran + timedelta(seconds=moved["shift_seconds"]) - _parse(run["created_at"])) < timedelta(
            milliseconds=1
        )
        started, ended = _parse(run["started_at"]), _parse(run["completed_at"])
        assert (ended - started).total_seconds() * 1000 == pytest_approx(run["duration_ms"])
        assert (started - _parse(run["created_at"])).total_seconds() * 1000 == pytest_approx(run["queue_ms"])
        assert run["metrics"]["silhouette_score"] > 0.3 and run["num_clusters"] == 5  # a real clustering
        assert f"{_parse(run['created_at']):%Y-%m-%d}" in run["run_name"] and "back-dated" in run["run_name"]
    assert len({r["config"]["random_state"] for r in runs}) == HISTORY_NIGHTS

    daily = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/trends", json={"bucket": "day"}))
    filled = [b for b in daily["buckets"] if b["total"]]
    assert len(filled) == HISTORY_NIGHTS and all(b["avg_silhouette_score"] for b in filled)
    weekly = ok(api.post(f"/v1/clusters/{cluster['cluster_id']}/executions/trends", json={"bucket": "week"}))
    assert len([b for b in weekly["buckets"] if b["total"]]) >= 3

    with session_factory() as session, session.begin():
        maintained = _rollup_table(session, cluster["cluster_id"])
        rollup_schema.rebuild(session, cluster_id=cluster["cluster_id"])
        rebuilt = _rollup_table(session, cluster["cluster_id"])
        assert maintained.keys() == rebuilt.keys()  # the runs left today's buckets for their nights
        scales = _scales(maintained, rebuilt)
        for key, values in rebuilt.items():
            assert all(_close(a, b, s) for a, b, s in zip(maintained[key], values, scales, strict=True)), key
        assert session.execute(select(server_state).where(server_state.c.key == STATE_KEY)).first() is None
        assert backdate_finished(session) == 0  # nothing is moved twice


def pytest_approx(value: float) -> object:
    return pytest.approx(value, abs=0.01)  # milliseconds, as stored


def test_the_plan_moves_only_ended_runs_and_survives_until_every_run_is_moved(
    session_factory: sessionmaker[Session],
) -> None:
    now = datetime(2026, 5, 20, 15, 30, tzinfo=UTC)
    _queue(session_factory, now)
    with session_factory() as session, session.begin():
        ids = list(session.execute(select(executions.c.run_id).order_by(executions.c.created_at)).scalars())
        ran = datetime.now(UTC)
        session.execute(
            update(executions)
            .where(executions.c.run_id == ids[0])
            .values(status="failed", started_at=ran, completed_at=ran + timedelta(seconds=2), duration_ms=2000.0)
        )
        session.execute(update(executions).where(executions.c.run_id == ids[1]).values(status="processing"))
        session.execute(executions.delete().where(executions.c.run_id == ids[2]))
        assert backdate_finished(session) == HISTORY_NIGHTS - 2  # one moved, one deleted: dropped
    with session_factory() as session, session.begin():
        first = session.execute(select(executions).where(executions.c.run_id == ids[0])).one()
        assert first.created_at == history_slots(now)[0] == datetime(2026, 4, 28, 3, 0, tzinfo=UTC)
        assert first.completed_at - first.started_at == timedelta(seconds=2) and first.details["backdated"]
        second = session.execute(select(executions).where(executions.c.run_id == ids[1])).one()
        assert second.created_at > now - timedelta(days=1) and "backdated" not in (second.details or {})
        session.execute(update(executions).where(executions.c.status != "failed").values(status="canceled"))
    with session_factory() as session, session.begin():  # a later start finishes the job
        assert backdate_finished(session) == 0
        assert session.execute(select(server_state).where(server_state.c.key == STATE_KEY)).first() is None
        created = sorted(session.execute(select(executions.c.created_at)).scalars())
        assert created == [s for i, s in enumerate(history_slots(now)) if i != 2]
