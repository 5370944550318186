"""Hostile and careless input: each is a clear 4xx in the one problem-details shape, never a 500,
never a stack trace or SQL text — and the history is unharmed afterwards."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_invalid, assert_problem, list_path, ok_list, post_list
from tests.factories import make_cluster, make_history


@pytest.fixture
def cluster(session_factory):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 12)
    return cluster


def raw_post(http, path: str, content: bytes | str, content_type: str = "application/json", **params):
    return http.post(path, content=content, headers={"content-type": content_type}, params=params)


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"filters": }', b"{'search': 'x'}", b'{"search": "x",}', b"\xff\xfe{}", b"nul\x00l", b"[1, 2"],
    ids=["unclosed", "missing-value", "single-quotes", "trailing-comma", "not-utf8", "nul-byte", "unclosed-array"],
)
def test_malformed_json_is_400(http, cluster, content):
    response = raw_post(http, list_path(cluster.cluster_id), content)
    body = assert_problem(response, 400, "invalid_json")
    assert "JSON" in body["detail"]


@pytest.mark.parametrize(
    ("body", "loc", "fragments"),
    [
        ({"filters": "status=completed"}, "filters", ["dictionary"]),
        ({"filters": ["status"]}, "filters", []),
        ({"filters": 3}, "filters", []),
        ({"search": 5}, "search", ["string"]),
        ({"search": {"q": "x"}}, "search", []),
        ({"sort": "created_at"}, "sort", []),
        ({"sort": {"field": 5}}, "sort.field", []),
        ({"sort": {"field": "created_at", "direction": 1}}, "sort.direction", []),
        ({"stats_scope": True}, "stats_scope", []),
        ([], "body", []),
        ("search", "body", []),
        (17, "body", []),
    ],
)
def test_wrong_types_are_422_at_the_right_place(http, cluster, body, loc, fragments):
    response = post_list(http, cluster.cluster_id, body)
    assert_invalid(response, loc, *fragments, code="validation_error")


@pytest.mark.parametrize("key", ["filter", "limit", "page", "Search", "order_by"])
def test_unknown_body_keys_name_the_accepted_ones(http, cluster, key):
    response = post_list(http, cluster.cluster_id, {key: 1})
    body = assert_invalid(response, "body", repr(key), "filters", "sort", "search", "stats_scope")
    assert key in body["detail"]


def test_null_body_and_null_members_mean_defaults(http, cluster):
    for body in (None, {"filters": None, "sort": None, "search": None}, {"filters": {}}):
        response = http.post(list_path(cluster.cluster_id), json=body)
        assert response.status_code == 200, (body, response.text)
        assert response.json()["total_count"] == 12


@pytest.mark.parametrize(
    ("params", "loc", "fragments"),
    [
        ({"page": 0}, "query.page", ["1-indexed"]),
        ({"page": -1}, "query.page", []),
        ({"page": "abc"}, "query.page", ["integer"]),
        ({"page": "1.5"}, "query.page", []),
        ({"page": 10**12}, "query.page", []),
        ({"page": 10**40}, "query.page", []),
        ({"page_size": 1000}, "query.page_size", ["100"]),
        ({"page_size": 0}, "query.page_size", []),
        ({"page_size": "ten"}, "query.page_size", []),
        ({"limit": -5}, "query.limit", []),
        ({"offset": "x"}, "query.offset", []),
        ({"include_total": "perhaps"}, "query.include_total", []),
    ],
)
def test_bad_paging_params_are_422(http, cluster, params, loc, fragments):
    response = post_list(http, cluster.cluster_id, {}, **params)
    assert_invalid(response, loc, *fragments)


@pytest.mark.parametrize("cursor", ["bogus", "", "a.b.c", "eyJxIjoxfQ.AAAA", "'; DROP TABLE executions; --"])
def test_bogus_cursor(http, cluster, cursor):
    response = post_list(http, cluster.cluster_id, {}, cursor=cursor)
    assert_problem(response, 400, "invalid_cursor", sent=cursor)


SQL_LOOKING = [
    "'; DROP TABLE executions; --",
    '" OR ""="',
    "1; SELECT * FROM namespaces",
    "created_at DESC; DELETE FROM executions",
    "(SELECT 1)",
    "run_id) OR 1=1 --",
    "created_at' --",
]


@pytest.mark.parametrize("text", SQL_LOOKING)
def test_sql_looking_strings_are_just_data(http, cluster, text):
    search = post_list(http, cluster.cluster_id, {"search": text})
    assert search.status_code == 200, search.text
    assert search.json()["total_count"] == 0
    sort = post_list(http, cluster.cluster_id, {"sort": {"field": text}})
    problem = assert_invalid(sort, "sort.field", "accepted", code="invalid_sort", sent=text)
    assert "created_at" in problem["errors"][0]["message"]
    field = post_list(http, cluster.cluster_id, {"filters": {"operator": "AND", "conditions": [
        {"field": text, "operator": "eq", "value": 1}]}})  # fmt: skip
    assert_invalid(field, "filters.conditions[0].field", "accepted", code="invalid_filter", sent=text)
    operator = post_list(http, cluster.cluster_id, {"filters": {"operator": "AND", "conditions": [
        {"field": "run_id", "operator": text, "value": 1}]}})  # fmt: skip
    assert_invalid(operator, "filters.conditions[0].operator", "accepted", code="invalid_filter", sent=text)
    value = post_list(http, cluster.cluster_id, {"filters": {"run_id": text}})
    assert value.status_code == 200 and value.json()["total_count"] == 0
    status = post_list(http, cluster.cluster_id, {"filters": {"status": text}})
    assert_invalid(status, "filters.status", "completed", code="invalid_filter", sent=text)
    for contains in ({"error_message": {"contains": text}}, {"run_id": {"starts_with": text}}):
        matched = post_list(http, cluster.cluster_id, {"filters": contains})
        assert matched.status_code == 200 and matched.json()["total_count"] == 0
    # the history is intact
    assert ok_list(http, cluster.cluster_id)["total_count"] == 12
    assert http.get("/v1/namespaces").status_code == 200


def test_extreme_values_are_4xx_or_answered(http, cluster):
    extreme_bodies = [
        {"filters": {"num_points": {"gt": 10**30}}},
        {"filters": {"num_points": {"gt": -(10**30)}}},
        {"filters": {"num_points": {"gt": 1e308}}},
        {"filters": {"created_at": {"gt": "9999-12-31T23:59:59-01:00"}}},
        {"filters": {"created_at": {"gt": "0001-01-01T00:00:00+01:00"}}},
        {"filters": {"run_id": "\u0000"}},
        {"filters": {"run_id": {"in": list(range(2000))}}},
        {"filters": {"run_id": {"in": ["x"] * 1001}}},
        {"search": "\U0001f600 \u00e9\u00e8"},
        {"search": "x" * 500},
    ]
    for body in extreme_bodies:
        response = post_list(http, cluster.cluster_id, body)
        assert response.status_code < 500, (body, response.text)
        if response.status_code >= 400:
            assert_problem(response, response.status_code)


def test_deeply_nested_json_is_a_422_that_names_the_depth_limit(http, cluster):
    deep = '{"filters": ' + '{"AND": [' * 3000 + "{}" + "]}" * 3000 + "}"
    response = raw_post(http, list_path(cluster.cluster_id), deep)
    assert_problem(response, 422, "validation_error")
    assert "8 levels" in response.json()["detail"]
    deep_list = '{"filters": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = raw_post(http, list_path(cluster.cluster_id), deep_list)
    assert_problem(response, 422, "validation_error")
    not_chain = '{"filters": ' + '{"NOT": [' * 10_000 + '{"status": "failed"}' + "]}" * 10_000 + "}"
    response = raw_post(http, list_path(cluster.cluster_id), not_chain)
    assert_problem(response, 422, "validation_error")


def test_oversized_body_is_413(http, cluster):
    big = '{"search": "' + "x" * 2_000_000 + '"}'
    response = raw_post(http, list_path(cluster.cluster_id), big)
    assert_problem(response, 413, "payload_too_large")


def test_non_json_content_type_is_4xx(http, cluster):
    response = raw_post(http, list_path(cluster.cluster_id), "search=billing", "application/x-www-form-urlencoded")
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


def test_unknown_routes_and_methods_use_the_problem_shape(http, cluster):
    assert_problem(http.get("/v1/nothing-here"), 404, "not_found")
    assert_problem(http.delete(list_path(cluster.cluster_id)), 405, "method_not_allowed")
    assert_problem(http.put(f"/v1/clusters/{cluster.cluster_id}", json={}), 405, "method_not_allowed")


def test_validation_problems_list_every_bad_location(http, cluster):
    response = post_list(http, cluster.cluster_id, {"search": 5, "sort": {"field": 5}, "stats_scope": "x"})
    body = assert_problem(response, 422, "validation_error")
    locs = {e["loc"] for e in body["errors"]}
    assert {"search", "sort.field", "stats_scope"} <= locs
    for error in body["errors"]:
        assert set(error) == {"loc", "message", "type"}
        assert error["message"]
