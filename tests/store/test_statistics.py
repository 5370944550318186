"""Planner statistics: the SQLite planner needs them to pick the search and sort indexes at scale."""

from __future__ import annotations

import sqlalchemy as sa

from clusterbook.store.db import make_engine, make_sessionmaker, migrate, refresh_statistics
from tests.factories import make_cluster, make_history


def _executions_stats(engine) -> dict[str, str]:
    with engine.connect() as conn:
        if not conn.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar():
            return {}
        return dict(conn.execute(sa.text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'executions'")).all())


def test_server_start_analyzes_a_history_sqlite_has_never_analyzed(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    migrate(engine)
    refresh_statistics(engine)  # empty database: nothing to learn yet
    assert _executions_stats(engine) == {}
    factory = make_sessionmaker(engine)
    make_history(factory, make_cluster(factory), 25)
    refresh_statistics(engine)
    assert _executions_stats(engine)["ix_executions_cluster_created"].startswith("25 ")
    engine.dispose()
