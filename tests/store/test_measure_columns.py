"""The migrated schema matches the measure declaration (a column per measure, an index per measure
with percentiles), and migration 0006 turns stored durations into execution time and fills in
queue time — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from clusterbook.models.measures import MEASURES
from clusterbook.store.db import alembic_config, make_engine
from clusterbook.store.percentiles import PERCENTILE_MEASURES

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_the_migrated_schema_has_a_column_for_every_declared_measure(engine: Engine) -> None:
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("executions")}
    for measure in MEASURES:
        assert measure.column in columns, f"no migration adds the column of the declared measure {measure.name!r}"
        assert columns[measure.column]["nullable"], measure.name
        kind = columns[measure.column]["type"]
        assert isinstance(kind, sa.Integer if measure.kind == "integer" else sa.Float), (measure.name, kind)


def test_every_measure_with_percentiles_has_an_index_keyed_by_cluster_and_value(engine: Engine) -> None:
    """Exact percentiles walk an index keyed ``(cluster_id, measure)`` (``store/percentiles.py``): a
    measure declared without one would read every matching row of the table instead."""
    leading = {tuple(ix["column_names"][:2]) for ix in sa.inspect(engine).get_indexes("executions")}
    missing = [m.name for m in PERCENTILE_MEASURES if ("cluster_id", m.column) not in leading]
    assert not missing, f"no index leads with (cluster_id, measure) for {missing}: add one in the measure's migration"


@pytest.fixture
def unmigrated(unmigrated_url: str) -> Iterator[Engine]:
    """An empty database (its own SQLite file or PostgreSQL schema), not migrated yet."""
    engine = make_engine(unmigrated_url)
    yield engine
    engine.dispose()


def _old_row(n: int, status: str, queued_s: float | None, ran_s: float | None) -> dict[str, object]:
    started = None if queued_s is None else T0 + timedelta(seconds=queued_s)
    completed = None if ran_s is None else (started or T0) + timedelta(seconds=ran_s)
    return {
        "run_id": f"run_mig{n:02d}",
        "namespace_id": "ns_default",
        "cluster_id": "clust_mig",
        "status": status,
        "num_clusters": 0,
        "num_points": 0,
        "created_at": T0,
        "started_at": started,
        "completed_at": completed,
        # what the old code stored: completed - created, queue time included
        "duration_ms": None if completed is None else (completed - T0).total_seconds() * 1000,
        "search_text": f"run_mig{n:02d}",
    }


def test_migration_0006_rewrites_durations_as_execution_time_and_adds_queue_time(unmigrated: Engine) -> None:
    config = alembic_config(unmigrated)
    command.upgrade(config, "0004")
    # the old schema, reflected: exactly what a 0004 database holds
    old = sa.Table("executions", sa.MetaData(), autoload_with=unmigrated)
    clusters = sa.Table("clusters", sa.MetaData(), autoload_with=unmigrated)
    rows = [
        _old_row(1, "completed", queued_s=112.0, ran_s=1.4),  # the DBSCAN run: 1.4 s, not 1 min 53 s
        _old_row(2, "failed", queued_s=0.5, ran_s=30.0),
        _old_row(3, "canceled", queued_s=None, ran_s=60.0),  # canceled while pending: never ran
        _old_row(4, "pending", queued_s=None, ran_s=None),
        _old_row(5, "processing", queued_s=2.0, ran_s=None),
    ]
    with unmigrated.begin() as conn:
        conn.execute(
            clusters.insert().values(
                cluster_id="clust_mig", namespace_id="ns_default", cluster_name="mig", cluster_type="vector",
                collection_ids=[], created_at=T0, updated_at=T0,
            )
        )  # fmt: skip
        conn.execute(old.insert(), rows)
    config.attributes["migration_batch_rows"] = 2  # fewer than the rows, so every batch boundary is crossed
    command.upgrade(config, "head")
    with unmigrated.connect() as conn:
        got = {
            r.run_id: (r.duration_ms, r.queue_ms)
            for r in conn.execute(sa.text("SELECT run_id, duration_ms, queue_ms FROM executions"))
        }
    assert got["run_mig01"] == (pytest.approx(1400, abs=1), pytest.approx(112_000, abs=1))
    assert got["run_mig02"] == (pytest.approx(30_000, abs=1), pytest.approx(500, abs=1))
    assert got["run_mig03"] == (None, None)
    assert got["run_mig04"] == (None, None)
    assert got["run_mig05"] == (None, pytest.approx(2000, abs=1))
    command.downgrade(config, "0004")
    with unmigrated.connect() as conn:
        back = dict(conn.execute(sa.text("SELECT run_id, duration_ms FROM executions")).all())
    assert back["run_mig01"] == pytest.approx(113_400, abs=1) and back["run_mig03"] == pytest.approx(60_000, abs=1)
