"""Cluster configurations over HTTP: create (stored faithfully), read by id or name, update, delete
(with the execution history), the cluster list with the listing's paging, duplicate names, and
collection_ids that must name real collections of the namespace."""

from __future__ import annotations

import re
from datetime import datetime

from clusterbook.store.clusters import read_cluster
from tests.api.helpers import assert_invalid, assert_problem, list_path, make_collections, ok_list, query_of
from tests.factories import count_runs, make_cluster, make_history

FULL_CONFIG = {
    "cluster_name": "support-tickets",
    "collection_ids": ["support", "chat"],  # by name; stored as the collections' ids
    "cluster_type": "vector",
    "vector_config": {
        "clustering_method": "hdbscan",
        "algorithm_params": {"min_cluster_size": 25, "metric": "manhattan", "cluster_selection_method": "leaf"},
        "sample_size": 5000,
        "normalize_features": False,
        "embedder": "tfidf-svd",
        "recluster": {"max_unassigned_ratio": 0.35, "max_drift": 0.2},
        "hierarchy": {"levels": 3},
        "preprocessing": [{"step": "pca", "n_components": 20}, {"step": "normalize"}],
        "reassign_noise": {"max_distance": 0.3},
    },
    "filters": {"operator": "AND", "conditions": [{"field": "metadata.lang", "operator": "eq", "value": "en"}]},
    "llm_labeling": {
        "enabled": True,
        "provider": "openai",
        "model_name": "gpt-4o-mini",
        "base_url": "https://llm.example/v1",
        "include_summary": True,
        "include_keywords": False,
    },
    "description": "Tickets by topic",
}


def test_create_stores_the_configuration_faithfully(http):
    collection_ids = make_collections(http, "support", "chat")
    response = http.post("/v1/clusters", json=FULL_CONFIG)
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.match(r"^clust_[A-Za-z0-9]+$", body["cluster_id"])
    assert body["collection_ids"] == collection_ids
    for key, value in FULL_CONFIG.items():
        assert body[key] == (collection_ids if key == "collection_ids" else value), key
    created = datetime.fromisoformat(body["created_at"])
    assert created.tzinfo is not None
    assert body["updated_at"] == body["created_at"]
    fetched = http.get(f"/v1/clusters/{body['cluster_id']}").json()
    assert fetched == body
    assert http.get("/v1/clusters/support-tickets").json() == body


def test_create_fills_defaults(http):
    body = http.post("/v1/clusters", json={"cluster_name": "minimal"}).json()
    assert body["cluster_type"] == "vector"
    assert body["collection_ids"] == []
    attribute = http.post(
        "/v1/clusters", json={"cluster_name": "by-attr", "cluster_type": "attribute",
                              "attribute_config": {"attributes": ["metadata.category"]}}
    )  # fmt: skip
    assert attribute.status_code == 201, attribute.text
    assert attribute.json()["attribute_config"] == {"attributes": ["metadata.category"], "hierarchical_grouping": False}
    hierarchical = {"attributes": ["metadata.category", "metadata.region"], "hierarchical_grouping": True}
    (collection_id,) = make_collections(http, "a")
    stored = http.post("/v1/clusters", json={"cluster_name": "by-attrs", "cluster_type": "attribute",
                                             "attribute_config": hierarchical, "collection_ids": [collection_id]})  # fmt: skip
    assert stored.status_code == 201, stored.text
    assert http.get("/v1/clusters/by-attrs").json()["attribute_config"] == hierarchical
    assert stored.json()["collection_ids"] == [collection_id]


def test_duplicate_name_is_409(http):
    assert http.post("/v1/clusters", json={"cluster_name": "dupe"}).status_code == 201
    body = assert_problem(http.post("/v1/clusters", json={"cluster_name": "dupe"}), 409, "conflict")
    assert "dupe" in body["detail"]
    other = http.post("/v1/clusters", json={"cluster_name": "other"}).json()
    renamed = http.patch(f"/v1/clusters/{other['cluster_id']}", json={"cluster_name": "dupe"})
    assert_problem(renamed, 409, "conflict")
    assert http.get(f"/v1/clusters/{other['cluster_id']}").json()["cluster_name"] == "other"


