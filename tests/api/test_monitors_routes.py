"""Monitor routes over real HTTP on both databases: create / list / get / patch / delete, namespaced;
every refusal is a 422 (or 404/409) saying what to fix; the alert history after real evaluations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clusterbook.models.measures import MEASURES
from clusterbook.models.monitors import MAX_MONITORS_PER_CLUSTER
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import evaluate_cluster_monitors
from tests.api.helpers import assert_invalid, assert_problem
from tests.factories import BASE_TIME, make_cluster, make_runs

FAILING = {"kind": "failure_rate", "last_runs": 5, "above": 0.5}


def monitors_path(cluster_id: str) -> str:
    return f"/v1/clusters/{cluster_id}/monitors"


def test_create_list_get_patch_delete(http, session_factory):
    cluster = make_cluster(session_factory)
    path = monitors_path(cluster.cluster_id)
    created = http.post(path, json={"name": "failures", "rule": FAILING})
    assert created.status_code == 201, created.text
    monitor = created.json()
    assert monitor["monitor_id"].startswith("mon_") and monitor["cluster_id"] == cluster.cluster_id
    assert monitor["state"] == "ok" and monitor["paused"] is False and monitor["evaluated_at"] is None
    assert monitor["rule"] == {**FAILING, "min_runs": 1, "window_seconds": None}
    quiet = http.post(
        monitors_path(cluster.cluster_name),
        json={"name": "quiet", "rule": {"kind": "no_completed_run", "for_seconds": 86400}},
    )
    assert quiet.status_code == 201, quiet.text

    listed = http.get(path).json()
    assert listed["total_count"] == 2 and [m["name"] for m in listed["results"]] == ["failures", "quiet"]
    assert http.get(f"{path}/{monitor['monitor_id']}").json() == monitor
    assert http.get(f"{path}/failures").json()["monitor_id"] == monitor["monitor_id"]  # by name too

    paused = http.patch(f"{path}/failures", json={"paused": True, "name": "failure rate"})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["name"] == "failure rate"
    assert paused.json()["rule"] == monitor["rule"]  # untouched
    taken = http.patch(f"{path}/quiet", json={"name": "failure rate"})
    assert_problem(taken, 409, "conflict")
    assert_problem(http.post(path, json={"name": "quiet", "rule": FAILING}), 409, "conflict")

    assert http.delete(f"{path}/{monitor['monitor_id']}").status_code == 204
    assert_problem(http.get(f"{path}/{monitor['monitor_id']}"), 404, "not_found")
    assert_problem(http.delete(f"{path}/{monitor['monitor_id']}"), 404, "not_found")
    assert http.get(path).json()["total_count"] == 1


def test_monitors_are_namespaced(http, session_factory):
    theirs = make_cluster(session_factory, namespace="other")
    created = http.post(
        monitors_path(theirs.cluster_id), json={"name": "m", "rule": FAILING}, headers={"X-Namespace": "other"}
    )
    assert created.status_code == 201, created.text
    mid = created.json()["monitor_id"]
    # from the default namespace the cluster, and so its monitors, do not exist
    assert_problem(http.get(monitors_path(theirs.cluster_id)), 404, "not_found")
    assert_problem(http.get(f"{monitors_path(theirs.cluster_id)}/{mid}"), 404, "not_found")
    # another cluster's path does not reach it either
    mine = make_cluster(session_factory)
    assert_problem(http.get(f"{monitors_path(mine.cluster_id)}/{mid}"), 404, "not_found")
    assert_problem(http.patch(f"{monitors_path(mine.cluster_id)}/{mid}", json={"paused": True}), 404, "not_found")


def test_an_unknown_measure_is_a_422_listing_the_declared_ones(http, session_factory):
    cluster = make_cluster(session_factory)
    rule = {"kind": "metric", "measure": "silhouete", "below": 0.2}
    body = assert_invalid(
        http.post(monitors_path(cluster.cluster_id), json={"name": "m", "rule": rule}),
        "rule.metric.measure",
        "unknown measure 'silhouete'",
        *[m.name for m in MEASURES],
        code="validation_error",
    )
    assert body["status"] == 422


@pytest.mark.parametrize(
    ("rule", "loc", "fragment"),
    [
        ({"kind": "failure_rate", "above": 0.5}, "rule.failure_rate", "exactly one of last_runs"),
        (
            {"kind": "failure_rate", "above": 0.5, "last_runs": 5, "window_seconds": 600},
            "rule.failure_rate",
            "exactly one",
        ),
        ({"kind": "failure_rate", "above": 1.0, "last_runs": 5}, "rule.failure_rate.above", "less than 1"),
        ({"kind": "failure_rate", "above": 0.5, "last_runs": 100_000}, "rule.failure_rate.last_runs", "1000"),
        ({"kind": "failure_rate", "above": 0.5, "window_seconds": 5}, "rule.failure_rate.window_seconds", "60"),
        ({"kind": "failure_rate", "above": 0.5, "last_runs": 3, "min_runs": 4}, "rule.failure_rate", "min_runs"),
        ({"kind": "metric", "measure": "silhouette_score"}, "rule.metric", "exactly one condition"),
        (
            {"kind": "metric", "measure": "silhouette_score", "below": 0.1, "above": 0.9},
            "rule.metric",
            "got below, above",
        ),
        (
            {"kind": "metric", "measure": "stability", "below_median": {"last_runs": 0}},
            "rule.metric.below_median.last_runs",
            "greater than or equal to 1",
        ),
        (
            {"kind": "metric", "measure": "stability", "below_median": {"last_runs": 3, "delta": -1}},
            "rule.metric.below_median.delta",
            "greater than or equal to 0",
        ),
        ({"kind": "no_completed_run", "for_seconds": 10**9}, "rule.no_completed_run.for_seconds", "31536000"),
        ({"kind": "no_completed_run"}, "rule.no_completed_run.for_seconds", "required"),
        ({"kind": "sometimes"}, "rule", "failure_rate"),
        (
            {"kind": "metric", "measure": "silhouette_score", "below": 0.1, "colour": "red"},
            "rule.metric.colour",
            "not permitted",
        ),
    ],
)
def test_bad_rules_are_422s_that_say_what_to_fix(http, session_factory, rule, loc, fragment):
    cluster = make_cluster(session_factory)
    response = http.post(monitors_path(cluster.cluster_id), json={"name": "m", "rule": rule})
    assert_invalid(response, loc, fragment)
    assert http.get(monitors_path(cluster.cluster_id)).json()["total_count"] == 0  # nothing half-made


def test_name_bounds_and_null_patches(http, session_factory):
    cluster = make_cluster(session_factory)
    path = monitors_path(cluster.cluster_id)
    assert_invalid(http.post(path, json={"name": "x" * 129, "rule": FAILING}), "name", "at most 128")
    assert_invalid(http.post(path, json={"name": "", "rule": FAILING}), "name", "at least 1")
    assert_invalid(http.post(path, json={"name": "a\u0000b", "rule": FAILING}), "body", "NUL")
    http.post(path, json={"name": "m", "rule": FAILING}).raise_for_status()
    assert_invalid(http.patch(f"{path}/m", json={"rule": None}), "body", "rule cannot be null")


def test_at_most_so_many_monitors_per_cluster(http, session_factory):
    cluster = make_cluster(session_factory)
    path = monitors_path(cluster.cluster_id)
    for i in range(MAX_MONITORS_PER_CLUSTER):
        assert http.post(path, json={"name": f"m{i}", "rule": FAILING}).status_code == 201
    refused = http.post(path, json={"name": "one more", "rule": FAILING})
    body = assert_problem(refused, 422, "validation_error")
    assert f"at most {MAX_MONITORS_PER_CLUSTER} monitors" in body["detail"]
    assert http.get(path).json()["total_count"] == MAX_MONITORS_PER_CLUSTER


def test_alert_history_pages_newest_first_with_the_values_seen(http, session_factory, engine):
    cluster = make_cluster(session_factory)
    path = monitors_path(cluster.cluster_id)
    mid = http.post(path, json={"name": "m", "rule": {"kind": "failure_rate", "last_runs": 1, "above": 0.0}}).json()[
        "monitor_id"
    ]
    writes = make_sessionmaker(engine, writes=True)
    for i, status in enumerate(["failed", "completed", "failed", "completed", "failed"]):
        at = BASE_TIME + timedelta(minutes=i)
        make_runs(session_factory, cluster, [{"status": status, "created_at": at, "completed_at": at}])
        with writes() as session, session.begin():
            evaluate_cluster_monitors(session, cluster_id=cluster.cluster_id, now=at + timedelta(seconds=1))
    first = http.get(f"{path}/{mid}/alerts", params={"page_size": 2})
    assert first.status_code == 200, first.text
    data = first.json()
    assert data["total_count"] == 5 and data["pagination"]["total_pages"] == 3
    assert [a["event"] for a in data["results"]] == ["triggered", "recovered"]
    newest = data["results"][0]
    assert newest["observed"]["failure_rate"] == 1.0 and newest["observed"]["failed_runs"] == 1
    assert "failure rate 1.00" in newest["message"]
    assert newest["at"].startswith("2026-01-01T00:04:01")
    rest = http.get(data["pagination"]["next_page"]).json()
    assert [a["event"] for a in rest["results"]] == ["triggered", "recovered"]
    monitor = http.get(f"{path}/{mid}").json()
    assert monitor["state"] == "alerting" and monitor["last_values"]["verdict"] == "bad"
    assert_invalid(http.get(f"{path}/{mid}/alerts", params={"page_size": 10**6}), "query.page_size", "maximum")
    assert_invalid(http.get(f"{path}/{mid}/alerts", params={"page": 0}), "query.page", "greater than")
    assert_problem(http.get(f"{path}/mon_nothing/alerts"), 404, "not_found")
