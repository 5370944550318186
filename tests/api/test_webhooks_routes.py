"""Webhook routes over real HTTP on both databases: the secret is shown once, every input is checked
with a message saying how to fix it (and a refused request leaves nothing behind), endpoints are
namespaced, the per-namespace bound holds, and the delivery log pages and filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.webhooks import MAX_URL_LENGTH, MAX_WEBHOOKS_PER_NAMESPACE, WEBHOOK_EVENTS
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.tables import webhooks
from clusterbook.store.webhooks import enqueue_event
from tests.api.helpers import assert_invalid, assert_problem

URL = "https://example.com/hooks/clusterbook"


def created(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/v1/webhooks", json={"url": URL, "events": ["execution.completed"], **body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def stored(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.execute(select(func.count()).select_from(webhooks)).scalar_one())


def test_the_secret_is_shown_once_and_never_again(http: httpx.Client) -> None:
    hook = created(http, events=["execution.failed", "execution.completed", "execution.failed"], description="ops")
    assert hook["secret"].startswith("whsec_") and len(hook["secret"]) > 40
    assert hook["events"] == ["execution.failed", "execution.completed"]  # each once, in the order given
    assert (hook["active"], hook["description"], hook["url"]) == (True, "ops", URL)
    for answer in (
        http.get(f"/v1/webhooks/{hook['webhook_id']}").json(),
        http.patch(f"/v1/webhooks/{hook['webhook_id']}", json={"description": None}).json(),
        http.get("/v1/webhooks").json()["results"][0],
    ):
        assert "secret" not in answer and hook["secret"] not in str(answer)
    assert created(http)["secret"] != hook["secret"]


def test_patch_changes_only_what_it_names(http: httpx.Client) -> None:
    hook = created(http, description="first")
    path = f"/v1/webhooks/{hook['webhook_id']}"
    changed = http.patch(path, json={"active": False, "events": ["monitor.triggered"]}).json()
    assert (changed["active"], changed["events"], changed["description"], changed["url"]) == (
        False, ["monitor.triggered"], "first", URL,
    )  # fmt: skip
    assert changed["updated_at"] > hook["updated_at"]
    assert_invalid(http.patch(path, json={"url": None}), "body", "url cannot be null")
    assert http.get(path).json()["url"] == URL


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        ({"url": "ftp://example.com/x", "events": ["execution.failed"]}, "url", "http:// or https://"),
        ({"url": "example.com/x", "events": ["execution.failed"]}, "url", "http:// or https://"),
        ({"url": "https:///path", "events": ["execution.failed"]}, "url", "must name a host"),
        ({"url": "https://user:pw@example.com/", "events": ["execution.failed"]}, "url", "credentials"),
        ({"url": "https://example.com/a b", "events": ["execution.failed"]}, "url", "whitespace"),
        ({"url": "https://example.com:99999/", "events": ["execution.failed"]}, "url", "not a valid URL"),
        ({"url": "https://example.com/#x", "events": ["execution.failed"]}, "url", "fragment"),
        ({"url": "https://example.com/" + "a" * MAX_URL_LENGTH, "events": ["execution.failed"]}, "url", "at most"),
        ({"url": URL, "events": ["execution.started"]}, "events", "allowed events: " + ", ".join(WEBHOOK_EVENTS)),
        ({"url": URL, "events": []}, "events", "at least 1"),
        ({"url": URL}, "events", "required"),
        ({"url": URL, "events": ["execution.failed"], "secret": "mine"}, "secret", "Extra inputs"),
        ({"url": URL, "events": ["execution.failed"], "description": "x" * 501}, "description", "at most 500"),
    ],
)
def test_bad_input_is_a_422_that_says_what_to_fix_and_writes_nothing(
    http: httpx.Client, session_factory: sessionmaker[Session], body: dict[str, Any], loc: str, fragment: str
) -> None:
    assert_invalid(http.post("/v1/webhooks", json=body), loc, fragment, sent=str(body.get("url", "")))
    assert stored(session_factory) == 0


def test_endpoints_are_namespaced(http: httpx.Client) -> None:
    assert http.post("/v1/namespaces", json={"namespace_name": "other"}).status_code == 201
    mine = created(http)
    other = {"X-Namespace": "other"}
    assert http.get("/v1/webhooks", headers=other).json()["total_count"] == 0
    for method, path, body in (
        ("GET", f"/v1/webhooks/{mine['webhook_id']}", None),
        ("PATCH", f"/v1/webhooks/{mine['webhook_id']}", {"active": False}),
        ("DELETE", f"/v1/webhooks/{mine['webhook_id']}", None),
        ("GET", f"/v1/webhooks/{mine['webhook_id']}/deliveries", None),
    ):
        problem = assert_problem(http.request(method, path, json=body, headers=other), 404, "not_found")
        assert "GET /v1/webhooks" in problem["detail"]
    assert http.get(f"/v1/webhooks/{mine['webhook_id']}").json()["active"] is True
    assert http.delete(f"/v1/webhooks/{mine['webhook_id']}").status_code == 204
    assert_problem(http.get(f"/v1/webhooks/{mine['webhook_id']}"), 404, "not_found")


def test_a_namespace_holds_a_bounded_number_of_endpoints(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(MAX_WEBHOOKS_PER_NAMESPACE):
        created(http)
    problem = assert_problem(
        http.post("/v1/webhooks", json={"url": URL, "events": ["execution.failed"]}), 409, "conflict"
    )
    assert f"{MAX_WEBHOOKS_PER_NAMESPACE} webhook endpoints" in problem["detail"] and "delete one" in problem["detail"]
    assert stored(session_factory) == MAX_WEBHOOKS_PER_NAMESPACE
    page = http.get("/v1/webhooks", params={"page_size": 30}).json()
    assert page["total_count"] == MAX_WEBHOOKS_PER_NAMESPACE and len(page["results"]) == 30
    rest = http.get("/v1/webhooks", params={"cursor": page["pagination"]["next_cursor"]}).json()
    assert not {h["webhook_id"] for h in rest["results"]} & {h["webhook_id"] for h in page["results"]}


def test_the_delivery_log_pages_and_filters(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    hook = created(http, events=["monitor.triggered"])
    with session_factory() as session, session.begin():
        ns = ensure_namespace(session, name="default").namespace_id
        for i in range(5):
            enqueue_event(session, namespace_id=ns, event="monitor.triggered", payload={"n": i})
    path = f"/v1/webhooks/{hook['webhook_id']}/deliveries"
    first = http.get(path, params={"page_size": 2}).json()
    assert first["total_count"] == 5 and len(first["results"]) == 2
    row = first["results"][0]
    assert (row["status"], row["attempts"], row["event"], row["payload"]) == ("pending", 0, "monitor.triggered", None)
    assert row["next_attempt_at"] is not None and row["response_code"] is None and row["last_error"] is None
    walked = [*first["results"]]
    cursor = first["pagination"]["next_cursor"]
    while cursor:
        page = http.get(path, params={"cursor": cursor}).json()
        walked += page["results"]
        cursor = page["pagination"]["next_cursor"]
    assert len({d["delivery_id"] for d in walked}) == 5
    assert [d["created_at"] for d in walked] == sorted((d["created_at"] for d in walked), reverse=True)
    with_body = http.get(path, params={"include_payload": "true", "page_size": 5}).json()["results"]
    assert sorted(d["payload"]["data"]["n"] for d in with_body) == [0, 1, 2, 3, 4]
    assert http.get(path, params={"status": "delivered"}).json()["total_count"] == 0
    assert http.get(path, params={"status": "pending", "event": "monitor.triggered"}).json()["total_count"] == 5
    assert_problem(http.get(path, params={"status": "lost"}), 422)
    assert_problem(http.get(path, params={"event": "execution.started"}), 422)
    assert_problem(http.get(path, params={"page_size": 10_000}), 422, "invalid_pagination")
    assert_problem(http.get(f"/v1/webhooks/{'w' * 65}/deliveries"), 422)