def test_create_validation(http):
    assert_invalid(http.post("/v1/clusters", json={}), "cluster_name", code="validation_error")
    assert_invalid(http.post("/v1/clusters", json={"cluster_name": "x", "cluster_type": "graph"}), "cluster_type")
    assert_invalid(http.post("/v1/clusters", json={"cluster_name": "has/slash"}), "cluster_name")
    assert_invalid(http.post("/v1/clusters", json={"cluster_name": "x", "colour": "red"}), "colour")
    assert_invalid(
        http.post("/v1/clusters", json={"cluster_name": "x", "vector_config": {"sample_size": 1}}),
        "vector_config.sample_size",
    )
    attr_without_config = {"cluster_name": "x", "cluster_type": "attribute"}
    assert_invalid(http.post("/v1/clusters", json=attr_without_config), "body", "attribute_config")
    vector_with_attrs = {"cluster_name": "x", "attribute_config": {"attributes": ["a"]}}
    assert_invalid(http.post("/v1/clusters", json=vector_with_attrs), "body", "attribute_config")
    bad_filter = {"cluster_name": "x", "filters": {"operator": "AND", "conditions": [{"field": "a", "operator": "~"}]}}
    assert_invalid(http.post("/v1/clusters", json=bad_filter), "filters.conditions[0].operator", "accepted")
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0


