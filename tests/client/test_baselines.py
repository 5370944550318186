"""The SDK chooses a run's baseline like the execute body does: left out, the cluster's latest
completed run (created before; runs still live or failed do not count); a run id; None for none; a run
that is not a completed run of the namespace is a ValidationFailed naming it, and no run is created.
No worker: the baseline is decided at submit, so the pending run already carries it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.client import Client, ValidationFailed
from clusterbook.models.clusters import Cluster
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_execution


def test_the_baseline_is_the_latest_completed_run_unless_named(
    client: Client, session_factory: sessionmaker[Session]
) -> None:
    cluster: Cluster = make_cluster(session_factory, cluster_name="based")
    older = make_execution(session_factory, cluster, **completed_fields(0)).run_id
    latest = make_execution(session_factory, cluster, **completed_fields(1)).run_id
    failed = make_execution(
        session_factory, cluster, status="failed", created_at=BASE_TIME + timedelta(hours=1), error_message="boom"
    ).run_id

    first = client.clusters.execute("based")
    assert first.baseline_run_id == latest and (first.config or {})["baseline_run_id"] == latest
    second = client.clusters.execute("based")
    assert second.baseline_run_id == latest, "a pending run is not a baseline"
    named = client.clusters.execute("based", baseline_run_id=older)
    assert named.baseline_run_id == older
    none = client.clusters.execute("based", baseline_run_id=None)
    assert none.baseline_run_id is None and (none.config or {})["baseline_run_id"] is None

    page = client.executions.list("based", filters={"baseline_run_id": latest})
    assert sorted(r.run_id for r in page.results) == sorted([first.run_id, second.run_id])
    before = client.executions.list("based").total_count
    for bad, why in ((failed, "is failed, not completed"), (first.run_id, "is pending, not completed")):
        with pytest.raises(ValidationFailed) as refused:
            client.clusters.execute("based", baseline_run_id=bad)
        assert f"baseline_run_id {bad!r} {why}" in refused.value.message
        assert refused.value.errors[0].loc == "baseline_run_id"
    assert client.executions.list("based").total_count == before


def test_a_run_of_another_namespace_is_not_a_baseline(client: Client, session_factory: sessionmaker[Session]) -> None:
    elsewhere = make_cluster(session_factory, namespace="elsewhere", cluster_name="theirs")
    theirs = make_execution(session_factory, elsewhere, **completed_fields(0)).run_id
    make_cluster(session_factory, cluster_name="ours")
    first = client.clusters.execute("ours")
    assert first.baseline_run_id is None, "the cluster's first run has no baseline"
    with pytest.raises(ValidationFailed, match="is not a run of this namespace"):
        client.clusters.execute("ours", baseline_run_id=theirs)
