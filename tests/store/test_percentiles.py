"""Percentiles of a whole filtered history (``store/percentiles.py``) are exact — numpy's linear
percentile of the same values — for any history, filter and percentile, and (SQLite) read from the
per-measure index rather than the table rows; on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import and_, event
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.store.executions import execution_values, insert_executions
from clusterbook.store.percentiles import EXECUTION_TIME, PERCENTILE_MEASURES, percentiles
from clusterbook.store.tables import executions
from tests.factories import BASE_TIME, make_cluster, make_collection

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
runs = st.lists(
    st.fixed_dictionaries(
        {
            "status": st.sampled_from(["completed", "failed", "canceled", "pending"]),
            "seconds": st.sampled_from([0.5, 1.0, 1.0, 2.25, 7.0, 30.0, 61.5]),  # ties on purpose
            "silhouette": st.one_of(st.none(), st.floats(-1, 1, allow_nan=False).map(lambda v: round(v, 3))),
        }
    ),
    max_size=25,
)
wanted = st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=4, unique=True)


def _expected(values: list[float], ps: list[float]) -> dict[str, float | None]:
    from clusterbook.store.percentiles import label_of

    if not values:
        return {label_of(p): None for p in ps}
    found = np.percentile(np.array(values, dtype=np.float64), ps, method="linear")
    return {label_of(p): float(v) for p, v in zip(ps, found, strict=True)}


@given(history=runs, ps=wanted)
@SETTINGS
def test_percentiles_equal_numpy_on_the_same_values(session_factory: sessionmaker[Session], history, ps) -> None:
    name = f"pct-{uuid.uuid4().hex}"  # hypothesis seeds `random`, which the factories' names come from
    collection = make_collection(session_factory, collection_name=name)
    cluster = make_cluster(session_factory, cluster_name=name, collection_ids=[collection.collection_id])
    rows = []
    for i, run in enumerate(history):
        created = BASE_TIME + timedelta(minutes=i)
        ended = run["status"] != "pending"
        fields: dict[str, Any] = {
            "status": run["status"],
            "created_at": created,
            "started_at": created if ended else None,
            "completed_at": created + timedelta(seconds=run["seconds"]) if ended else None,
            "num_clusters": 2,
            "num_points": 10,
        }
        if run["status"] == "completed" and run["silhouette"] is not None:
            fields["metrics"] = {"silhouette_score": run["silhouette"]}
        rows.append(execution_values(namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, **fields))
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    finished = [r["seconds"] * 1000 for r in history if r["status"] in ("completed", "failed")]  # not canceled
    silhouettes = [r["silhouette"] for r in history if r["status"] == "completed" and r["silhouette"] is not None]
    with session_factory() as session:
        got = percentiles(session, executions.c.cluster_id == cluster.cluster_id, ps)
        failed_only = percentiles(
            session, and_(executions.c.cluster_id == cluster.cluster_id, executions.c.status == "failed"), ps
        )
    assert got[EXECUTION_TIME] == pytest.approx(_expected(finished, ps))
    assert got["metrics.silhouette_score"] == pytest.approx(_expected(silhouettes, ps))
    assert got["metrics.stability"] == _expected([], ps)
    failed = [r["seconds"] * 1000 for r in history if r["status"] == "failed"]
    assert failed_only[EXECUTION_TIME] == pytest.approx(_expected(failed, ps))
    assert set(got) == {m.name for m in PERCENTILE_MEASURES}


def test_percentiles_walk_the_measure_index_not_the_table_rows(session_factory, engine) -> None:
    """SQLite: every walk goes along an ``ix_executions_pct_*`` index and every count reads an index,
    never the table rows nor a sort (a table read crosses each run's overflow pages: 11-17 s at 100k
    runs before)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("query plans are SQLite's here; PostgreSQL picks by statistics")
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, status="completed",
            created_at=BASE_TIME + timedelta(minutes=i), started_at=BASE_TIME + timedelta(minutes=i),
            completed_at=BASE_TIME + timedelta(minutes=i, seconds=i % 7 + 1), num_clusters=2, num_points=10,
            metrics={"silhouette_score": (i % 10) / 10},
        )
        for i in range(50)
    ]  # fmt: skip
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        with session_factory() as session:
            got = percentiles(session, executions.c.cluster_id == cluster.cluster_id, [50, 95])
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert got["metrics.silhouette_score"] == pytest.approx({"50": 0.45, "95": 0.9})
    with engine.connect() as conn:
        driver: Any = conn.connection.driver_connection
        selects = [(statement, parameters) for statement, parameters in seen if statement.startswith("SELECT")]
        assert len(selects) == len(PERCENTILE_MEASURES) + 4  # a count each; two walks each for time and silhouette
        for statement, parameters in selects:
            plan = " ".join(str(r[3]) for r in driver.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
            from_an_index = "ix_executions_pct_" in plan or "COVERING INDEX" in plan
            assert from_an_index and "SCAN" not in plan and "TEMP B-TREE" not in plan, (statement, plan)
            if "ORDER BY" in statement:  # a walk: the measure's own index, in its order
                assert "ix_executions_pct_" in plan, (statement, plan)
