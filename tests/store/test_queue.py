"""The run queue on both databases: claims are exclusive, every later transition is guarded by the
attempt token, dead workers' runs are requeued a bounded number of times, and nothing is lost."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.store.db import make_sessionmaker, transaction
from clusterbook.store.executions import cancel_execution, read_execution
from clusterbook.store.queue import (
    RunOutcome,
    claim_next_execution,
    complete_execution,
    fail_execution,
    reap_expired_leases,
    release_execution,
    renew_lease,
    submit_execution,
)
from clusterbook.store.tables import execution_members, executions
from tests.factories import BASE_TIME, make_cluster


@pytest.fixture
def writes(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine, writes=True)


@pytest.fixture
def cluster(session_factory: sessionmaker[Session]) -> Cluster:
    return make_cluster(session_factory)


def submit(writes: sessionmaker[Session], cluster: Cluster, n: int = 1) -> list[str]:
    ids = []
    with transaction(writes) as session:
        for i in range(n):
            run = submit_execution(
                session,
                namespace_id=cluster.namespace_id,
                cluster_id=cluster.cluster_id,
                config={"algorithm": "kmeans", "params": {"n_clusters": 2}},
            )
            # distinct, increasing creation times: the queue is first in, first out
            session.execute(
                update(executions)
                .where(executions.c.run_id == run.run_id)
                .values(created_at=BASE_TIME + timedelta(seconds=i))
            )
            ids.append(run.run_id)
    return ids


def claim(writes: sessionmaker[Session], lease: float = 30.0):  # type: ignore[no-untyped-def]
    with transaction(writes) as session:
        return claim_next_execution(session, worker_id="test-host:1", lease_seconds=lease)


def status_of(writes: sessionmaker[Session], cluster: Cluster, run_id: str) -> str:
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
        assert run is not None
        return str(run.status)


def outcome() -> RunOutcome:
    return RunOutcome(
        num_clusters=2,
        num_points=3,
        metrics={
            "silhouette_score": 0.5,
            "davies_bouldin_index": 0.7,
            "calinski_harabasz_score": 12.0,
            "noise_points": 0,
        },
        centroids=[
            {"cluster_id": "cl_0", "num_members": 2, "label": "alpha", "summary": "a", "keywords": ["alpha"]},
            {"cluster_id": "cl_1", "num_members": 1, "label": "beta", "summary": "b", "keywords": ["beta"]},
        ],
        llm_labeling_errors=[],
        config={"algorithm": "kmeans", "params": {"n_clusters": 2}, "num_documents": 3},
        details={"timings_ms": {"cluster": 1.5}, "metric_notes": {}},
        member_ids=["d1", "d2", "d3"],
        member_clusters=["cl_0", "cl_0", "cl_1"],
        member_distances=[0.1, 0.2, 0.0],
        projection={"points": [], "centroids": [], "sampled": 0, "total": 3},
    )


def test_claims_oldest_first_and_each_run_once(writes, cluster) -> None:
    ids = submit(writes, cluster, 3)
    claims = [claim(writes) for _ in range(4)]
    assert [c.run_id for c in claims[:3]] == ids
    assert claims[3] is None
    assert all(c.attempt == 1 and len(c.token) == 32 for c in claims[:3])
    assert claims[0].config == {"algorithm": "kmeans", "params": {"n_clusters": 2}}
    assert {status_of(writes, cluster, i) for i in ids} == {"processing"}
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=ids[0])
        assert run is not None and run.started_at is not None and run.attempts == 1


def test_lease_renewal_needs_the_current_token_and_a_live_run(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    held = claim(writes)
    with transaction(writes) as session:
        assert renew_lease(session, run_id=run_id, token=held.token, lease_seconds=30)
        assert not renew_lease(session, run_id=run_id, token="0" * 32, lease_seconds=30)
        cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    with transaction(writes) as session:
        assert not renew_lease(session, run_id=run_id, token=held.token, lease_seconds=30)


def test_completion_writes_everything_once_and_only_for_the_holder(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    held = claim(writes)
    with transaction(writes) as session:
        assert not complete_execution(session, run_id=run_id, token="f" * 32, outcome=outcome())
    with transaction(writes) as session:
        assert session.execute(select(func.count()).select_from(execution_members)).scalar_one() == 0
        assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
    with transaction(writes) as session:
        # terminal states never change: neither a second completion nor a failure lands
        assert not complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
        assert not fail_execution(session, run_id=run_id, token=held.token, message="late")
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
        members = session.execute(
            select(execution_members.c.document_id, execution_members.c.cluster_id).order_by("document_id")
        ).all()
    assert run is not None and run.status == "completed"
    assert run.metrics is not None and run.metrics.silhouette_score == 0.5 and run.metrics.noise_points == 0
    assert [c.label for c in run.centroids or []] == ["alpha", "beta"]
    assert run.completed_at is not None and run.duration_ms is not None and run.duration_ms >= 0
    assert run.config == {"algorithm": "kmeans", "params": {"n_clusters": 2}, "num_documents": 3}
    assert run.timings_ms == {"cluster": 1.5}
    assert [tuple(m) for m in members] == [("d1", "cl_0"), ("d2", "cl_0"), ("d3", "cl_1")]


def test_a_canceled_run_cannot_be_completed_by_its_worker(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    held = claim(writes)
    with transaction(writes) as session:
        cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    with transaction(writes) as session:
        assert not complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
    assert status_of(writes, cluster, run_id) == "canceled"


def test_failure_records_message_and_traceback(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    held = claim(writes)
    with transaction(writes) as session:
        assert fail_execution(
            session, run_id=run_id, token=held.token, message="Insufficient documents", traceback="tb"
        )
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.status == "failed"
    assert run.error_message == "Insufficient documents" and run.error_traceback == "tb"
    assert run.completed_at is not None


def test_a_dying_process_is_retried_until_the_attempt_limit(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    statuses = []
    for _ in range(3):
        held = claim(writes)
        assert held is not None and held.run_id == run_id
        with transaction(writes) as session:
            statuses.append(
                release_execution(session, run_id=run_id, token=held.token, reason="killed by SIGKILL", max_attempts=3)
            )
    assert statuses == ["pending", "pending", "failed"]
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.attempts == 3
    assert run.error_message is not None and "Worker lost" in run.error_message and "SIGKILL" in run.error_message
    assert claim(writes) is None


def test_a_refunded_release_does_not_use_an_attempt(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    held = claim(writes)
    with transaction(writes) as session:
        assert (
            release_execution(session, run_id=run_id, token=held.token, reason="shutdown", max_attempts=1, refund=True)
            == "pending"
        )
    again = claim(writes)
    assert again is not None and again.run_id == run_id and again.attempt == 1


def test_reaper_requeues_lapsed_leases_and_fails_runs_out_of_attempts(writes, cluster) -> None:
    lapsed, exhausted, alive = submit(writes, cluster, 3)
    claims = {c.run_id: c for c in (claim(writes), claim(writes), claim(writes))}
    past = datetime.now(UTC) - timedelta(seconds=5)
    with transaction(writes) as session:
        session.execute(
            update(executions).where(executions.c.run_id.in_([lapsed, exhausted])).values(lease_expires_at=past)
        )
        session.execute(update(executions).where(executions.c.run_id == exhausted).values(attempts=3))
    with transaction(writes) as session:
        reaped = reap_expired_leases(session, max_attempts=3)
    assert reaped.requeued == [lapsed] and reaped.failed == [exhausted]
    assert status_of(writes, cluster, lapsed) == "pending"
    assert status_of(writes, cluster, exhausted) == "failed"
    assert status_of(writes, cluster, alive) == "processing"
    # the old holder of the requeued run can no longer write to it
    with transaction(writes) as session:
        assert not complete_execution(session, run_id=lapsed, token=claims[lapsed].token, outcome=outcome())
    retried = claim(writes)
    assert retried is not None and retried.run_id == lapsed and retried.attempt == 2


def test_concurrent_claimers_take_each_run_exactly_once(writes, cluster) -> None:
    ids = submit(writes, cluster, 40)
    taken: list[str] = []
    lock = threading.Lock()

    def claimer() -> None:
        while (held := claim(writes)) is not None:
            with lock:
                taken.append(held.run_id)

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == sorted(ids)


def _ms(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() * 1000.0


def _read(writes: sessionmaker[Session], cluster: Cluster, run_id: str):  # type: ignore[no-untyped-def]
    with transaction(writes) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
        assert run is not None
        return run


def test_execution_time_leaves_out_the_queue_and_queue_time_is_kept_beside_it(writes, cluster) -> None:
    done, failed = submit(writes, cluster, 2)  # created at BASE_TIME, long before they are claimed
    for run_id in (done, failed):
        held = claim(writes)
        assert held is not None and held.run_id == run_id
        with transaction(writes) as session:
            if run_id == done:
                assert complete_execution(session, run_id=run_id, token=held.token, outcome=outcome())
            else:
                assert fail_execution(session, run_id=run_id, token=held.token, message="boom")
        run = _read(writes, cluster, run_id)
        assert run.started_at is not None and run.completed_at is not None
        assert run.queue_ms == pytest.approx(_ms(run.created_at, run.started_at))
        assert run.duration_ms == pytest.approx(_ms(run.started_at, run.completed_at))
        assert run.duration_ms < _ms(run.created_at, run.completed_at) - 1000, "the queue wait is not counted"


def test_a_run_canceled_while_pending_has_no_execution_or_queue_time(writes, cluster) -> None:
    processing, pending = submit(writes, cluster, 2)
    assert claim(writes).run_id == processing  # the older one is taken; the newer one stays queued
    with transaction(writes) as session:
        cancel_execution(session, cluster_id=cluster.cluster_id, run_id=pending)
        cancel_execution(session, cluster_id=cluster.cluster_id, run_id=processing)
    never_ran = _read(writes, cluster, pending)
    assert never_ran.status == "canceled" and never_ran.started_at is None
    assert never_ran.duration_ms is None and never_ran.queue_ms is None
    stopped = _read(writes, cluster, processing)
    assert stopped.status == "canceled"
    assert stopped.duration_ms == pytest.approx(_ms(stopped.started_at, stopped.completed_at))
    assert stopped.queue_ms == pytest.approx(_ms(stopped.created_at, stopped.started_at))


def test_a_requeued_run_counts_queue_time_to_its_last_claim(writes, cluster) -> None:
    (run_id,) = submit(writes, cluster)
    first = claim(writes)
    with transaction(writes) as session:
        assert release_execution(session, run_id=run_id, token=first.token, reason="test", max_attempts=3) == "pending"
    second = claim(writes)
    assert second is not None and second.run_id == run_id
    run = _read(writes, cluster, run_id)
    assert run.queue_ms == pytest.approx(_ms(run.created_at, run.started_at))
