"""Input found by review to break things once: NUL characters, parameter floods, non-ASCII case,
repeated search terms, unparsable bodies and nulls in PATCH. Each gets a clear 4xx (or the right
answer), the same on SQLite and PostgreSQL, and leaves nothing half-written."""

from __future__ import annotations

import pytest

from tests.api.helpers import assert_problem, ids, list_path, make_collections, ok_list, post_list
from tests.factories import completed_fields, make_cluster, make_execution, make_history


@pytest.fixture
def cluster(session_factory):
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 3)
    return cluster


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/clusters/x%00"),
        ("PATCH", "/v1/clusters/x%00"),
        ("DELETE", "/v1/clusters/x%00"),
        ("POST", "/v1/clusters/x%00/executions/list"),
        ("GET", "/v1/clusters/{cid}/executions/run_%00"),
        ("POST", "/v1/clusters/{cid}/executions/run_%00/cancel"),
    ],
)
def test_nul_in_a_path_id_is_a_plain_404(http, cluster, method, path):
    response = http.request(method, path.format(cid=cluster.cluster_id), json={} if method != "GET" else None)
    assert_problem(response, 404, "not_found")


def test_nul_in_the_namespace_header_is_refused(http, cluster):
    response = post_list(http, cluster.cluster_id, headers={"X-Namespace": "a\x01b"})
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "body",
    [
        {"cluster_name": "n1", "description": "a\u0000b"},
        {"cluster_name": "n1", "collection_ids": ["col\u0000"]},
        {"cluster_name": "n1", "vector_config": {"algorithm_params": {"k\u0000": 1}}},
        {"cluster_name": "n1", "vector_config": {"algorithm_params": {"label": "x\u0000"}}},
        {"cluster_name": "n1", "llm_labeling": {"provider": "\u0000"}},
        {"cluster_name": "n1", "filters": {"tag": "a\u0000"}},
    ],
)
def test_text_a_database_cannot_keep_is_refused_before_writing(http, body):
    response = http.post("/v1/clusters", json=body)
    assert_problem(response, 422)
    assert "NUL" in response.json()["detail"]
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_parameters_are_refused_not_stored_as_null(http, number):
    raw = '{"cluster_name": "n1", "vector_config": {"algorithm_params": {"eps": NUMBER}}}'.replace("NUMBER", number)
    response = http.post("/v1/clusters", content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 422)
    assert "finite" in response.json()["detail"]
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0


def test_a_filter_with_too_many_values_in_all_is_a_422_not_a_database_error(http, cluster):
    condition = {"field": "num_points", "operator": "in", "value": list(range(105, 1105))}
    flood = {"filters": {"operator": "OR", "conditions": [condition] * 66}}
    response = post_list(http, cluster.cluster_id, flood)
    assert_problem(response, 422, "invalid_filter")
    assert "5000 values" in response.json()["detail"]
    within = {"filters": {"operator": "OR", "conditions": [condition] * 4}}
    assert ok_list(http, cluster.cluster_id, within)["total_count"] == 2  # num_points 110 and 120, not 100


def test_case_insensitive_filters_fold_non_ascii_letters_on_both_databases(http, session_factory):
    cluster = make_cluster(session_factory)
    run = make_execution(session_factory, cluster, **completed_fields(0, error_message="Échec ÜBER Straße"))
    make_execution(session_factory, cluster, **completed_fields(1, error_message="plain ascii"))
    for needle in ("Échec", "échec", "ÉCHEC", "über"):
        body = {"filters": {"error_message": {"contains": needle}}}
        assert ids(ok_list(http, cluster.cluster_id, body)) == [run.run_id], needle
    starts = {"filters": {"error_message": {"starts_with": "ÉCH"}}}
    assert ids(ok_list(http, cluster.cluster_id, starts)) == [run.run_id]
    exact_case = {
        "filters": {"field": "error_message", "operator": "contains", "value": "échec", "case_sensitive": True}
    }
    assert ids(ok_list(http, cluster.cluster_id, exact_case)) == []


def test_repeated_search_terms_count_once_and_too_many_terms_are_refused(http, cluster):
    once = ok_list(http, cluster.cluster_id, {"search": "billing"})
    assert once["total_count"] == 3
    repeated = ok_list(http, cluster.cluster_id, {"search": " ".join(["BILLING", "billing"] * 20)})
    assert ids(repeated) == ids(once)
    many = " ".join(f"term{i}" for i in range(17))
    response = post_list(http, cluster.cluster_id, {"search": many})
    assert_problem(response, 422)
    assert "16" in response.json()["detail"]


def test_bodies_the_json_parser_rejects_say_why(http, cluster):
    path = list_path(cluster.cluster_id)
    headers = {"content-type": "application/json"}
    not_utf8 = http.post(path, content=b'{"search": "\xff"}', headers=headers)
    assert_problem(not_utf8, 400, "invalid_json")
    assert "UTF-8" in not_utf8.json()["detail"]
    huge_number = http.post(path, content='{"search": "x", "sort": ' + "9" * 5000 + "}", headers=headers)
    assert_problem(huge_number, 400, "invalid_json")
    too_deep = http.post(path, content='{"filters": ' + "[" * 5000 + "]" * 5000 + "}", headers=headers)
    assert_problem(too_deep, 422, "validation_error")
    assert "8 levels" in too_deep.json()["detail"]


def test_patch_cannot_null_required_fields_or_break_the_type_config_rule(http, session_factory):
    make_collections(http, "a")
    created = http.post("/v1/clusters", json={"cluster_name": "keep", "collection_ids": ["a"]}).json()
    path = f"/v1/clusters/{created['cluster_id']}"
    for body in ({"collection_ids": None}, {"cluster_name": None}, {"attribute_config": {"attributes": ["lang"]}}):
        response = http.patch(path, json=body)
        assert_problem(response, 422)
    after = http.get(path).json()
    assert after == created
