"""The queue's claim and reaper read the partial index over live runs on SQLite, never the history.

SQLite uses a partial index only when the query's condition names the index's own values: with
bound parameters for ``status IN (…)`` it scanned every run (a full scan per claim at a million
runs). The plan is checked on a history of finished runs, the shape of a real deployment."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from clusterbook.store.db import make_engine, make_sessionmaker, refresh_statistics, transaction
from clusterbook.store.queue import claim_next_execution, reap_expired_leases
from tests.factories import completed_fields, make_cluster, make_runs


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "queue-plan.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def plans_of(engine: Engine, action: Any) -> list[str]:
    """The query plan of every SELECT on ``executions`` that ``action`` runs."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM executions" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        with transaction(make_sessionmaker(engine, writes=True)) as session:
            action(session)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    with engine.connect() as conn:
        return [
            " ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
            for statement, parameters in seen
        ]


def test_claim_and_reaper_use_the_live_index(sqlite_engine):
    factory = make_sessionmaker(sqlite_engine)
    cluster = make_cluster(factory)
    make_runs(factory, cluster, [completed_fields(i) for i in range(300)])
    refresh_statistics(sqlite_engine, after_bulk_load=True)

    claim_plans = plans_of(sqlite_engine, lambda s: claim_next_execution(s, worker_id="w", lease_seconds=30))
    reap_plans = plans_of(sqlite_engine, lambda s: reap_expired_leases(s, max_attempts=3))

    assert claim_plans and reap_plans
    for plan in claim_plans + reap_plans:
        assert "ix_executions_live" in plan, plan
        assert "SCAN executions" not in plan, plan
