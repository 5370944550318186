"""Property tests of the rollups against the exact SQL, on SQLite and PostgreSQL.

Hypothesis draws small histories (statuses, algorithms with case variants and nulls, timestamps
over a few days with ragged minutes, nullable durations and metrics), writes them through both
insert paths (one row at a time: the row/statement triggers; in bulk: the paused trigger + one
grouped statement, or COPY), then walks them through lifecycles (claim, complete, fail, cancel,
requeue) and deletes. Afterwards every rollup answer — the total, ``stats_scope: "all"``, trends by
hour/day/week with and without a UTC offset, the overview counts — must equal the exact query over
the same rows (medians: within the declared histogram bound), and the maintained rollup table must
equal a rebuild from scratch.
"""

from __future__ import annotations

import itertools
import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.listing import ListClusterExecutionsRequest
from clusterbook.store import rollup_schema, rollups
from clusterbook.store.clusters import create_cluster, delete_cluster
from clusterbook.store.executions import (
    aggregate_stats,
    execution_values,
    insert_executions,
    list_executions,
)
from clusterbook.store.fields import EXECUTION_FIELDS
from clusterbook.store.listing import ListQuery, PageRequest, compile_query
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.overview import list_cluster_overviews
from clusterbook.store.rollup_columns import AGG_NAMES, BIN_RATIO, HIST_LOW_MS
from clusterbook.store.tables import execution_rollups, executions
from clusterbook.store.trends import execution_trends

BASE = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
STATUSES = ("pending", "processing", "completed", "failed", "canceled")
ALGORITHMS = (None, "kmeans", "KMeans", "hdbscan")
_tags = itertools.count()
SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

runs = st.fixed_dictionaries(
    {
        "minutes": st.integers(0, 4 * 24 * 60),
        "seconds": st.integers(0, 59),
        "status": st.sampled_from(STATUSES),
        "algorithm": st.sampled_from(ALGORITHMS),
        "duration": st.none() | st.floats(20, 1_000_000, allow_nan=False),
        "silhouette": st.none() | st.floats(-1, 1, allow_nan=False),
        "num_points": st.integers(0, 300_000),
        "num_clusters": st.integers(0, 12),
        "noise": st.none() | st.integers(0, 100_000),
    }
)
# (operation, index into the history): lifecycles and deletes after the history is written
operations = st.lists(
    st.tuples(st.sampled_from(("claim", "complete", "fail", "cancel", "requeue", "delete")), st.integers(0, 10_000)),
    max_size=12,
)
time_points = st.integers(-120, 5 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m, seconds=m % 7))
status_trees = st.sampled_from(
    [
        None,
        {"status": "completed"},
        {"status": {"in": ["completed", "failed"]}},
        {"status": {"ne": "canceled"}},
        {"algorithm": "kmeans"},
        {"field": "algorithm", "operator": "eq", "value": "KMeans", "case_sensitive": True},
        {"algorithm": {"is_null": True}},
        {"algorithm": {"nin": ["hdbscan"]}},
        {"OR": [{"status": "failed"}, {"algorithm": "hdbscan"}]},
        {"NOT": [{"status": "pending"}]},
    ]
)


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any] | None:
    tree = draw(status_trees)
    bounds = []
    for op in ("gt", "gte", "lt", "lte"):
        if draw(st.booleans()) and draw(st.booleans()):
            bounds.append({"field": "created_at", "operator": op, "value": draw(time_points).isoformat()})
    if not bounds:
        return tree
    return {"operator": "AND", "conditions": [*bounds, *([tree] if tree else [])]}


def _query(raw: dict[str, Any] | None) -> ListQuery:
    request = ListClusterExecutionsRequest.model_validate({"filters": raw} if raw is not None else {})
    return ListQuery(request.filter_tree(), None, (), request.filters)


