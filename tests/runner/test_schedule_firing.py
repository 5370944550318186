"""Firing semantics of schedules on both databases, with the clock passed in (no sleeping): a slot
fires once, a scheduler back from downtime catches up once, skips are recorded with their reason,
``new_documents`` counts changes since the cluster's last run, and a refused run is recorded
without losing the claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.models.schedules import ScheduleCreate, ScheduleUpdate
from clusterbook.runner.scheduler import fire_due
from clusterbook.store import schedules as store
from clusterbook.store.db import make_sessionmaker, transaction
from clusterbook.store.tables import executions, schedules
from tests.factories import make_cluster, make_collection, make_documents

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def writes(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    return make_sessionmaker(session_factory.kw["bind"], writes=True)


def _create(writes: sessionmaker[Session], cluster: Cluster, now: datetime = T0, **body: Any) -> str:
    with transaction(writes) as session:
        made = store.create_schedule(
            session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id,
            data=ScheduleCreate(**body), now=now,
        )  # fmt: skip
    return made.schedule_id


def _fire(writes: sessionmaker[Session], now: datetime) -> list[Any]:
    with transaction(writes) as session:
        return fire_due(session, now=now, size_limit_factor=1.0)


def _schedule(writes: sessionmaker[Session], cluster: Cluster, schedule_id: str) -> Any:
    with transaction(writes) as session:
        return store.read_schedule(session, cluster_id=cluster.cluster_id, schedule_id=schedule_id)


def _firings(writes: sessionmaker[Session], schedule_id: str) -> list[Any]:
    with transaction(writes) as session:
        return store.list_firings(session, schedule_id=schedule_id, limit=100)


def _end_runs(writes: sessionmaker[Session]) -> None:
    """The runs the schedules started end (no worker here): the next slot is not 'in flight'."""
    with transaction(writes) as session:
        session.execute(update(executions).values(status="completed", completed_at=datetime.now(UTC)))


def _vector_cluster(factory: sessionmaker[Session], documents: int = 0) -> tuple[Cluster, Any]:
    collection = make_collection(factory)
    if documents:
        make_documents(factory, collection, [{"document_id": f"d{i}", "text": f"text {i}"} for i in range(documents)])
    return make_cluster(factory, collection_ids=[collection.collection_id]), collection


def test_an_interval_schedule_fires_each_slot_once_and_starts_a_run_it_names(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=3600, execute={"run_name": "nightly", "random_state": 7})
    assert _schedule(writes, cluster, sid).next_fire_at == T0 + timedelta(hours=1)

    assert _fire(writes, T0 + timedelta(minutes=59)) == []  # not due yet
    fired = _fire(writes, T0 + timedelta(hours=1, seconds=2))
    assert len(fired) == 1 and fired[0].run_id is not None
    assert _fire(writes, T0 + timedelta(hours=1, seconds=3)) == []  # the slot is spent

    with session_factory() as session:
        run = session.execute(select(executions).where(executions.c.run_id == fired[0].run_id)).one()
    assert run.trigger == f"schedule:{sid}" and run.run_name == "nightly" and run.status == "pending"
    assert run.config["random_state"] == 7  # the execute body's override reached the run
    found = _schedule(writes, cluster, sid)
    assert found.next_fire_at == T0 + timedelta(hours=2)  # the cadence is kept, not restarted at the firing
    assert found.last_run_id == run.run_id
    assert [(f.due_at, f.run_id) for f in found.last_firings] == [(T0 + timedelta(hours=1), run.run_id)]


def test_after_downtime_a_missed_schedule_fires_once_not_once_per_slot(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=600)
    back = T0 + timedelta(hours=10, minutes=5)  # 60 slots were missed
    fired = _fire(writes, back)
    assert len(fired) == 1 and fired[0].due_at == T0 + timedelta(minutes=10)
    assert _fire(writes, back) == []
    assert _schedule(writes, cluster, sid).next_fire_at == T0 + timedelta(hours=10, minutes=10)
    with session_factory() as session:
        assert len(session.execute(select(executions.c.run_id)).all()) == 1


def test_a_cron_schedule_fires_at_its_local_time_across_daylight_saving(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    winter = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    sid = _create(writes, cluster, now=winter, cron="0 3 * * *", timezone="Europe/Berlin")
    assert _schedule(writes, cluster, sid).next_fire_at == datetime(2026, 3, 28, 2, 0, tzinfo=UTC)  # 03:00 CET
    _fire(writes, datetime(2026, 3, 28, 2, 0, 1, tzinfo=UTC))
    _end_runs(writes)
    # 29 March: clocks go forward at 02:00 CET, so 03:00 CEST is 01:00 UTC
    assert _schedule(writes, cluster, sid).next_fire_at == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    # a week down: one catch-up firing, then the next 03:00 after the return
    fired = _fire(writes, datetime(2026, 4, 5, 9, 0, tzinfo=UTC))
    assert len(fired) == 1 and fired[0].run_id
    assert _schedule(writes, cluster, sid).next_fire_at == datetime(2026, 4, 6, 1, 0, tzinfo=UTC)


def test_skips_are_recorded_with_their_reason_and_repeated_skips_fold(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=60)
    first = _fire(writes, T0 + timedelta(minutes=1))[0]
    assert first.run_id is not None
    # the run it started is still pending: the next slots are skipped, not stacked behind it
    for minute in (2, 3, 4):
        assert _fire(writes, T0 + timedelta(minutes=minute))[0].skipped == "in_flight"
    with transaction(writes) as session:
        store.update_schedule(session, cluster_id=cluster.cluster_id, schedule_id=sid,
                              data=ScheduleUpdate(paused=True), now=T0)  # fmt: skip
    _end_runs(writes)
    assert _fire(writes, T0 + timedelta(minutes=5))[0].skipped == "paused"
    assert _fire(writes, T0 + timedelta(minutes=6))[0].skipped == "paused"
    log = _firings(writes, sid)
    assert [(f.skipped, f.repeats) for f in log] == [("paused", 2), ("in_flight", 3), (None, 1)]
    assert log[0].fired_at == T0 + timedelta(minutes=6)
    with transaction(writes) as session:
        store.update_schedule(session, cluster_id=cluster.cluster_id, schedule_id=sid,
                              data=ScheduleUpdate(paused=False), now=T0)  # fmt: skip
    assert _fire(writes, T0 + timedelta(minutes=7))[0].run_id is not None


def test_new_documents_fires_once_enough_documents_changed_since_the_last_run(session_factory, writes) -> None:
    cluster, collection = _vector_cluster(session_factory, documents=2)
    sid = _create(writes, cluster, new_documents=3)
    check = _schedule(writes, cluster, sid).next_fire_at
    assert check == T0 + timedelta(minutes=1)
    assert _fire(writes, check)[0].skipped == "no_new_documents"  # two of three
    make_documents(session_factory, collection, [{"document_id": "d2", "text": "a third"}])
    fired = _fire(writes, check + timedelta(minutes=1))
    assert fired[0].run_id is not None  # three documents since the cluster never ran
    _end_runs(writes)
    assert _fire(writes, check + timedelta(minutes=2))[0].skipped == "no_new_documents"  # none since that run
    make_documents(session_factory, collection, [{"document_id": f"d{i}", "text": f"changed {i}"} for i in range(3)])
    assert _fire(writes, check + timedelta(minutes=3))[0].run_id is not None  # changed documents count too


def test_a_run_the_cluster_no_longer_admits_is_recorded_as_refused(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=60)
    with transaction(writes) as session:  # as if the algorithm's parameters had become invalid
        session.execute(update(schedules).values(execute={"algorithm_params": {"n_clusters": -3}}))
    fired = _fire(writes, T0 + timedelta(minutes=1))
    assert fired[0].skipped == "refused"
    log = _firings(writes, sid)
    assert "n_clusters" in (log[0].detail or "")
    with session_factory() as session:
        assert session.execute(select(executions.c.run_id)).all() == []
    assert _schedule(writes, cluster, sid).next_fire_at == T0 + timedelta(minutes=2)  # the claim held


def test_the_firing_log_is_bounded(session_factory, writes, monkeypatch) -> None:
    monkeypatch.setattr(store, "MAX_FIRINGS_KEPT", 3)
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=60)
    for minute in range(1, 7):
        _fire(writes, T0 + timedelta(minutes=minute))
        _end_runs(writes)
    log = _firings(writes, sid)
    assert [f.due_at for f in log] == [T0 + timedelta(minutes=m) for m in (6, 5, 4)]


def test_a_new_cron_expression_keeps_the_schedules_time_zone(session_factory, writes) -> None:
    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, cron="0 3 * * *", timezone="Asia/Tokyo")
    with transaction(writes) as session:
        changed = store.update_schedule(session, cluster_id=cluster.cluster_id, schedule_id=sid,
                                        data=ScheduleUpdate(cron="30 4 * * *"), now=T0)  # fmt: skip
    assert changed is not None and changed.timezone == "Asia/Tokyo"
    assert changed.next_fire_at == datetime(2026, 1, 5, 19, 30, tzinfo=UTC)  # 04:30 JST on 6 January


def test_the_scheduler_tick_reads_before_it_writes_and_fires_what_is_due(session_factory, writes) -> None:
    from clusterbook.runner.scheduler import Scheduler

    cluster, _ = _vector_cluster(session_factory)
    sid = _create(writes, cluster, interval_seconds=60)
    woken: list[bool] = []
    clock = [T0]
    scheduler = Scheduler(session_factory.kw["bind"], interval=1, size_limit_factor=1.0,
                          on_submit=lambda: woken.append(True), clock=lambda: clock[0])  # fmt: skip
    assert scheduler.tick() == [] and woken == []
    clock[0] = T0 + timedelta(minutes=1)
    [fired] = scheduler.tick()
    assert fired.schedule_id == sid and fired.run_id is not None and woken == [True]
    assert scheduler.tick() == []


def test_an_unexpected_error_is_recorded_and_does_not_block_the_other_schedules(
    session_factory, writes, monkeypatch
) -> None:
    from clusterbook.runner import scheduler

    cluster, _ = _vector_cluster(session_factory)
    broken = _create(writes, cluster, interval_seconds=60, execute={"run_name": "broken"})
    healthy = _create(writes, cluster, interval_seconds=60)
    real = scheduler.submit_run

    def flaky(session: Session, **kw: Any) -> Any:
        if kw["body"] is not None and kw["body"].run_name == "broken":
            raise RuntimeError("a bug")
        return real(session, **kw)

    monkeypatch.setattr(scheduler, "submit_run", flaky)
    fired = {f.schedule_id: f for f in _fire(writes, T0 + timedelta(minutes=1))}
    assert fired[broken].skipped == "refused" and fired[healthy].run_id is not None
    assert "internal error (RuntimeError)" in (_firings(writes, broken)[0].detail or "")
    assert _schedule(writes, cluster, broken).next_fire_at == T0 + timedelta(minutes=2)  # not stuck on its slot
