"""The seeder writes realistic, complete histories in bulk, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from clusterbook.models.listing import ListClusterExecutionsRequest
from clusterbook.runner.config import run_config_for
from clusterbook.store.executions import list_executions
from clusterbook.store.listing import ListQuery, PageRequest
from clusterbook.store.seed import seed


def _all_runs(session_factory, cluster_id, total):
    with session_factory() as session:
        page = list_executions(
            session,
            cluster_id=cluster_id,
            query=ListQuery(),
            page=PageRequest(1, total, 0),
        )
    return page.results


def live_config(cluster):
    return run_config_for(cluster, None)


def test_seed_writes_every_status_with_realistic_fields(engine, session_factory):
    # Several small batches, so the parallel batch generator is exercised too.
    report = seed(engine, executions_count=1200, clusters_count=2, batch_size=300, days=90, live_config=live_config)
    assert report.executions == 1200
    runs = [r for cid in report.cluster_ids for r in _all_runs(session_factory, cid, 1200)]
    assert len(runs) == 1200
    assert len({r.run_id for r in runs}) == 1200
    statuses = Counter(r.status for r in runs)
    assert set(statuses) == {"pending", "processing", "completed", "failed", "canceled"}
    assert statuses["completed"] > statuses["failed"] > 0
    span = max(r.created_at for r in runs) - min(r.created_at for r in runs)
    assert span.days >= 80
    for run in runs:
        assert run.created_at.tzinfo is not None
        if run.status == "completed":
            assert run.metrics is not None and run.centroids
            assert len(run.centroids) == run.num_clusters
            assert [c.cluster_id for c in run.centroids] == [f"cl_{i}" for i in range(run.num_clusters)]
            assert all(c.label and c.summary and c.keywords for c in run.centroids)
        if run.status == "failed":
            assert run.error_message and run.metrics is None
            # only an unexpected failure has a traceback, as on a real run
            assert (run.error_traceback is not None) == run.error_message.startswith("Out of memory"), run
        if run.status in ("pending", "processing"):
            assert run.config is not None and run.config["algorithm"] == run.algorithm == "kmeans"
        if run.status in ("completed", "failed", "canceled"):
            assert run.completed_at is not None
        else:
            assert run.completed_at is None
        if run.started_at is not None:  # execution time and queue time, consistent with the timestamps
            assert run.queue_ms == pytest.approx((run.started_at - run.created_at).total_seconds() * 1000)
            if run.completed_at is not None:
                assert run.duration_ms == pytest.approx((run.completed_at - run.started_at).total_seconds() * 1000)
                assert run.duration_ms > 0
        else:  # never started (pending, or canceled while pending): neither time exists
            assert run.status in ("pending", "canceled") and run.duration_ms is None and run.queue_ms is None
    canceled = [r for r in runs if r.status == "canceled"]
    assert any(r.started_at is None for r in canceled) and any(r.started_at is not None for r in canceled)
    assert len({r.num_points for r in runs}) > 100


def test_seeded_rows_are_searchable(engine, session_factory):
    report = seed(engine, executions_count=200, clusters_count=1)
    with session_factory() as session:
        page = list_executions(
            session,
            cluster_id=report.cluster_ids[0],
            query=ListQuery(terms=tuple(ListClusterExecutionsRequest(search="Insufficient DOCUMENTS").search_terms())),
            page=PageRequest(1, 100, 0),
        )
    assert page.total > 0
    assert all("insufficient documents" in (r.error_message or "").lower() for r in page.results)


def test_seed_is_repeatable_for_the_same_random_seed(tmp_path):
    from clusterbook.store.db import make_engine, make_sessionmaker, migrate

    def fingerprint(path):
        engine = make_engine(f"sqlite:///{path}")
        migrate(engine)
        factory = make_sessionmaker(engine)
        report = seed(engine, executions_count=50, clusters_count=1, random_seed=3)
        runs = _all_runs(factory, report.cluster_ids[0], 50)
        engine.dispose()
        return [(r.run_id, r.status, r.num_points) for r in runs]

    assert fingerprint(tmp_path / "a.db") == fingerprint(tmp_path / "b.db")


def test_seeded_failures_agree_with_their_runs(engine, session_factory):
    report = seed(engine, executions_count=1500, clusters_count=1, batch_size=1500)
    failed = [r for r in _all_runs(session_factory, report.cluster_ids[0], 1500) if r.status == "failed"]
    assert len(failed) > 50
    for run in failed:
        message = run.error_message or ""
        if message.startswith("Insufficient documents"):
            assert run.num_points == 1
        if message.startswith(("Out of memory", "Timed out")):
            assert f"{run.num_points:,} points" in message
            assert run.algorithm in message
        if message.startswith("hdbscan"):
            assert run.algorithm == "hdbscan"


def test_without_a_live_config_every_seeded_run_is_terminal(engine, session_factory):
    report = seed(engine, executions_count=1000, clusters_count=1, batch_size=1000)
    statuses = Counter(r.status for r in _all_runs(session_factory, report.cluster_ids[0], 1000))
    assert set(statuses) == {"completed", "failed", "canceled"}


def test_batches_are_generated_at_most_a_window_ahead_of_the_inserts():
    """A slow database must not let the generator run ahead through every batch (all of them in memory)."""
    from multiprocessing.pool import ThreadPool

    from clusterbook.store.seed import BatchPlan, bounded_imap, generate_batch

    class CountingPool(ThreadPool):
        submitted = 0

        def apply_async(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            CountingPool.submitted += 1
            return super().apply_async(*args, **kwargs)

    plan = BatchPlan("ns", ("clust_a",), (None,), 1000, 100, 30, datetime(2026, 1, 1, tzinfo=UTC), 7)
    jobs = [(plan, n) for n in range(10)]
    with CountingPool(2) as pool:
        batches = bounded_imap(pool, jobs, ahead=3)
        first = next(batches)
        assert CountingPool.submitted == 3  # one handed over, two in flight, seven not started
        rest = list(batches)
    assert CountingPool.submitted == 10
    assert [first, *rest] == [generate_batch(plan, n) for n in range(10)]  # in order, none lost
