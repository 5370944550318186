"""Assign-mode submissions that cannot run are refused with a 422 naming the field and the fix, and
nothing is queued; a good one is queued with the source run's settings frozen into its config."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.store.centres import insert_centres
from tests.factories import completed_fields, make_cluster, make_execution


def _with_centres(factory: sessionmaker[Session], cluster: Cluster, i: int, **fields: Any) -> str:
    run = make_execution(factory, cluster, **completed_fields(i, **fields))
    with factory() as session, session.begin():
        insert_centres(session, run.run_id, np.eye(2, 4, dtype=np.float32))
    return run.run_id


def _refused(http: httpx.Client, cluster_id: str, body: dict[str, Any], location: str, words: str) -> None:
    before = http.post(f"/v1/clusters/{cluster_id}/executions/list", json={}).json()["total_count"]
    response = http.post(f"/v1/clusters/{cluster_id}/execute", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert words in problem["detail"], problem["detail"]
    assert [e["loc"] for e in problem["errors"]] == [location]
    assert http.post(f"/v1/clusters/{cluster_id}/executions/list", json={}).json()["total_count"] == before


def test_a_good_assign_request_freezes_the_source_runs_settings(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory, vector_config={"recluster": {"max_unassigned_ratio": 0.1}})
    older = _with_centres(session_factory, cluster, 1)
    latest = _with_centres(session_factory, cluster, 2, config={"embedder": "minilm", "embedded": True})
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json={"mode": "assign"})
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["mode"] == "assign" and run["source_run_id"] == latest and run["baseline_run_id"] == latest
    config = run["config"]
    assert config["assignment_threshold"] == 0.5 and config["documents"] == "changed"
    assert config["embedder"] == "minilm" and config["recluster"] == {"max_unassigned_ratio": 0.1, "max_drift": 0.3}
    named = http.post(
        f"/v1/clusters/{cluster.cluster_id}/execute",
        json={"mode": "assign", "source_run_id": older, "documents": "all", "assignment_threshold": 0.9},
    ).json()
    assert named["source_run_id"] == older and named["config"]["documents"] == "all"
    assert named["config"]["assignment_threshold"] == 0.9


@pytest.mark.parametrize(
    ("body", "location", "words"),
    [
        ({"source_run_id": "run_x"}, "source_run_id", 'applies only to "mode": "assign"'),
        ({"documents": "all"}, "documents", 'applies only to "mode": "assign"'),
        ({"mode": "assign", "stability": {"resamples": 3}}, "stability", "does not cluster"),
        ({"mode": "assign", "sample_size": 10}, "sample_size", "does not cluster"),
        ({"mode": "assign", "algorithm_params": {"n_clusters": 3}}, "algorithm_params", "does not cluster"),
    ],
)
def test_fields_of_the_other_mode_are_refused(
    http: httpx.Client, session_factory: sessionmaker[Session], body: dict[str, Any], location: str, words: str
) -> None:
    cluster = make_cluster(session_factory)
    _with_centres(session_factory, cluster, 1)
    _refused(http, cluster.cluster_id, body, location, words)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"mode": "assign", "assignment_threshold": 1.5}, "assignment_threshold"),
        ({"mode": "assign", "assignment_threshold": -0.1}, "assignment_threshold"),
        ({"mode": "assign", "documents": "some"}, "documents"),
        ({"mode": "reassign"}, "mode"),
        ({"mode": "assign", "source_run_id": "r" * 65}, "source_run_id"),
    ],
)
def test_out_of_bounds_assign_fields_are_refused(
    http: httpx.Client, session_factory: sessionmaker[Session], body: dict[str, Any], location: str
) -> None:
    cluster = make_cluster(session_factory)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/execute", json=body)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [location]


def test_source_runs_that_cannot_be_assigned_to_are_refused(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory)
    _refused(http, cluster.cluster_id, {"mode": "assign"}, "source_run_id", "no completed run")
    pending = make_execution(session_factory, cluster, status="pending").run_id
    _refused(http, cluster.cluster_id, {"mode": "assign", "source_run_id": pending}, "source_run_id", "is pending")
    bare = make_execution(session_factory, cluster, **completed_fields(3)).run_id  # completed, no centres
    _refused(http, cluster.cluster_id, {"mode": "assign", "source_run_id": bare}, "source_run_id", "no stored centres")
    other = _with_centres(session_factory, make_cluster(session_factory), 4)
    _refused(http, cluster.cluster_id, {"mode": "assign", "source_run_id": other}, "source_run_id", "not a run of this")
    fitted = _with_centres(session_factory, cluster, 5, config={"embedder": "tfidf-svd", "embedded": True})
    _refused(
        http, cluster.cluster_id, {"mode": "assign", "source_run_id": fitted}, "source_run_id", "fitted on each run"
    )


def test_attribute_clusters_have_no_assign_mode(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory, cluster_type="attribute", attribute_config={"attributes": ["k"]})
    _refused(http, cluster.cluster_id, {"mode": "assign"}, "mode", "fixed by metadata")


def test_an_assign_run_has_no_estimate(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/execute/estimate", json={"mode": "assign"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == "mode" and "no size limit" in response.json()["detail"]