def _row(ns: str, cid: str, run: dict[str, Any]) -> dict[str, Any]:
    created = BASE + timedelta(minutes=run["minutes"], seconds=run["seconds"], microseconds=run["minutes"] * 17)
    started = None if run["status"] == "pending" else created + timedelta(seconds=1)
    completed = (
        started + timedelta(milliseconds=run["duration"] or 0)
        if run["status"] in ("completed", "failed", "canceled") and started
        else None
    )
    return execution_values(
        namespace_id=ns,
        cluster_id=cid,
        status=run["status"],
        algorithm=run["algorithm"],
        created_at=created,
        started_at=started,
        completed_at=completed,
        duration_ms=run["duration"] if completed else None,
        num_points=run["num_points"],
        num_clusters=run["num_clusters"],
        metrics={"silhouette_score": run["silhouette"], "noise_points": run["noise"]},
    )


def _apply(session: Session, ids: list[str], op: str, index: int) -> None:
    if not ids:
        return
    run_id = ids[index % len(ids)]
    where = executions.c.run_id == run_id
    now = BASE + timedelta(days=6)
    changes: dict[str, dict[str, Any]] = {
        "claim": {"status": "processing", "started_at": now, "queue_ms": 5.0},
        "complete": {"status": "completed", "duration_ms": 1234.5 + index, "silhouette_score": 0.5, "num_clusters": 4},
        "fail": {"status": "failed", "duration_ms": 77.0 + index, "silhouette_score": None},
        "cancel": {"status": "canceled", "duration_ms": None},
        "requeue": {"status": "pending", "started_at": None, "duration_ms": None},
    }
    if op == "delete":
        session.execute(delete(executions).where(where))
        ids.remove(run_id)
    else:
        session.execute(update(executions).where(where).values(**changes[op]))


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal up to float error. A maintained sum that once held a large term (a square of 10^6 ms)
    keeps an absolute error of about 1e-16 times that term after it is subtracted again, so the
    tolerance scales with the largest sum the column held (1e-13 of it: far below any one run's
    contribution, far above the rounding of a few dozen additions)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=max(1e-6, 1e-13 * scale))


def _scales(*tables: dict[tuple[Any, ...], tuple[float, ...]]) -> list[float]:
    """Per rollup column, the largest magnitude it held in any of ``tables``."""
    scales = [0.0] * len(AGG_NAMES)
    for table in tables:
        for values in table.values():
            scales = [max(s, abs(v or 0)) for s, v in zip(scales, values, strict=True)]
    return scales


def _rollup_table(session: Session, cid: str) -> dict[tuple[Any, ...], tuple[float, ...]]:
    r = execution_rollups.c
    rows = session.execute(
        select(r.grain, r.bucket_start, r.status, r.algorithm_key, *(r[n] for n in AGG_NAMES)).where(
            r.cluster_id == cid, r.n != 0
        )
    )
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "row"])
@SETTINGS
@given(history=st.lists(runs, max_size=40), ops=operations, requests=st.lists(filters(), min_size=1, max_size=4))
def test_rollup_answers_equal_the_exact_sql(
    session_factory: sessionmaker[Session],
    bulk: bool,
    history: list[dict[str, Any]],
    ops: list[Any],
    requests: list[Any],
) -> None:
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        cluster = create_cluster(session, namespace_id=ns, data=ClusterCreate(cluster_name=f"roll-{next(_tags)}"))
        cid = cluster.cluster_id
        rows = [_row(ns, cid, run) for run in history]
        if bulk:
            insert_executions(session, rows)
        else:
            for row in rows:  # one INSERT per run, as POST …/execute does
                session.execute(insert(executions).values(**row))
    ids = [row["run_id"] for row in rows]
    with session_factory() as session:
        before = _rollup_table(session, cid)
    for op, index in ops:  # one transaction per transition, as the runner does
        with session_factory() as session, session.begin():
            _apply(session, ids, op, index)

    with session_factory() as session, session.begin():
        maintained = _rollup_table(session, cid)
        rollup_schema.rebuild(session, cluster_id=cid)
        rebuilt = _rollup_table(session, cid)
        assert maintained.keys() == rebuilt.keys()
        scales = _scales(before, maintained, rebuilt)
        for key, values in rebuilt.items():
            differ = [
                (name, a, b)
                for name, a, b, scale in zip(AGG_NAMES, maintained[key], values, scales, strict=True)
                if not _close(a, b, scale)
            ]
            assert not differ, (key, differ)

        overview = list_cluster_overviews(session, namespace_id=ns, cluster_ids=[cid])[0]
        exact_counts = dict(
            session.execute(
                select(executions.c.status, text("count(*)"))
                .where(executions.c.cluster_id == cid)
                .group_by(executions.c.status)
            ).all()
        )
        assert overview.runs_by_status == exact_counts
        assert overview.run_count == len(ids)

        for raw in requests:
            _check_request(session, cid, _query(raw))


