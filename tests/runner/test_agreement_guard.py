"""Agreement lands with a run's completion, guarded by its attempt token: a canceled or reclaimed run
never gets it, and too small an overlap gives nulls with the reason. On both databases, through the
same store and runner functions the worker calls (``runner/compute.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.runner.agreement import relate_to_baseline
from clusterbook.store.executions import cancel_execution, read_execution
from clusterbook.store.queue import RunOutcome, claim_next_execution, complete_execution, submit_execution
from clusterbook.store.tables import execution_members
from tests.factories import completed_fields, make_cluster, make_execution
from tests.store.test_relation import add_members

BASELINE = {"a": "cl_0", "b": "cl_0", "c": "cl_1", "d": "cl_1", "e": None, "only-baseline": "cl_0"}
NEW = {"a": "cl_0", "b": "cl_0", "c": "cl_0", "d": "cl_1", "e": None, "only-new": "cl_1"}


def outcome(members: dict[str, str | None]) -> RunOutcome:
    sizes = {c: list(members.values()).count(c) for c in ("cl_0", "cl_1")}
    return RunOutcome(
        num_clusters=2,
        num_points=len(members),
        metrics={},
        centroids=[{"cluster_id": c, "num_members": n, "label": None, "keywords": []} for c, n in sizes.items()],
        llm_labeling_errors=[],
        config={"algorithm": "kmeans"},
        details={"timings_ms": {"cluster": 1.0}, "metric_notes": {}},
        member_ids=list(members),
        member_clusters=list(members.values()),
        member_distances=[0.0] * len(members),
    )


def submitted(factory: sessionmaker[Session], cluster: Cluster, baseline: str | None) -> tuple[str, str]:
    """A run submitted against ``baseline`` and claimed: (run id, attempt token)."""
    with factory() as session, session.begin():
        run = submit_execution(
            session,
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            config={"algorithm": "kmeans"},
            baseline_run_id=baseline,
        )
    with factory() as session, session.begin():
        claim = claim_next_execution(session, worker_id="test", lease_seconds=60)
    assert claim is not None and claim.run_id == run.run_id
    return run.run_id, claim.token


@pytest.fixture
def baseline(session_factory: sessionmaker[Session]) -> tuple[Cluster, str]:
    cluster = make_cluster(session_factory)
    fields: dict[str, Any] = completed_fields(0)
    fields["centroids"][0]["label"], fields["centroids"][1]["label"] = "Billing", "Shipping"
    run_id = make_execution(session_factory, cluster, **fields).run_id
    add_members(session_factory, run_id, BASELINE)
    return cluster, run_id


def complete_and_relate(
    factory: sessionmaker[Session], run_id: str, token: str, members: dict[str, str | None]
) -> bool:
    with factory() as session, session.begin():
        written = complete_execution(session, run_id=run_id, token=token, outcome=outcome(members))
        related = written and relate_to_baseline(session, run_id=run_id, token=token)
    return related


def test_the_completion_carries_the_agreement_computed_over_the_shared_documents(
    session_factory: sessionmaker[Session], baseline: tuple[Cluster, str]
) -> None:
    cluster, baseline_id = baseline
    run_id, token = submitted(session_factory, cluster, baseline_id)
    assert complete_and_relate(session_factory, run_id, token, NEW)
    with session_factory() as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.metrics is not None and run.centroids is not None
    shared = sorted(set(BASELINE) & set(NEW))
    left, right = [str(BASELINE[d]) for d in shared], [str(NEW[d]) for d in shared]
    assert run.metrics.agreement_ari == pytest.approx(adjusted_rand_score(left, right))
    assert run.metrics.agreement_ami == pytest.approx(adjusted_mutual_info_score(left, right))
    # matched: new cl_0 (a, b, c) ↔ baseline cl_0 (a, b); new cl_1 (d) ↔ baseline cl_1 (c, d); e noise in both
    assert run.metrics.matched_fraction == pytest.approx(4 / 5) and run.metrics.moved_documents == 1
    by_id = {c.cluster_id: c for c in run.centroids}
    assert (by_id["cl_0"].baseline_cluster_id, by_id["cl_0"].jaccard) == ("cl_0", pytest.approx(2 / 3))
    assert (by_id["cl_1"].baseline_cluster_id, by_id["cl_1"].jaccard) == ("cl_1", pytest.approx(1 / 2))
    assert (by_id["cl_0"].baseline_label, by_id["cl_1"].baseline_label) == ("Billing", "Shipping")
    assert run.timings_ms is not None and run.timings_ms["agreement"] >= 0 and run.timings_ms["cluster"] == 1.0
    assert not run.metrics.notes


def test_a_run_canceled_before_its_completion_never_gets_agreement(
    session_factory: sessionmaker[Session], baseline: tuple[Cluster, str]
) -> None:
    cluster, baseline_id = baseline
    run_id, token = submitted(session_factory, cluster, baseline_id)
    with session_factory() as session, session.begin():
        cancel_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert not complete_and_relate(session_factory, run_id, token, NEW)
    with session_factory() as session, session.begin():
        assert not relate_to_baseline(session, run_id=run_id, token=token)
    with session_factory() as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
        members = session.execute(select(execution_members.c.document_id).where(execution_members.c.run_id == run_id))
        assert members.all() == []
    assert run is not None and run.status == "canceled" and run.metrics is None and run.centroids is None


def test_another_attempt_cannot_write_agreement_onto_the_run(
    session_factory: sessionmaker[Session], baseline: tuple[Cluster, str]
) -> None:
    cluster, baseline_id = baseline
    run_id, token = submitted(session_factory, cluster, baseline_id)
    with session_factory() as session, session.begin():
        assert complete_execution(session, run_id=run_id, token=token, outcome=outcome(NEW))
    with session_factory() as session, session.begin():
        assert not relate_to_baseline(session, run_id=run_id, token="a stale attempt's token")
    with session_factory() as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.metrics is not None and run.metrics.agreement_ari is None
    assert run.centroids is not None and all(c.baseline_cluster_id is None for c in run.centroids)


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ({"a": "cl_0", "zz": "cl_1"}, "the runs share 1 document; agreement needs at least 2"),
        ({"y": "cl_0", "z": "cl_1"}, "the runs share no document"),
    ],
    ids=["one-shared", "none-shared"],
)
def test_too_small_an_overlap_gives_nulls_with_the_reason(
    session_factory: sessionmaker[Session], baseline: tuple[Cluster, str], members: dict[str, str], reason: str
) -> None:
    cluster, baseline_id = baseline
    run_id, token = submitted(session_factory, cluster, baseline_id)
    assert complete_and_relate(session_factory, run_id, token, members)
    with session_factory() as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=run_id)
    assert run is not None and run.metrics is not None and run.metrics.notes is not None
    for name in ("agreement_ari", "agreement_ami", "matched_fraction", "moved_documents"):
        assert run.metrics.value(name) is None
        assert run.metrics.notes[name] == f"{reason} (baseline run {baseline_id})"
