"""The trends aggregate reads its covering index on SQLite, never the table rows, and the SQLite
median matches a plain Python median (PostgreSQL's percentile_cont is checked in tests/api)."""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from clusterbook.store.db import make_engine, make_sessionmaker, refresh_statistics
from clusterbook.store.listing import ListQuery
from clusterbook.store.trends import execution_trends
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_runs


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "plan.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_whole_history_trends_use_the_covering_index(sqlite_engine):
    factory = make_sessionmaker(sqlite_engine)
    cluster = make_cluster(factory)
    make_runs(factory, cluster, [completed_fields(i * 90) for i in range(200)])
    refresh_statistics(sqlite_engine, after_bulk_load=True)
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(sqlite_engine, "before_cursor_execute", before)
    with factory() as session:
        data = execution_trends(session, cluster_id=cluster.cluster_id, query=ListQuery(), bucket="day")
        statement, parameters = next((s, p) for s, p in seen if "bucket" in s)
        plan = " ".join(
            row[3] for row in session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
    event.remove(sqlite_engine, "before_cursor_execute", before)
    assert "COVERING INDEX ix_executions_cluster_trends" in plan, plan
    assert data.total_count == 200


def test_sqlite_median_is_the_middle_value_or_the_mean_of_the_middle_two(sqlite_engine):
    factory = make_sessionmaker(sqlite_engine)
    cluster = make_cluster(factory)
    durations = [5000.0, 1000.0, 4000.0, 2000.0, 9000.0, 3000.0]
    specs = []
    for i, duration in enumerate(durations):
        created = BASE_TIME + timedelta(hours=i)
        specs.append({**completed_fields(0), "created_at": created, "completed_at": created, "duration_ms": duration})
    specs.append({"status": "canceled", "created_at": BASE_TIME, "duration_ms": 1.0})  # not a finished run
    make_runs(factory, cluster, specs)
    with factory() as session:
        day = execution_trends(session, cluster_id=cluster.cluster_id, query=ListQuery(), bucket="day").buckets
        hours = execution_trends(session, cluster_id=cluster.cluster_id, query=ListQuery(), bucket="hour").buckets
    assert day[0].p50_duration_ms == statistics.median(durations) == 3500.0
    assert [b.p50_duration_ms for b in hours] == durations