def _check_request(session: Session, cid: str, query: ListQuery) -> None:
    compiled = compile_query(session, EXECUTION_FIELDS, executions.c.cluster_id == cid, query)
    exact = aggregate_stats(session, compiled.where)
    page = PageRequest(page=1, page_size=5, offset=0)
    listed = list_executions(session, cluster_id=cid, query=query, page=page)
    assert listed.total == exact.total_executions
    whole = list_executions(session, cluster_id=cid, query=query, page=page, stats_scope="all")
    assert whole.total == exact.total_executions
    got, want = whole.stats, exact
    assert got.executions_by_status == want.executions_by_status
    assert got.total_documents_clustered == want.total_documents_clustered
    assert _close(got.avg_execution_time_ms, want.avg_execution_time_ms)
    assert _close(got.avg_num_clusters, want.avg_num_clusters)
    for bucket in ("hour", "day", "week"):
        for offset in (0, 120, 330):
            _check_trends(session, cid, query, bucket, offset)


def _check_trends(session: Session, cid: str, query: ListQuery, bucket: Any, offset: int) -> None:
    args = {"cluster_id": cid, "query": query, "bucket": bucket, "utc_offset_minutes": offset}
    for group_by in (None, "status", "algorithm"):  # status and algorithm groups come from the rollups too
        exact = execution_trends(session, **args, exact_median_limit=10**12, group_by=group_by)
        served = execution_trends(session, **args, exact_median_limit=None, group_by=group_by)
        assert served.total_count == exact.total_count
        _same_buckets(served.buckets, exact.buckets, (bucket, offset, query.raw_filters))
        if group_by is None:
            assert served.groups is None and exact.groups is None
            continue
        assert served.groups is not None and exact.groups is not None
        assert [(g.key, g.total_count) for g in served.groups] == [(g.key, g.total_count) for g in exact.groups]
        assert sum(g.total_count for g in served.groups) == served.total_count
        for got_group, want_group in zip(served.groups, exact.groups, strict=True):
            _same_buckets(got_group.buckets, want_group.buckets, (group_by, got_group.key, bucket, offset))


def _same_buckets(served: list[Any], exact: list[Any], where: Any) -> None:
    assert [b.start for b in served] == [b.start for b in exact], where
    for got, want in zip(served, exact, strict=True):
        assert (got.total, got.by_status) == (want.total, want.by_status)
        for name in ("avg_duration_ms", "avg_silhouette_score", "avg_num_clusters"):
            g, w = getattr(got, name), getattr(want, name)
            assert (g is None) == (w is None) and (g is None or _close(g, w)), name
        g, w = got.p50_duration_ms, want.p50_duration_ms
        assert (g is None) == (w is None)
        if g is not None and w is not None:  # the declared bound: one bin (a factor 2^(1/4)), or 16 ms below 16 ms
            assert w / BIN_RATIO - 1e-6 <= g <= w * BIN_RATIO + 1e-6 or abs(g - w) <= HIST_LOW_MS, (g, w)


