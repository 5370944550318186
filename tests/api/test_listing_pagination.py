"""Paging the execution history: ?page=&page_size=, ?limit=&offset=, ?cursor=, and the pagination
block (absolute neighbour URLs that keep the other query params, null at the ends)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.api.helpers import (
    assert_invalid,
    assert_problem,
    ids,
    list_path,
    ok_list,
    post_list,
    query_of,
    walk_by_cursor,
)
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_history, make_runs


@pytest.fixture
def history(session_factory):
    """A cluster with 25 completed runs; run ids newest first (the default order)."""
    cluster = make_cluster(session_factory)
    oldest_first = make_history(session_factory, cluster, 25)
    return cluster, list(reversed(oldest_first))


def test_default_page_is_the_first_ten_newest_first(http, history):
    cluster, newest_first = history
    data = ok_list(http, cluster.cluster_id)
    assert ids(data) == newest_first[:10]
    assert data["total_count"] == 25
    p = data["pagination"]
    assert (p["total"], p["page"], p["page_size"], p["total_pages"]) == (25, 1, 10, 3)
    assert p["previous_page"] is None
    assert p["next_page"] is not None
    assert p["next_cursor"]
    assert data["stats"]["total_executions"] == 10


def test_no_body_at_all_lists_everything(http, history):
    cluster, newest_first = history
    response = http.post(list_path(cluster.cluster_id))
    assert response.status_code == 200, response.text
    assert ids(response.json()) == newest_first[:10]


def test_page_and_page_size(http, history):
    cluster, newest_first = history
    data = ok_list(http, cluster.cluster_id, page=2, page_size=7)
    assert ids(data) == newest_first[7:14]
    p = data["pagination"]
    assert (p["total"], p["page"], p["page_size"], p["total_pages"]) == (25, 2, 7, 4)
    last = ok_list(http, cluster.cluster_id, page=4, page_size=7)
    assert ids(last) == newest_first[21:]
    assert last["pagination"]["next_page"] is None
    assert last["pagination"]["next_cursor"] is None
    whole = ok_list(http, cluster.cluster_id, page_size=100)
    assert ids(whole) == newest_first
    assert whole["pagination"]["total_pages"] == 1
    assert whole["pagination"]["next_page"] is None
    assert whole["pagination"]["previous_page"] is None


def test_page_beyond_the_end_is_empty_with_the_true_total(http, history):
    cluster, _ = history
    data = ok_list(http, cluster.cluster_id, page=9, page_size=10)
    assert data["results"] == []
    assert data["total_count"] == 25
    assert data["pagination"]["total"] == 25
    assert data["pagination"]["total_pages"] == 3
    assert data["pagination"]["page"] == 9
    assert data["pagination"]["next_page"] is None
    assert data["stats"]["total_executions"] == 0
    assert data["stats"]["executions_by_status"] == {}


def test_empty_history(http, session_factory):
    cluster = make_cluster(session_factory)
    data = ok_list(http, cluster.cluster_id)
    assert data["results"] == []
    assert data["total_count"] == 0
    p = data["pagination"]
    assert (p["total"], p["page"], p["total_pages"], p["next_page"], p["previous_page"]) == (0, 1, 0, None, None)


def test_page_size_above_the_maximum_is_refused_naming_it(http, history):
    cluster, _ = history
    assert len(ok_list(http, cluster.cluster_id, page_size=100)["results"]) == 25
    body = assert_invalid(post_list(http, cluster.cluster_id, page_size=101), "query.page_size", "100")
    assert "100" in body["detail"]
    assert_invalid(post_list(http, cluster.cluster_id, limit=1000), "query.limit", "100")
    assert_invalid(post_list(http, cluster.cluster_id, page_size=0), "query.page_size")
    assert_invalid(post_list(http, cluster.cluster_id, page=0), "query.page", "1-indexed")
    assert_invalid(post_list(http, cluster.cluster_id, page=-3), "query.page")
    assert_invalid(post_list(http, cluster.cluster_id, offset=-1), "query.offset")


def test_the_maximum_page_size_is_configurable(session_factory, db_url):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 6)
    with (
        BackgroundServer(Settings(database_url=db_url, secret_key="k", max_page_size=5)) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        assert len(ok_list(http, cluster.cluster_id, page_size=5)["results"]) == 5
        assert_invalid(post_list(http, cluster.cluster_id, page_size=6), "query.page_size", "5")


def test_neighbour_urls_are_absolute_and_keep_the_other_params(http, history):
    cluster, newest_first = history
    body = {"filters": {"status": "completed"}, "sort": {"field": "created_at", "direction": "desc"}}
    data = ok_list(http, cluster.cluster_id, body, page=2, page_size=5, include_total="true")
    p = data["pagination"]
    for url in (p["next_page"], p["previous_page"]):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == str(http.base_url).rstrip("/")
        assert parts.path == list_path(cluster.cluster_id)
    assert query_of(p["next_page"]) == {"page": "3", "page_size": "5", "include_total": "true"}
    assert query_of(p["previous_page"]) == {"page": "1", "page_size": "5", "include_total": "true"}
    # following the links (with the same body) lands on the neighbouring pages
    following = http.post(p["next_page"], json=body)
    assert ids(following.json()) == newest_first[10:15]
    back = http.post(p["previous_page"], json=body)
    assert ids(back.json()) == newest_first[:5]


def test_first_page_next_link_needs_no_page_param(http, history):
    cluster, newest_first = history
    data = ok_list(http, cluster.cluster_id, page_size=10)
    assert query_of(data["pagination"]["next_page"]) == {"page": "2", "page_size": "10"}
    data = ok_list(http, cluster.cluster_id)
    assert query_of(data["pagination"]["next_page"]) == {"page": "2"}
    assert ids(http.post(data["pagination"]["next_page"], json={}).json()) == newest_first[10:20]


def test_limit_and_offset(http, history):
    cluster, newest_first = history
    data = ok_list(http, cluster.cluster_id, limit=5, offset=5)
    assert ids(data) == newest_first[5:10]
    p = data["pagination"]
    assert (p["page"], p["page_size"], p["total"]) == (2, 5, 25)
    assert query_of(p["next_page"]) == {"limit": "5", "offset": "10"}
    assert query_of(p["previous_page"]) == {"limit": "5", "offset": "0"}
    assert ids(http.post(p["next_page"], json={}).json()) == newest_first[10:15]
    first = ok_list(http, cluster.cluster_id, limit=5, offset=0)
    assert first["pagination"]["previous_page"] is None
    odd = ok_list(http, cluster.cluster_id, limit=4, offset=3)
    assert ids(odd) == newest_first[3:7]
    assert query_of(odd["pagination"]["previous_page"]) == {"limit": "4", "offset": "0"}
    tail = ok_list(http, cluster.cluster_id, limit=10, offset=20)
    assert ids(tail) == newest_first[20:]
    assert tail["pagination"]["next_page"] is None
    beyond = ok_list(http, cluster.cluster_id, limit=10, offset=100)
    assert beyond["results"] == []
    assert beyond["total_count"] == 25
    # offset with page_size instead of limit; offset alone uses the default page size
    assert ids(ok_list(http, cluster.cluster_id, page_size=3, offset=2)) == newest_first[2:5]
    assert ids(ok_list(http, cluster.cluster_id, offset=12)) == newest_first[12:22]
    assert_invalid(post_list(http, cluster.cluster_id, page=2, offset=3), "query.offset")
    assert_invalid(post_list(http, cluster.cluster_id, limit=5, page_size=6), "query.limit")


def test_include_total_is_accepted_and_total_count_always_returned(http, history):
    cluster, _ = history
    for value in ("true", "false"):
        data = ok_list(http, cluster.cluster_id, page_size=4, include_total=value)
        assert data["total_count"] == 25
        assert data["pagination"]["total"] == 25
        assert len(data["results"]) == 4


def test_cursor_walk_visits_every_row_once_in_order(http, history):
    cluster, newest_first = history
    assert walk_by_cursor(http, cluster.cluster_id, {}, 4) == newest_first
    pages = []
    data = ok_list(http, cluster.cluster_id, page_size=10)
    pages.append(data["pagination"]["page"])
    while data["pagination"]["next_cursor"]:
        cursor = data["pagination"]["next_cursor"]
        data = ok_list(http, cluster.cluster_id, cursor=cursor)
        pages.append(data["pagination"]["page"])
        p = data["pagination"]
        assert p["page_size"] == 10
        assert query_of(p["previous_page"]) == {"page": str(p["page"] - 1), "page_size": "10"}
        if p["next_page"] is not None:
            assert query_of(p["next_page"]) == {"cursor": p["next_cursor"]}
    assert pages == [1, 2, 3]


def test_cursor_is_stable_while_rows_are_inserted(http, session_factory):
    cluster = make_cluster(session_factory)
    newest_first = list(reversed(make_history(session_factory, cluster, 12)))
    body = {"filters": {"status": "completed"}}
    data = ok_list(http, cluster.cluster_id, body, page_size=5)
    seen = ids(data)
    step = 0
    while data["pagination"]["next_cursor"]:
        step += 1
        # newer runs arrive at the head of the list between page requests; with offset paging they
        # would push rows already seen onto the next page
        make_runs(
            session_factory,
            cluster,
            [completed_fields(100 + 10 * step + k, created_at=BASE_TIME + timedelta(days=1, minutes=step * 3 + k))
             for k in range(3)],
        )  # fmt: skip
        data = ok_list(http, cluster.cluster_id, body, cursor=data["pagination"]["next_cursor"])
        seen.extend(ids(data))
    assert seen == newest_first
    assert data["total_count"] == 12 + 3 * step


@pytest.mark.parametrize(
    ("changed_body", "changed_params"),
    [
        ({"filters": {"status": "failed"}}, {}),
        ({"sort": {"field": "num_points", "direction": "desc"}}, {}),
        ({"sort": {"field": "created_at", "direction": "asc"}}, {}),
        ({"search": "billing"}, {}),
        ({}, {"page_size": 7}),
    ],
    ids=["filter", "sort-field", "sort-direction", "search", "page-size"],
)
def test_cursor_reused_with_another_query_is_refused(http, history, changed_body, changed_params):
    cluster, _ = history
    data = ok_list(http, cluster.cluster_id, {}, page_size=5)
    cursor = data["pagination"]["next_cursor"]
    response = post_list(http, cluster.cluster_id, changed_body, cursor=cursor, **changed_params)
    body = assert_problem(response, 400, "invalid_cursor")
    assert "different query" in body["detail"]
    # the same query still accepts it
    assert len(ok_list(http, cluster.cluster_id, {}, cursor=cursor)["results"]) == 5


def test_cursor_of_another_cluster_is_refused(http, history, session_factory):
    cluster, _ = history
    other = make_cluster(session_factory)
    make_history(session_factory, other, 12)
    cursor = ok_list(http, other.cluster_id, page_size=5)["pagination"]["next_cursor"]
    assert_problem(post_list(http, cluster.cluster_id, cursor=cursor), 400, "invalid_cursor")
    clusters_cursor = http.post("/v1/clusters/list", json={}, params={"page_size": 1})
    assert clusters_cursor.status_code == 200, clusters_cursor.text
    cursor = clusters_cursor.json()["pagination"]["next_cursor"]
    assert cursor
    assert_problem(post_list(http, cluster.cluster_id, cursor=cursor), 400, "invalid_cursor")


def _tamper(cursor: str) -> str:
    body_part, signature = cursor.split(".", 1)
    payload = json.loads(base64.urlsafe_b64decode(body_part + "=" * (-len(body_part) % 4)))
    payload["p"] = 99
    forged = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{forged}.{signature}"


def test_tampered_or_bogus_cursors_are_refused(http, history):
    cluster, _ = history
    cursor = ok_list(http, cluster.cluster_id, page_size=5)["pagination"]["next_cursor"]
    for bad in (
        _tamper(cursor),
        cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"),
        cursor.split(".")[0],
        "not-a-cursor",
        "abc.def",
        "....",
        "é.ü",
        "%00",
    ):
        body = assert_problem(post_list(http, cluster.cluster_id, cursor=bad), 400, "invalid_cursor")
        assert "cursor" in body["detail"]
    response = post_list(http, cluster.cluster_id, cursor="x" * 5000)
    assert_invalid(response, "query.cursor")
    response = post_list(http, cluster.cluster_id, cursor=cursor, page=2)
    assert_invalid(response, "query.cursor", "drop page")


def test_cursor_signed_by_another_server_key_is_refused(session_factory, db_url, history):
    cluster, _ = history
    with (
        BackgroundServer(Settings(database_url=db_url, secret_key="one key")) as first,
        httpx.Client(base_url=first.url) as http,
    ):
        cursor = ok_list(http, cluster.cluster_id, page_size=5)["pagination"]["next_cursor"]
    with (
        BackgroundServer(Settings(database_url=db_url, secret_key="another key")) as second,
        httpx.Client(base_url=second.url) as http,
    ):
        assert_problem(post_list(http, cluster.cluster_id, cursor=cursor), 400, "invalid_cursor")


def test_cursor_survives_a_restart_without_a_configured_key(session_factory, db_url, history):
    """Without CLUSTERBOOK_SECRET_KEY the signing key is kept in the database, so cursors outlive a restart."""
    cluster, newest_first = history
    with BackgroundServer(Settings(database_url=db_url)) as first, httpx.Client(base_url=first.url) as http:
        cursor = ok_list(http, cluster.cluster_id, page_size=5)["pagination"]["next_cursor"]
    with BackgroundServer(Settings(database_url=db_url)) as second, httpx.Client(base_url=second.url) as http:
        assert ids(ok_list(http, cluster.cluster_id, cursor=cursor)) == newest_first[5:10]


def test_previous_page_of_a_cursor_page_keeps_the_cursor_page_size(http, history):
    """A client that walks by cursor passes only ?cursor=; the link back must still mean pages of that size."""
    cluster, newest_first = history
    first = ok_list(http, cluster.cluster_id, page_size=5)
    second = ok_list(http, cluster.cluster_id, cursor=first["pagination"]["next_cursor"])
    third = ok_list(http, cluster.cluster_id, cursor=second["pagination"]["next_cursor"])
    assert ids(third) == newest_first[10:15]
    assert third["pagination"]["page"] == 3
    back = http.post(third["pagination"]["previous_page"], json={})
    assert back.status_code == 200, back.text
    assert ids(back.json()) == newest_first[5:10]
    assert back.json()["pagination"]["page_size"] == 5
