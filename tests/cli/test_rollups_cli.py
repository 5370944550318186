"""``clusterbook rollups rebuild``: recomputes the rollups from the stored runs, on both databases."""

from __future__ import annotations

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from clusterbook.cli.main import app
from clusterbook.store.seed import seed


def _table(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT cluster_id, grain, bucket_start, status, algorithm_key, n, num_points_sum, duration_ms_n "
                    "FROM execution_rollups WHERE n <> 0 ORDER BY 1, 2, 3, 4, 5"
                )
            )
        )


def test_rebuild_recomputes_wiped_rollups(engine: Engine, db_url: str) -> None:
    seed(engine, executions_count=300, clusters_count=2)
    kept = _table(engine)
    assert sum(int(row[5]) for row in kept if row[1] == "all") == 300
    with engine.begin() as conn:
        conn.execute(text("UPDATE execution_rollups SET n = 0"))  # as if they had gone wrong
    result = CliRunner().invoke(app, ["rollups", "rebuild", "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    assert _table(engine) == kept
