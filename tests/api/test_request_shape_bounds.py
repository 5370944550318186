"""Expensive request shapes refused up front, on both databases: deep offsets on a sort no index
serves (the cursor still walks all the way), filter trees past the node bound (empty groups count),
and searches with too many short terms."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.models.filters import MAX_NODES
from clusterbook.models.listing import MAX_SHORT_TERMS
from clusterbook.settings import Settings
from tests.api.helpers import assert_problem, ids, list_path, ok_list, post_list
from tests.factories import completed_fields, make_cluster, make_runs

BOUND = 10


@pytest.fixture
def server(db_url: str) -> Iterator[BackgroundServer]:
    settings = Settings(database_url=db_url, secret_key="test-signing-key", max_unindexed_offset=BOUND)
    with BackgroundServer(settings) as live:
        yield live


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


@pytest.fixture
def history(session_factory):
    cluster = make_cluster(session_factory)
    run_ids = make_runs(session_factory, cluster, [completed_fields(i, num_points=1000 - i) for i in range(30)])
    return cluster, run_ids


BY_POINTS = {"sort": {"field": "num_points", "direction": "asc"}}


def test_a_deep_offset_on_a_sort_no_index_serves_is_refused_naming_offset_and_the_cursor(client, history):
    cluster, run_ids = history
    at_bound = ok_list(client, cluster.cluster_id, BY_POINTS, offset=BOUND, page_size=5)
    assert ids(at_bound) == list(reversed(run_ids))[BOUND : BOUND + 5]
    body = assert_problem(post_list(client, cluster.cluster_id, BY_POINTS, offset=BOUND + 1), 422, "invalid_pagination")
    assert body["errors"][0]["loc"] == "query.offset"
    assert "num_points" in body["detail"] and "pagination.next_cursor" in body["detail"]
    assert "created_at" in body["detail"]  # names the sorts that may go deeper
    by_page = post_list(client, cluster.cluster_id, BY_POINTS, page=4, page_size=5)  # skips 15 rows
    assert assert_problem(by_page, 422, "invalid_pagination")["errors"][0]["loc"] == "query.page"
    # an index-served sort goes as deep as asked
    assert len(ok_list(client, cluster.cluster_id, {}, offset=25)["results"]) == 5


def test_the_cursor_still_walks_a_non_indexed_sort_past_the_offset_bound(client, history):
    cluster, run_ids = history
    seen: list[str] = []
    data = ok_list(client, cluster.cluster_id, BY_POINTS, page_size=4)
    while True:
        seen.extend(ids(data))
        cursor = data["pagination"]["next_cursor"]
        if cursor is None:
            break
        data = ok_list(client, cluster.cluster_id, BY_POINTS, cursor=cursor)
    assert seen == list(reversed(run_ids))  # num_points falls as the runs get newer


def test_a_filter_tree_of_empty_groups_is_bounded_by_its_node_count(client, history):
    cluster, _ = history
    flood = json.dumps({"filters": {"AND": [{}] * 200_000}}, separators=(",", ":"))
    response = client.post(list_path(cluster.cluster_id), content=flood, headers={"content-type": "application/json"})
    body = assert_problem(response, 422, "invalid_filter")
    assert f"more than {MAX_NODES} nodes" in body["detail"] and "empty ones" in body["detail"]
    assert body["errors"][0]["loc"] == f"filters.AND[{MAX_NODES - 1}]"
    within = {"filters": {"AND": [{}] * (MAX_NODES - 2) + [{"status": "completed"}]}}  # root + 299 children
    assert ok_list(client, cluster.cluster_id, within)["total_count"] == 30


def test_short_search_terms_are_limited_in_count(client, history):
    cluster, _ = history
    too_many = " ".join(["ab", "cd", "ef", "gh", "ij"][: MAX_SHORT_TERMS + 1])
    body = assert_problem(post_list(client, cluster.cluster_id, {"search": too_many}), 422, "validation_error")
    assert body["errors"][0]["loc"] == "search"
    assert f"at most {MAX_SHORT_TERMS} terms shorter than 3 characters" in body["detail"]
    allowed = " ".join(["in", "vo", "ic", "es"][:MAX_SHORT_TERMS]) + " invoice"
    assert ok_list(client, cluster.cluster_id, {"search": allowed})["total_count"] == 30
