"""Three scheduler processes, each with its own engine, race over the same due schedules at the same
instants: every slot of every schedule fires exactly once (one run, or one skip), on both databases
(PostgreSQL: ``FOR UPDATE SKIP LOCKED`` + the conditional UPDATE; SQLite: the write lock)."""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from clusterbook.models.schedules import ScheduleCreate
from clusterbook.store import schedules as store
from clusterbook.store.db import make_engine, make_sessionmaker, transaction
from clusterbook.store.tables import executions, schedule_firings
from tests.factories import make_cluster

PROCESSES = 3
SCHEDULES = 30
ROUNDS = 4
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _instant(round_: int) -> datetime:
    return T0 + timedelta(minutes=round_, seconds=1)


def _race(url: str, worker: int, barrier: Any, results: Any) -> None:
    """One scheduler process: at each instant, wait for the others, then fire until nothing is due."""
    from clusterbook.runner.scheduler import fire_due

    fired: list[tuple[str, str, str | None, str | None]] = []
    error = None
    try:
        engine = make_engine(url)
        writes = make_sessionmaker(engine, writes=True)
        for round_ in range(1, ROUNDS + 1):
            barrier.wait(120)
            while True:
                with transaction(writes) as session:
                    batch = fire_due(session, now=_instant(round_), size_limit_factor=1.0, limit=4)
                fired.extend((f.schedule_id, f.due_at.isoformat(), f.run_id, f.skipped) for f in batch)
                if not batch:
                    break
        engine.dispose()
    except Exception:  # noqa: BLE001 - reported to the test, which fails on it
        error = traceback.format_exc()
    results.put((worker, fired, error))


def test_three_schedulers_fire_every_slot_exactly_once(db_url, session_factory) -> None:
    clusters = [make_cluster(session_factory) for _ in range(2)]  # a cluster holds at most 20
    writes = make_sessionmaker(session_factory.kw["bind"], writes=True)
    with transaction(writes) as session:
        ids = [
            store.create_schedule(
                session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id,
                data=ScheduleCreate(interval_seconds=60), now=T0,
            ).schedule_id
            for n in range(SCHEDULES)
            for cluster in (clusters[n % 2],)
        ]  # fmt: skip
    context = multiprocessing.get_context("spawn")  # own interpreter, own engine, nothing inherited
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=_race, args=(db_url, n, barrier, results)) for n in range(PROCESSES)]
    for p in processes:
        p.start()
    reports = [results.get(timeout=300) for _ in processes]
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    errors = [error for _, _, error in reports if error]
    assert not errors, errors[0]

    fired = [f for _, batch, _ in reports for f in batch]
    slots = Counter((schedule_id, due) for schedule_id, due, _, _ in fired)
    expected = {(sid, (T0 + timedelta(minutes=r)).isoformat()) for sid in ids for r in range(1, ROUNDS + 1)}
    assert set(slots) == expected, "a slot never fired"
    assert max(slots.values()) == 1, f"a slot fired twice: {[s for s, n in slots.items() if n > 1][:3]}"
    assert sum(1 for _, batch, _ in reports if batch) >= 2, "the schedulers never overlapped"

    # the first round started one run per schedule; the later ones found it still pending
    assert sorted(sid for sid, due, run, _ in fired if run) == sorted(ids)
    assert {skip for _, due, run, skip in fired if not run} == {"in_flight"}
    with session_factory() as session:
        triggers = session.execute(select(executions.c.trigger)).scalars().all()
        logged = session.execute(
            select(schedule_firings.c.skipped, func.sum(schedule_firings.c.repeats)).group_by(
                schedule_firings.c.skipped
            )
        ).all()
    assert sorted(triggers) == sorted(f"schedule:{sid}" for sid in ids)
    assert dict(logged) == {None: SCHEDULES, "in_flight": SCHEDULES * (ROUNDS - 1)}


pytestmark = pytest.mark.slow
