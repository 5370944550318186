"""How a run fails: an expected problem (bad or missing configuration, too few documents) ends the
run with a message that says cause and fix and no traceback; only an unexpected error keeps one.
The run's process body (``compute_run``) runs here in-process against the real database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.runner import compute
from clusterbook.runner.compute import ComputeSettings, compute_run
from clusterbook.runner.config import run_config_for
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.executions import create_execution, read_execution
from clusterbook.store.queue import claim_next_execution
from tests.factories import make_cluster, make_collection, make_documents


def cluster_with(factory: sessionmaker[Session], documents: int) -> Cluster:
    collection = make_collection(factory)
    if documents:
        docs = [{"document_id": f"d{i}", "vector": [float(i % 3), float(i)]} for i in range(documents)]
        make_documents(factory, collection, docs)
    return make_cluster(
        factory,
        collection_ids=[collection.collection_id],
        vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}},
    )


def run_with(db_url: str, engine: Engine, cluster: Cluster, config: Any) -> ClusterExecutionResult:
    """Queue a run carrying ``config`` as stored, claim it, and compute it as a worker's process would."""
    writes = make_sessionmaker(engine, writes=True)
    with writes() as session, session.begin():
        run = create_execution(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, config=config)
        claim = claim_next_execution(session, worker_id="test", lease_seconds=60)
    assert claim is not None and claim.run_id == run.run_id
    compute_run(claim, ComputeSettings(database_url=db_url, busy_timeout_ms=30_000))
    with writes() as session:
        done = read_execution(session, cluster_id=cluster.cluster_id, run_id=run.run_id)
    assert done is not None
    return done


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (None, "This run has no configuration to run with"),
        ({}, "This run has no configuration to run with"),
        ({"params": {"n_clusters": 3}}, "configuration is not usable (algorithm: Field required)"),
        (
            {"algorithm": "kmeans", "params": "n_clusters=3", "random_state": "seven"},
            "configuration is not usable (params: Input should be a valid dictionary; random_state:",
        ),
        ({"algorithm": "kmeens", "collection_ids": []}, "Unknown algorithm 'kmeens'; accepted: "),
    ],
    ids=["null", "empty", "no-algorithm", "wrong-types", "unknown-algorithm"],
)
def test_a_run_with_a_broken_config_fails_with_a_clear_message(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session], config: Any, expected: str
) -> None:
    cluster = cluster_with(session_factory, documents=12)
    if isinstance(config, dict) and config.get("algorithm") == "kmeens":
        config = {**run_config_for(cluster, None), "algorithm": "kmeens"}
    run = run_with(db_url, engine, cluster, config)
    assert run.status == "failed" and run.completed_at is not None
    message = run.error_message or ""
    assert expected in message, message
    assert "KeyError" not in message and "clusterbook bug" not in message
    if "configuration" in message:  # says how to get a run that works, naming the cluster
        assert f"POST /v1/clusters/{cluster.cluster_id}/execute" in message
    assert run.error_traceback is None


def test_a_data_problem_fails_with_its_message_and_no_traceback(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    cluster = cluster_with(session_factory, documents=2)  # n_clusters=3 over 2 documents
    run = run_with(db_url, engine, cluster, run_config_for(cluster, None))
    assert run.status == "failed"
    assert "n_clusters=3 is more than the 2 documents" in (run.error_message or ""), run.error_message
    assert run.error_traceback is None


def test_an_unexpected_error_keeps_its_traceback(
    db_url: str, engine: Engine, session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any) -> Any:  # stands in for a bug in the engine: no real input triggers one on purpose
        raise RuntimeError("the engine tripped")

    monkeypatch.setattr(compute, "run_pipeline", broken)
    cluster = cluster_with(session_factory, documents=12)
    run = run_with(db_url, engine, cluster, run_config_for(cluster, None))
    assert run.status == "failed"
    assert "RuntimeError: the engine tripped" in (run.error_message or "")
    assert "clusterbook bug" in (run.error_message or "")
    assert run.error_traceback is not None and "Traceback (most recent call last)" in run.error_traceback
    assert "RuntimeError: the engine tripped" in run.error_traceback
