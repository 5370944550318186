"""The listing's neighbours: the latest run, one run, cancel; identifiers and timestamps on the wire;
404s for unknown runs and clusters; and namespaces, where another tenant's cluster is answered
exactly like one that does not exist."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.helpers import ZOO, assert_problem, ids, list_path, make_zoo, ok_list
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_execution, make_history

RUN_ID = re.compile(r"^run_[A-Za-z0-9]+$")
CLUSTER_ID = re.compile(r"^clust_[A-Za-z0-9]+$")


def parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"timestamp without a zone: {text}"
    return parsed


def test_latest_execution_is_null_when_there_is_none(http, session_factory):
    cluster = make_cluster(session_factory)
    response = http.get(f"/v1/clusters/{cluster.cluster_id}/executions")
    assert response.status_code == 200
    assert response.text == "null"
    assert response.json() is None


def test_latest_execution_is_the_newest_by_creation_time(http, session_factory):
    cluster = make_cluster(session_factory)
    newest = make_execution(session_factory, cluster, **completed_fields(50))
    make_history(session_factory, cluster, 5)  # older runs, inserted later
    response = http.get(f"/v1/clusters/{cluster.cluster_id}/executions")
    assert response.status_code == 200
    assert response.json()["run_id"] == newest.run_id
    by_name = http.get(f"/v1/clusters/{cluster.cluster_name}/executions")
    assert by_name.json()["run_id"] == newest.run_id


def test_one_execution_in_the_contract_shape(http, session_factory):
    cluster = make_cluster(session_factory)
    run = make_execution(session_factory, cluster, **completed_fields(3, llm_labeling_errors=["timeout on cl_1"]))
    response = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert RUN_ID.match(body["run_id"])
    assert CLUSTER_ID.match(body["cluster_id"]) and body["cluster_id"] == cluster.cluster_id
    assert body["status"] == "completed"
    assert body["num_clusters"] == 2 + 3 % 5
    assert body["num_points"] == 130
    assert body["metrics"] == {
        "silhouette_score": 0.4,
        "davies_bouldin_index": 1.0,
        "calinski_harabasz_score": 103.0,
        # clusterbook additions, null for a run recorded without them
        "noise_points": None,
        "unassigned_ratio": None,  # assign runs only
        "noise_ratio": None,
        "cluster_size_entropy": None,
        "largest_cluster_share": None,
        "degenerate": None,
        "reassigned_points": None,
        "agreement_ari": None,
        "agreement_ami": None,
        "matched_fraction": None,
        "moved_documents": None,
        "stability": None,
        "notes": None,
    }
    assert [c["cluster_id"] for c in body["centroids"]] == ["cl_0", "cl_1"]
    assert body["centroids"][0] == {
        "cluster_id": "cl_0",
        "num_members": 63,
        "label": "Billing",
        "summary": "Invoices and refunds",
        "keywords": ["invoice", "refund"],
        # clusterbook additions: agreement with a baseline, null for a run recorded without one
        "baseline_cluster_id": None,
        "jaccard": None,
        "baseline_label": None,
        "stability": None,  # bootstrap stability, null unless the run was executed with stability
        # curated labels: the computed values beside the effective ones, no override, nothing inherited
        "computed_label": "Billing",
        "computed_summary": "Invoices and refunds",
        "computed_keywords": ["invoice", "refund"],
        "override": None,
        "inherited": None,
        "merged_from": None,
        "vector": None,  # the centre, only with ?include_vectors=true
        "representative_ids": None,  # the members nearest the centre, absent on runs recorded without them
    }
    assert parse_time(body["created_at"]) == BASE_TIME + timedelta(minutes=3)
    assert parse_time(body["completed_at"]) == BASE_TIME + timedelta(minutes=3, seconds=5)
    assert body["duration_ms"] == pytest.approx(5000.0)
    assert body["error_message"] is None
    assert body["llm_labeling_errors"] == ["timeout on cl_1"]
    listed = ok_list(http, cluster.cluster_id)["results"][0]
    assert listed == body


def test_failed_and_pending_runs_on_the_wire(http, session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    charlie = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/run_Charlie03").json()
    assert charlie["status"] == "failed"
    assert charlie["error_message"] == ZOO["charlie"]["error_message"]
    assert charlie["metrics"] is None
    echo = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/run_Echo05").json()
    assert echo["status"] == "pending"
    assert echo["completed_at"] is None
    assert echo["duration_ms"] is None


def test_unknown_run_and_run_of_another_cluster_are_404(http, session_factory):
    cluster = make_cluster(session_factory)
    other = make_cluster(session_factory)
    foreign = make_execution(session_factory, other, status="pending")
    for run_id in ("run_doesnotexist", foreign.run_id):
        for method, suffix in (("GET", ""), ("POST", "/cancel")):
            response = http.request(method, f"/v1/clusters/{cluster.cluster_id}/executions/{run_id}{suffix}")
            body = assert_problem(response, 404, "not_found")
            assert run_id in body["detail"]
    # the foreign run was not canceled by the attempt
    assert http.get(f"/v1/clusters/{other.cluster_id}/executions/{foreign.run_id}").json()["status"] == "pending"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/executions/list", {}),
        ("GET", "/executions", None),
        ("GET", "/executions/run_abc", None),
        ("POST", "/executions/run_abc/cancel", None),
        ("GET", "", None),
        ("PATCH", "", {"description": "x"}),
        ("DELETE", "", None),
    ],
)
def test_unknown_cluster_is_404_everywhere(http, method, suffix, body):
    response = http.request(method, f"/v1/clusters/clust_missing{suffix}", json=body)
    problem = assert_problem(response, 404, "not_found")
    assert "clust_missing" in problem["detail"]


@pytest.mark.parametrize("status", ["pending", "processing"])
def test_cancel_moves_an_unfinished_run_to_canceled(http, session_factory, status):
    cluster = make_cluster(session_factory)
    created = datetime.now(UTC) - timedelta(seconds=10)
    started = None if status == "pending" else created + timedelta(seconds=7)  # queued 7 s, then ran 3 s
    run = make_execution(session_factory, cluster, status=status, created_at=created, started_at=started)
    before = datetime.now(UTC)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}/cancel")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == run.run_id
    assert body["status"] == "canceled"
    completed = parse_time(body["completed_at"])
    assert before - timedelta(seconds=1) <= completed <= datetime.now(UTC) + timedelta(seconds=1)
    if status == "pending":  # it never ran: no execution time and no queue time
        assert body["duration_ms"] is None and body["queue_ms"] is None
    else:  # execution time since it started, without the 7 s in the queue
        assert body["duration_ms"] == pytest.approx((completed - started).total_seconds() * 1000, abs=1)
        assert body["queue_ms"] == pytest.approx(7000)
    again = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}").json()
    assert again["status"] == "canceled"
    assert again["completed_at"] == body["completed_at"]
    assert ok_list(http, cluster.cluster_id, {"filters": {"status": "canceled"}})["total_count"] == 1
    # canceling twice changes nothing: the same canceled run, same completion time
    second = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}/cancel")
    assert second.status_code == 200, second.text
    assert second.json() == body


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_cancel_of_a_finished_run_is_409_and_changes_nothing(http, session_factory, status):
    cluster = make_cluster(session_factory)
    done = BASE_TIME + timedelta(seconds=9)
    run = make_execution(session_factory, cluster, status=status, created_at=BASE_TIME, completed_at=done)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}/cancel")
    body = assert_problem(response, 409, "conflict")
    assert status in body["detail"]
    assert "pending or processing" in body["detail"]
    after = http.get(f"/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}").json()
    assert after["status"] == status
    assert parse_time(after["completed_at"]) == done


# --------------------------------------------------------------------------- namespaces


def _without(text: str, *ids_to_hide: str) -> str:
    for value in ids_to_hide:
        text = text.replace(value, "<ID>")
    return text


def test_a_cluster_of_another_namespace_is_answered_as_absent(http, session_factory):
    assert http.post("/v1/namespaces", json={"namespace_name": "team-b"}).status_code == 201
    theirs = make_cluster(session_factory, namespace="team-b")
    run = make_execution(session_factory, theirs, status="pending")
    mine = make_cluster(session_factory)
    make_history(session_factory, mine, 3)
    missing = "clust_" + "Z" * len(theirs.cluster_id.removeprefix("clust_"))
    requests = [
        ("POST", "/executions/list", {}),
        ("GET", "/executions", None),
        ("GET", f"/executions/{run.run_id}", None),
        ("POST", f"/executions/{run.run_id}/cancel", None),
        ("GET", "", None),
        ("PATCH", "", {"description": "hijacked"}),
        ("DELETE", "", None),
    ]
    for method, suffix, body in requests:
        foreign = http.request(method, f"/v1/clusters/{theirs.cluster_id}{suffix}", json=body)
        absent = http.request(method, f"/v1/clusters/{missing}{suffix}", json=body)
        assert_problem(foreign, 404, "not_found")
        assert_problem(absent, 404, "not_found")
        assert _without(foreign.text, theirs.cluster_id) == _without(absent.text, missing), (method, suffix)
        assert foreign.headers["content-type"] == absent.headers["content-type"]
        by_name = http.request(method, f"/v1/clusters/{theirs.cluster_name}{suffix}", json=body)
        assert_problem(by_name, 404, "not_found")
    # nothing above reached team-b's data, which its own namespace still sees intact
    for header in ("team-b", theirs.namespace_id):
        ns = {"X-Namespace": header}
        got = http.get(f"/v1/clusters/{theirs.cluster_id}", headers=ns)
        assert got.status_code == 200, got.text
        assert got.json()["description"] is None
        latest = http.get(f"/v1/clusters/{theirs.cluster_id}/executions", headers=ns).json()
        assert latest["run_id"] == run.run_id
        assert latest["status"] == "pending"
        listed = http.post(list_path(theirs.cluster_id), json={}, headers=ns)
        assert [r["run_id"] for r in listed.json()["results"]] == [run.run_id]
        # and team-b cannot see the default namespace's cluster
        assert_problem(http.post(list_path(mine.cluster_id), json={}, headers=ns), 404, "not_found")
    assert ok_list(http, mine.cluster_id)["total_count"] == 3
    explicit_default = http.post(list_path(mine.cluster_id), json={}, headers={"X-Namespace": "default"})
    assert explicit_default.json()["total_count"] == 3


def test_namespace_header_errors(http, session_factory):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 2)
    unknown = http.post(list_path(cluster.cluster_id), json={}, headers={"X-Namespace": "nobody"})
    body = assert_problem(unknown, 404, "not_found")
    assert "nobody" in body["detail"]
    for bad in ("bad ns!", "'; DROP TABLE namespaces; --", "x" * 65):
        response = http.post(list_path(cluster.cluster_id), json={}, headers={"X-Namespace": bad})
        assert 400 <= response.status_code < 500
        assert_problem(response, response.status_code)
    assert ok_list(http, cluster.cluster_id)["total_count"] == 2


def test_same_cluster_name_in_two_namespaces_is_two_clusters(http, session_factory):
    http.post("/v1/namespaces", json={"namespace_name": "team-c"})
    a = make_cluster(session_factory, cluster_name="shared-name")
    b = make_cluster(session_factory, namespace="team-c", cluster_name="shared-name")
    make_history(session_factory, a, 2)
    make_history(session_factory, b, 5)
    assert ok_list(http, "shared-name")["total_count"] == 2
    other = http.post(list_path("shared-name"), json={}, headers={"X-Namespace": "team-c"}).json()
    assert other["total_count"] == 5
    assert {r["cluster_id"] for r in other["results"]} == {b.cluster_id}
    assert ids(ok_list(http, a.cluster_id))[0] != ids(other)[0]


def test_namespaces_can_be_created_once_and_listed(http):
    created = http.post("/v1/namespaces", json={"namespace_name": "analytics"})
    assert created.status_code == 201
    body = created.json()
    assert body["namespace_name"] == "analytics"
    assert parse_time(body["created_at"])
    assert_problem(http.post("/v1/namespaces", json={"namespace_name": "analytics"}), 409, "conflict")
    assert_problem(http.post("/v1/namespaces", json={"namespace_name": "Bad Name"}), 422, "validation_error")
    listed = {ns["namespace_name"] for ns in http.get("/v1/namespaces").json()}
    assert {"default", "analytics"} <= listed