def test_patch_changes_only_what_is_sent(http):
    make_collections(http, "support", "chat")
    (new_id,) = make_collections(http, "new")
    cluster = http.post("/v1/clusters", json=FULL_CONFIG).json()
    path = f"/v1/clusters/{cluster['cluster_id']}"
    response = http.patch(path, json={"cluster_name": "renamed", "collection_ids": ["new"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cluster_name"] == "renamed"
    assert body["collection_ids"] == [new_id]
    assert body["vector_config"] == FULL_CONFIG["vector_config"]
    assert body["description"] == "Tickets by topic"
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(cluster["updated_at"])
    # an explicit null clears a field; an absent one stays
    cleared = http.patch(path, json={"description": None, "llm_labeling": None}).json()
    assert cleared["description"] is None
    assert cleared["llm_labeling"] is None
    assert cleared["vector_config"] == FULL_CONFIG["vector_config"]
    assert cleared["filters"] == FULL_CONFIG["filters"]
    assert http.get("/v1/clusters/renamed").json() == cleared
    assert_problem(http.get("/v1/clusters/support-tickets"), 404, "not_found")
    assert_invalid(http.patch(path, json={"cluster_type": "attribute"}), "cluster_type")
    assert_invalid(
        http.patch(path, json={"vector_config": {"clustering_method": ""}}), "vector_config.clustering_method"
    )


def test_patch_by_name(http):
    http.post("/v1/clusters", json={"cluster_name": "by-name"})
    response = http.patch("/v1/clusters/by-name", json={"description": "found by name"})
    assert response.status_code == 200
    assert response.json()["description"] == "found by name"


def test_delete_removes_the_cluster_and_its_executions(http, session_factory):
    doomed = make_cluster(session_factory)
    kept = make_cluster(session_factory)
    make_history(session_factory, doomed, 7)
    make_history(session_factory, kept, 4)
    response = http.delete(f"/v1/clusters/{doomed.cluster_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert count_runs(session_factory, doomed.cluster_id) == 0
    assert count_runs(session_factory, kept.cluster_id) == 4
    assert_problem(http.get(f"/v1/clusters/{doomed.cluster_id}"), 404, "not_found")
    assert_problem(http.post(list_path(doomed.cluster_id), json={}), 404, "not_found")
    assert_problem(http.delete(f"/v1/clusters/{doomed.cluster_id}"), 404, "not_found")
    assert ok_list(http, kept.cluster_id)["total_count"] == 4
    # the name is free again
    assert http.post("/v1/clusters", json={"cluster_name": doomed.cluster_name}).status_code == 201


def test_cluster_list_pages_like_the_execution_listing(http, session_factory):
    names = [f"c-{i:02d}" for i in range(12)]
    for name in names:
        assert http.post("/v1/clusters", json={"cluster_name": name}).status_code == 201
    http.post("/v1/namespaces", json={"namespace_name": "elsewhere"})
    make_cluster(session_factory, namespace="elsewhere", cluster_name="hidden")
    response = http.post("/v1/clusters/list", json={}, params={"page_size": 5})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) >= {"results", "pagination", "total_count"}
    assert data["total_count"] == 12
    assert len(data["results"]) == 5
    p = data["pagination"]
    assert (p["total"], p["page"], p["page_size"], p["total_pages"], p["previous_page"]) == (12, 1, 5, 3, None)
    assert query_of(p["next_page"]) == {"page": "2", "page_size": "5"}
    seen = [c["cluster_name"] for c in data["results"]]
    for _ in range(3):
        if not data["pagination"]["next_cursor"]:
            break
        data = http.post("/v1/clusters/list", json={}, params={"cursor": data["pagination"]["next_cursor"]}).json()
        seen.extend(c["cluster_name"] for c in data["results"])
    assert seen == list(reversed(names))  # newest first; 'hidden' belongs to another namespace
    beyond = http.post("/v1/clusters/list", json={}, params={"page": 4, "page_size": 5}).json()
    assert beyond["results"] == [] and beyond["total_count"] == 12
    by_page = http.post("/v1/clusters/list", json={}, params={"page": 3, "page_size": 5}).json()
    assert [c["cluster_name"] for c in by_page["results"]] == ["c-01", "c-00"]
    assert_invalid(http.post("/v1/clusters/list", json={}, params={"page_size": 101}), "query.page_size", "100")


def test_cluster_list_filters_sorts_and_searches(http):
    for name, description in (("alpha-team", "Support tickets"), ("beta-team", "Product reviews"), ("gamma", None)):
        http.post("/v1/clusters", json={"cluster_name": name, "description": description})

    def listed(body):
        response = http.post("/v1/clusters/list", json=body)
        assert response.status_code == 200, response.text
        return [c["cluster_name"] for c in response.json()["results"]]

    assert listed({"filters": {"cluster_name": {"ends_with": "-TEAM"}}, "sort": {"field": "cluster_name",
                   "direction": "asc"}}) == ["alpha-team", "beta-team"]  # fmt: skip
    assert listed({"search": "REVIEWS"}) == ["beta-team"]
    assert listed({"search": "team tickets"}) == ["alpha-team"]
    assert listed({"filters": {"description": None}}) == ["gamma"]
    assert listed({"sort": {"field": "cluster_name", "direction": "desc"}}) == ["gamma", "beta-team", "alpha-team"]
    assert_invalid(
        http.post("/v1/clusters/list", json={"filters": {"num_points": 1}}), "filters.num_points", "accepted"
    )
    assert_invalid(http.post("/v1/clusters/list", json={"sort": {"field": "num_points"}}), "sort.field", "cluster_name")
    assert_invalid(http.post("/v1/clusters/list", json={"stats_scope": "all"}), "body", "filters, sort, search")


def test_cluster_routes_respect_the_namespace_header(http):
    http.post("/v1/namespaces", json={"namespace_name": "team-x"})
    ns = {"X-Namespace": "team-x"}
    created = http.post("/v1/clusters", json={"cluster_name": "private"}, headers=ns)
    assert created.status_code == 201
    cluster = created.json()
    assert cluster["namespace_id"] != "ns_default"
    assert http.get(f"/v1/clusters/{cluster['cluster_id']}", headers=ns).status_code == 200
    assert_problem(http.get(f"/v1/clusters/{cluster['cluster_id']}"), 404, "not_found")
    assert_problem(http.get("/v1/clusters/private"), 404, "not_found")
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0
    assert http.post("/v1/clusters/list", json={}, headers=ns).json()["total_count"] == 1
    # the same name is free in the default namespace
    assert http.post("/v1/clusters", json={"cluster_name": "private"}).status_code == 201
    assert_problem(http.post("/v1/clusters", json={"cluster_name": "x"}, headers={"X-Namespace": "ghost"}), 404)


def test_a_write_is_committed_before_its_response_arrives(http, session_factory):
    """Read-your-writes: once the 201/200/204 is in hand, any other connection sees the change."""
    for i in range(15):
        created = http.post("/v1/clusters", json={"cluster_name": f"rw-{i}"}).json()
        with session_factory() as session:
            found = read_cluster(session, namespace_id=created["namespace_id"], cluster_ref=created["cluster_id"])
        assert found is not None and found.cluster_name == f"rw-{i}", i
        http.patch(f"/v1/clusters/{created['cluster_id']}", json={"description": "changed"})
        with session_factory() as session:
            found = read_cluster(session, namespace_id=created["namespace_id"], cluster_ref=created["cluster_id"])
        assert found is not None and found.description == "changed", i


def test_cluster_name_shaped_like_an_id_is_refused(http):
    """Clusters are addressed by id or name, so a name may not take the id prefix."""
    response = http.post("/v1/clusters", json={"cluster_name": "clust_abc"})
    assert response.status_code == 422
    assert "clust_" in response.json()["errors"][0]["message"]
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0


def test_collection_ids_must_name_collections_of_the_namespace(http):
    """Each entry is a collection id or name of the request's namespace; ids are what gets stored."""
    news_id, blogs_id = make_collections(http, "news", "blogs")
    http.post("/v1/namespaces", json={"namespace_name": "other"})
    (foreign_id,) = make_collections(http, "foreign", headers={"X-Namespace": "other"})

    created = http.post("/v1/clusters", json={"cluster_name": "mixed", "collection_ids": ["news", blogs_id, "news"]})
    assert created.status_code == 201, created.text
    assert created.json()["collection_ids"] == [news_id, blogs_id]  # resolved, repeats dropped

    missing = http.post("/v1/clusters", json={"cluster_name": "bad", "collection_ids": ["news", "ghost", foreign_id]})
    body = assert_invalid(missing, "collection_ids[1]", "ghost", code="validation_error")
    assert [e["loc"] for e in body["errors"]] == ["collection_ids[1]", "collection_ids[2]"]
    assert "'ghost'" in body["detail"] and foreign_id in body["detail"]
    assert "POST /v1/collections" in body["detail"] and "clusterbook import" in body["detail"]
    assert_problem(http.get("/v1/clusters/bad"), 404)

    path = f"/v1/clusters/{created.json()['cluster_id']}"
    assert_invalid(http.patch(path, json={"collection_ids": ["gone"]}), "collection_ids[0]", "gone")
    assert http.get(path).json()["collection_ids"] == [news_id, blogs_id]
    assert http.patch(path, json={"collection_ids": []}).json()["collection_ids"] == []


def test_cluster_filters_must_be_a_valid_document_filter(http):
    """The pre-filter speaks the document filter language; a mistake is refused when saved, not when run."""
    ok = {"cluster_name": "ok", "filters": {"metadata.lang": "en", "metadata.year": {"gte": 2020}}}
    assert http.post("/v1/clusters", json=ok).status_code == 201
    bad_field = {"cluster_name": "x", "filters": {"lang": "en"}}
    assert_invalid(http.post("/v1/clusters", json=bad_field), "filters.lang", "metadata.<key>", code="invalid_filter")
    bad_value = {"cluster_name": "x", "filters": {"created_at": {"gt": "yesterday"}}}
    assert_invalid(http.post("/v1/clusters", json=bad_value), "filters.created_at.gt", "ISO 8601")
    patched = http.patch("/v1/clusters/ok", json={"filters": {"metadata.tags": {"contains": 3}}})
    assert_invalid(patched, "filters.metadata.tags.contains", "takes text")
    assert http.get("/v1/clusters/ok").json()["filters"] == ok["filters"]
