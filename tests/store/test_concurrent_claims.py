"""Eight worker processes, each with its own engine, drain 500 pending runs at once: every run is
claimed exactly once and ends completed, and no "database is locked" (or any other error) escapes
on either database (SQLite: busy timeout + ``BEGIN IMMEDIATE``; PostgreSQL: ``SKIP LOCKED``)."""

from __future__ import annotations

import multiprocessing
import traceback
from typing import Any

import pytest
from sqlalchemy import func, select

from clusterbook.store.db import make_engine, make_sessionmaker, transaction
from clusterbook.store.queue import RunOutcome, claim_next_execution, complete_execution
from clusterbook.store.tables import executions
from tests.factories import make_cluster
from tests.store.test_queue import submit

PROCESSES = 8
RUNS = 500


def _trivial_outcome() -> RunOutcome:
    return RunOutcome(
        num_clusters=1,
        num_points=0,
        metrics={"noise_points": 0},
        centroids=[],
        llm_labeling_errors=[],
        config={"algorithm": "kmeans"},
        details={},
    )


def _drain(url: str, worker: int, start: Any, results: Any) -> None:
    """One worker process: claim and complete until the queue is empty; report what it took."""
    taken: list[tuple[str, int]] = []
    error = None
    try:
        engine = make_engine(url)
        writes = make_sessionmaker(engine, writes=True)
        start.wait(60)
        while True:
            with transaction(writes) as session:
                held = claim_next_execution(session, worker_id=f"test:{worker}", lease_seconds=60)
            if held is None:
                break
            with transaction(writes) as session:
                assert complete_execution(session, run_id=held.run_id, token=held.token, outcome=_trivial_outcome())
            taken.append((held.run_id, held.attempt))
        engine.dispose()
    except Exception:  # noqa: BLE001 - reported to the test, which fails on it
        error = traceback.format_exc()
    results.put((worker, taken, error))


@pytest.mark.slow
def test_eight_processes_claim_500_runs_each_exactly_once(db_url, session_factory) -> None:
    cluster = make_cluster(session_factory)
    ids = submit(make_sessionmaker(session_factory.kw["bind"], writes=True), cluster, RUNS)
    context = multiprocessing.get_context("spawn")  # own interpreter, own engine, nothing inherited
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=_drain, args=(db_url, n, start, results)) for n in range(PROCESSES)]
    for p in processes:
        p.start()
    start.set()
    reports = [results.get(timeout=300) for _ in processes]
    for p in processes:
        p.join(30)
        assert p.exitcode == 0
    errors = [error for _, _, error in reports if error]
    assert not errors, errors[0]
    taken = [run for _, runs, _ in reports for run in runs]
    assert sorted(run_id for run_id, _ in taken) == sorted(ids), "a run was claimed twice or never"
    assert {attempt for _, attempt in taken} == {1}
    assert sum(1 for _, runs, _ in reports if runs) >= 2, "the claimers never overlapped"
    with session_factory() as session:
        by_status = dict(session.execute(select(executions.c.status, func.count()).group_by(executions.c.status)).all())
    assert by_status == {"completed": RUNS}
