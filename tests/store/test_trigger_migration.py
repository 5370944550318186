"""Migration 0021 on both databases: runs stored before it were all started over the API, so they
read back with ``trigger = 'api'`` (and its folded copy, which the history filters compare), and the
migration goes down again cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from clusterbook.store.db import alembic_config, make_engine

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_migration_0021_marks_stored_runs_as_started_over_the_api(unmigrated_url: str) -> None:
    engine = make_engine(unmigrated_url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0019")
        old = sa.Table("executions", sa.MetaData(), autoload_with=engine)
        clusters = sa.Table("clusters", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(
                clusters.insert().values(
                    cluster_id="clust_mig", namespace_id="ns_default", cluster_name="mig", cluster_type="vector",
                    collection_ids=[], created_at=T0, updated_at=T0,
                )
            )  # fmt: skip
            conn.execute(
                old.insert(),
                [
                    {"run_id": f"run_old{n}", "namespace_id": "ns_default", "cluster_id": "clust_mig",
                     "status": "completed", "num_clusters": 0, "num_points": 0, "created_at": T0,
                     "search_text": f"run_old{n}"}
                    for n in range(3)
                ],
            )  # fmt: skip
        command.upgrade(config, "head")
        with engine.connect() as conn:
            got = conn.execute(sa.text('SELECT run_id, "trigger", trigger_folded FROM executions')).all()
            tables = set(sa.inspect(conn).get_table_names())
        assert sorted(got) == [(f"run_old{n}", "api", "api") for n in range(3)]
        assert {"schedules", "schedule_firings"} <= tables
        command.downgrade(config, "0019")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("executions")}
            tables = set(sa.inspect(conn).get_table_names())
        assert "trigger" not in columns and "schedules" not in tables
    finally:
        engine.dispose()
