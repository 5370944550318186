"""Schedule routes over real HTTP on both databases: create each kind, list / get / pause / resume /
change / delete, and every bad body answered with a 422 (or 409, 404) that says what is wrong,
leaving nothing behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from clusterbook.models.schedules import MAX_SCHEDULES_PER_CLUSTER
from tests.api.helpers import assert_problem, make_collections


@pytest.fixture
def cluster_id(http: httpx.Client) -> str:
    [collection] = make_collections(http, "docs")
    response = http.post("/v1/clusters", json={"cluster_name": "tickets", "collection_ids": [collection]})
    assert response.status_code == 201, response.text
    return str(response.json()["cluster_id"])


def _path(cluster_id: str, *rest: str) -> str:
    return "/".join([f"/v1/clusters/{cluster_id}/schedules", *rest])


def _create(http: httpx.Client, cluster_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(_path(cluster_id), json=body)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def _count(http: httpx.Client, cluster_id: str) -> int:
    return int(http.get(_path(cluster_id)).json()["total_count"])


def test_each_kind_of_schedule_is_created_listed_and_read(http, cluster_id) -> None:
    before = datetime.now(UTC)
    cron = _create(http, cluster_id, {"cron": "0 3 * * *", "timezone": "Europe/Berlin", "name": "nightly"})
    assert cron["kind"] == "cron" and cron["timezone"] == "Europe/Berlin" and cron["paused"] is False
    assert cron["trigger"] == f"schedule:{cron['schedule_id']}"
    due = datetime.fromisoformat(cron["next_fire_at"])
    assert before < due <= before + timedelta(days=1, hours=1)
    assert due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).hour == 3
    interval = _create(
        http, cluster_id, {"interval_seconds": 3600, "execute": {"run_name": "hourly", "random_state": 3}}
    )
    assert interval["execute"] == {"run_name": "hourly", "random_state": 3}
    assert datetime.fromisoformat(interval["next_fire_at"]) >= before + timedelta(hours=1)
    docs = _create(http, cluster_id, {"new_documents": 500, "paused": True})
    assert docs["kind"] == "new_documents" and docs["paused"] is True
    utc = _create(http, cluster_id, {"cron": "*/15 * * * 1-5"})
    assert utc["timezone"] == "UTC"

    listed = http.get(_path(cluster_id)).json()
    assert [s["schedule_id"] for s in listed["results"]] == [
        s["schedule_id"] for s in (cron, interval, docs, utc)
    ]  # oldest first
    assert listed["total_count"] == 4 and listed["pagination"]["total"] == 4
    one = http.get(_path(cluster_id, interval["schedule_id"])).json()
    assert one["interval_seconds"] == 3600 and one["last_firings"] == []
    firings = http.get(_path(cluster_id, interval["schedule_id"], "firings"), params={"limit": 5}).json()
    assert firings == {"results": [], "total_count": 0}


def test_pause_resume_change_and_delete(http, cluster_id) -> None:
    made = _create(http, cluster_id, {"interval_seconds": 600})
    sid = made["schedule_id"]
    paused = http.patch(_path(cluster_id, sid), json={"paused": True}).json()
    assert paused["paused"] is True and paused["next_fire_at"] == made["next_fire_at"]
    resumed = http.patch(_path(cluster_id, sid), json={"paused": False}).json()
    assert resumed["paused"] is False
    changed = http.patch(_path(cluster_id, sid), json={"cron": "30 6 * * 1", "timezone": "America/New_York"}).json()
    assert (changed["kind"], changed["cron"], changed["interval_seconds"]) == ("cron", "30 6 * * 1", None)
    assert changed["timezone"] == "America/New_York"
    renamed = http.patch(_path(cluster_id, sid), json={"name": "weekly", "execute": {"sample_size": 100}}).json()
    assert renamed["name"] == "weekly" and renamed["execute"] == {"sample_size": 100} and renamed["kind"] == "cron"
    assert http.delete(_path(cluster_id, sid)).status_code == 204
    assert_problem(http.get(_path(cluster_id, sid)), 404, "not_found")
    assert_problem(http.delete(_path(cluster_id, sid)), 404, "not_found")
    assert_problem(http.patch(_path(cluster_id, sid), json={"paused": True}), 404, "not_found")


def test_deleting_the_cluster_deletes_its_schedules(http, cluster_id) -> None:
    sid = _create(http, cluster_id, {"interval_seconds": 600})["schedule_id"]
    assert http.delete(f"/v1/clusters/{cluster_id}").status_code == 204
    assert_problem(http.get(_path(cluster_id, sid)), 404, "not_found")


BAD_CREATES: list[tuple[str, Any, str]] = [
    ("no trigger", {}, "exactly one of cron"),
    ("no trigger, only paused", {"paused": True}, "gave none of them"),
    ("two triggers", {"cron": "0 3 * * *", "interval_seconds": 3600}, "cron and interval_seconds"),
    ("three triggers", {"cron": "0 3 * * *", "interval_seconds": 60, "new_documents": 5}, "exactly one"),
    ("bad minute", {"cron": "61 * * * *"}, "minute"),
    ("bad field count", {"cron": "0 3 * *"}, "4 fields, not 5"),
    ("seconds field", {"cron": "0 0 3 * * *"}, "6 fields, not 5"),
    ("gibberish", {"cron": "every night"}, "not a valid cron expression"),
    ("impossible date", {"cron": "0 0 31 2 *"}, "day-of-month"),
    ("unknown zone", {"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "not an IANA time zone"),
    ("zone path", {"cron": "0 3 * * *", "timezone": "../../etc/passwd"}, "not an IANA time zone"),
    ("zone without cron", {"interval_seconds": 3600, "timezone": "UTC"}, "cron schedules only"),
    ("interval too short", {"interval_seconds": 5}, "greater than or equal to 60"),
    ("interval too long", {"interval_seconds": 10**9}, "less than or equal to"),
    ("no documents", {"new_documents": 0}, "greater than or equal to 1"),
    ("too many documents", {"new_documents": 10**12}, "less than or equal to"),
    ("cron too long", {"cron": "0 " * 200}, "at most 200 characters"),
    ("name too long", {"interval_seconds": 60, "name": "x" * 201}, "at most 200 characters"),
    ("unknown field", {"interval_seconds": 60, "every": "day"}, "Extra inputs"),
    ("execute unknown field", {"interval_seconds": 60, "execute": {"algoritm": "x"}}, "Extra inputs"),
    ("execute bad parameter", {"interval_seconds": 60, "execute": {"algorithm_params": {"n_clusters": -1}}}, "n_clusters"),
    ("execute missing baseline", {"interval_seconds": 60, "execute": {"baseline_run_id": "run_nope"}}, "baseline_run_id"),
    ("paused not a bool", {"interval_seconds": 60, "paused": "maybe"}, "boolean"),
    ("NUL in name", {"interval_seconds": 60, "name": "a\u0000b"}, "NUL"),
    ("NUL in zone", {"cron": "0 3 * * *", "timezone": "Europe/Berl\u0000in"}, "NUL"),
    ("empty zone", {"cron": "0 3 * * *", "timezone": ""}, "not an IANA time zone"),
    ("interval not a number", {"interval_seconds": "hourly"}, "valid integer"),
    ("execute not an object", {"interval_seconds": 60, "execute": [1]}, "valid dictionary"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "fragment"), [c[1:] for c in BAD_CREATES], ids=[c[0] for c in BAD_CREATES])
def test_bad_schedules_are_refused_with_what_is_wrong(http, cluster_id, body, fragment) -> None:
    problem = assert_problem(http.post(_path(cluster_id), json=body), 422)
    said = problem["detail"] + " ".join(e["message"] for e in problem.get("errors") or [])
    assert fragment in said, problem
    assert _count(http, cluster_id) == 0  # nothing half-made


BAD_UPDATES: list[tuple[str, Any, str]] = [
    ("two triggers", {"cron": "0 3 * * *", "new_documents": 3}, "at most one"),
    ("null paused", {"paused": None}, "cannot be null"),
    ("null trigger", {"interval_seconds": None}, "cannot be null"),
    ("timezone alone", {"timezone": "Europe/Berlin"}, "together with cron"),
    ("bad cron", {"cron": "* * * * * * *"}, "7 fields"),
    ("bad execute", {"execute": {"sample_size": 1}}, "greater than or equal to 2"),
]


@pytest.mark.parametrize(("body", "fragment"), [c[1:] for c in BAD_UPDATES], ids=[c[0] for c in BAD_UPDATES])
def test_bad_changes_are_refused_and_change_nothing(http, cluster_id, body, fragment) -> None:
    made = _create(http, cluster_id, {"interval_seconds": 600})
    problem = assert_problem(http.patch(_path(cluster_id, made["schedule_id"]), json=body), 422)
    said = problem["detail"] + " ".join(e["message"] for e in problem.get("errors") or [])
    assert fragment in said, problem
    assert http.get(_path(cluster_id, made["schedule_id"])).json() == made


def test_a_cluster_holds_a_bounded_number_of_schedules(http, cluster_id) -> None:
    for _ in range(MAX_SCHEDULES_PER_CLUSTER):
        _create(http, cluster_id, {"interval_seconds": 3600})
    problem = assert_problem(http.post(_path(cluster_id), json={"interval_seconds": 3600}), 409, "conflict")
    assert "delete one" in problem["detail"]
    assert _count(http, cluster_id) == MAX_SCHEDULES_PER_CLUSTER


def test_firings_limit_is_bounded(http, cluster_id) -> None:
    sid = _create(http, cluster_id, {"interval_seconds": 3600})["schedule_id"]
    for limit in (0, 101):
        assert_problem(http.get(_path(cluster_id, sid, "firings"), params={"limit": limit}), 422)
    assert_problem(http.get(_path(cluster_id, "sched_missing")), 404, "not_found")
    assert_problem(http.get(_path("clust_missing")), 404, "not_found")


def test_schedules_are_namespaced(http, cluster_id) -> None:
    sid = _create(http, cluster_id, {"interval_seconds": 3600})["schedule_id"]
    assert http.post("/v1/namespaces", json={"namespace_name": "team-x"}).status_code == 201
    other = {"X-Namespace": "team-x"}
    assert_problem(http.get(_path(cluster_id), headers=other), 404, "not_found")
    assert_problem(http.get(_path(cluster_id, sid), headers=other), 404, "not_found")
    assert_problem(http.post(_path(cluster_id), json={"interval_seconds": 60}, headers=other), 404, "not_found")


def test_a_requested_run_carries_the_api_trigger_and_the_history_filters_on_it(http, cluster_id) -> None:
    response = http.post(f"/v1/clusters/{cluster_id}/execute", json={})
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["trigger"] == "api"
    listed = http.post(f"/v1/clusters/{cluster_id}/executions/list", json={"filters": {"trigger": "api"}}).json()
    assert [r["run_id"] for r in listed["results"]] == [run["run_id"]]
    other = {"filters": {"trigger": {"starts_with": "schedule:"}}}
    assert http.post(f"/v1/clusters/{cluster_id}/executions/list", json=other).json()["total_count"] == 0