def test_deleting_a_cluster_removes_its_rollups(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        cid = create_cluster(session, namespace_id=ns, data=ClusterCreate(cluster_name="gone")).cluster_id
        insert_executions(session, [_row(ns, cid, {"minutes": m, "seconds": 0, "status": "completed", "algorithm": "kmeans",
                                                   "duration": 100.0, "silhouette": 0.1, "num_points": 3,
                                                   "num_clusters": 2, "noise": None}) for m in range(0, 300, 7)])  # fmt: skip
        assert _rollup_table(session, cid)
        delete_cluster(session, cluster_id=cid)
        left = session.execute(select(text("count(*)")).select_from(execution_rollups).where(
            execution_rollups.c.cluster_id == cid)).scalar_one()  # fmt: skip
        assert left == 0
        assert rollups.overview_counts(session, [cid]) == {cid: {}}


def test_concurrent_completions_in_one_bucket_lose_no_update(session_factory: sessionmaker[Session]) -> None:
    """Writers completing runs of the same hour at once (PostgreSQL: truly concurrent transactions,
    each upserting the same rollup rows) leave the rollups equal to a rebuild."""
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        cid = create_cluster(session, namespace_id=ns, data=ClusterCreate(cluster_name="busy")).cluster_id
        rows = [
            _row(ns, cid, {"minutes": 60, "seconds": i % 60, "status": "processing", "algorithm": "kmeans",
                           "duration": None, "silhouette": None, "num_points": 10, "num_clusters": 0, "noise": None})
            for i in range(48)
        ]  # fmt: skip
        insert_executions(session, rows)
    ids = [row["run_id"] for row in rows]
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def complete(mine: list[str]) -> None:
        try:
            barrier.wait()
            for run_id in mine:
                with session_factory() as session, session.begin():
                    session.execute(
                        update(executions)
                        .where(executions.c.run_id == run_id)
                        .values(status="completed", duration_ms=500.0, num_clusters=3, silhouette_score=0.4)
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=complete, args=(ids[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with session_factory() as session, session.begin():
        maintained = _rollup_table(session, cid)
        rollup_schema.rebuild(session, cluster_id=cid)
        assert maintained == _rollup_table(session, cid)
        assert rollups.overview_counts(session, [cid]) == {cid: {"completed": 48}}


@pytest.mark.parametrize(
    "raw",
    [
        {"field": "created_at", "operator": "gt", "value": "9999-12-31T23:59:59"},
        {"field": "created_at", "operator": "lte", "value": "9999-12-31T23:59:59.999999"},
        {"field": "created_at", "operator": "lt", "value": "0001-01-01T00:00:00"},
        {"field": "created_at", "operator": "gte", "value": "0001-01-01"},
        {"field": "created_at", "operator": "gte", "value": "2026-03-02T01:30:00+05:30"},
    ],
)
def test_extreme_created_at_bounds_keep_the_exact_total(session_factory: sessionmaker[Session], raw: Any) -> None:
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        cid = create_cluster(session, namespace_id=ns, data=ClusterCreate(cluster_name="edges")).cluster_id
        insert_executions(session, [_row(ns, cid, {"minutes": m, "seconds": 1, "status": "failed", "algorithm": None,
                                                   "duration": 50.0, "silhouette": None, "num_points": 2,
                                                   "num_clusters": 0, "noise": None}) for m in range(0, 3000, 13)])  # fmt: skip
        _check_request(session, cid, _query(raw))


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "row"])
def test_a_large_square_subtracted_again_leaves_only_float_error(
    session_factory: sessionmaker[Session], bulk: bool
) -> None:
    """Found by the property test: deleting a canceled run of 10^6 ms beside one of 20 ms leaves the
    maintained sum of squares 3e-5 from the rebuilt 412.09 (rounding of 10^12), not a wrong sum."""
    run = {"status": "canceled", "algorithm": "kmeans", "silhouette": None, "num_points": 5, "num_clusters": 0}
    history = [run | {"minutes": 1, "seconds": 1, "duration": 999_999.7, "noise": None},
               run | {"minutes": 2, "seconds": 2, "duration": 20.3, "noise": None}]  # fmt: skip
    check = test_rollup_answers_equal_the_exact_sql.hypothesis.inner_test  # type: ignore[attr-defined]
    check(session_factory, bulk, history, [("delete", 0)], [None])
