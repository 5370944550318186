"""Hierarchies over HTTP: a cluster asking for a tree gets one with its completed runs, sub-topics
under their parent topic, served by GET …/hierarchy and the SDK; without one the route says why."""

from __future__ import annotations

import httpx

from clusterbook.client import Client
from clusterbook.errors import NotFound
from tests.engine.test_hierarchy import nested_corpus
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for


def test_a_nested_corpus_puts_sub_topics_under_their_parent(api: httpx.Client) -> None:
    ids, texts, vectors, truth = nested_corpus(per_sub=20)
    documents = [
        {"document_id": i, "text": t, "vector": v.round(5).tolist(), "metadata": {"parent": p, "sub": s}}
        for i, t, v, (p, s) in zip(ids, texts, vectors, truth, strict=True)
    ]
    upload_collection(api, "nested", documents)
    cluster = create_cluster(
        api,
        "nested",
        "nested",
        vector_config={
            "clustering_method": "kmeans",
            "algorithm_params": {"n_clusters": 6},
            "hierarchy": {"levels": 2},
        },
    )
    cid = cluster["cluster_id"]
    run = wait_for(api, cid, execute(api, cid)["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    assert run["config"]["hierarchy"] == {"levels": 2}
    tree = ok(api.get(f"/v1/clusters/{cid}/executions/{run['run_id']}/hierarchy"))
    assert tree["run_id"] == run["run_id"] and tree["levels"] == 2
    nodes = {n["node_id"]: n for n in tree["nodes"]}
    parent_of_doc = {d["document_id"]: d["metadata"]["parent"] for d in documents}
    for group_id in nodes["root"]["children"]:
        group = nodes[group_id]
        parents = set()
        for cluster_id in group["children"]:
            page = ok(
                api.post(
                    f"/v1/clusters/{cid}/executions/{run['run_id']}/members/list",
                    json={"filters": {"cluster_id": cluster_id}},
                    params={"page_size": 100},
                )
            )
            parents |= {parent_of_doc[m["document_id"]] for m in page["results"]}
        assert len(parents) == 1 and len(group["children"]) == 3
        assert parents.pop() in group["keywords"][:2]

    with Client(base_url=str(api.base_url)) as client:
        typed = client.executions.hierarchy(cid, run["run_id"])
        assert [n.node_id for n in typed.nodes] == [n["node_id"] for n in tree["nodes"]]


def test_attribute_clusters_nest_by_attribute_and_runs_without_a_tree_say_why(api: httpx.Client) -> None:
    places = [("France", "Paris"), ("France", "Lyon"), ("Japan", "Tokyo")]
    documents = [
        {"document_id": f"p{n}_{i}", "text": f"{city} trip", "metadata": {"country": country, "city": city}}
        for n, (country, city) in enumerate(places)
        for i in range(3)
    ]
    upload_collection(api, "places", documents)
    nested = create_cluster(
        api,
        "places",
        "places",
        cluster_type="attribute",
        attribute_config={"attributes": ["country", "city"], "hierarchical_grouping": True},
    )["cluster_id"]
    run = wait_for(api, nested, execute(api, nested)["run_id"])
    tree = ok(api.get(f"/v1/clusters/{nested}/executions/{run['run_id']}/hierarchy"))
    nodes = {n["node_id"]: n for n in tree["nodes"]}
    by_label = {nodes[c]["label"]: nodes[c] for c in nodes["root"]["children"]}
    assert sorted(by_label) == ["country=France", "country=Japan"]
    assert by_label["country=France"]["num_members"] == 6 and len(by_label["country=France"]["children"]) == 2

    flat = create_cluster(
        api, "flat", "places", cluster_type="attribute", attribute_config={"attributes": ["country", "city"]}
    )["cluster_id"]
    plain = wait_for(api, flat, execute(api, flat)["run_id"])
    missing = api.get(f"/v1/clusters/{flat}/executions/{plain['run_id']}/hierarchy")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "hierarchical_grouping" in missing.json()["detail"]
    with Client(base_url=str(api.base_url)) as client:
        try:
            client.executions.hierarchy(flat, plain["run_id"])
        except NotFound as exc:
            assert "asked for none" in str(exc)
        else:
            raise AssertionError("a run without a tree must be NotFound")


def test_hierarchy_levels_out_of_bounds_are_refused_at_create(api: httpx.Client) -> None:
    upload_collection(api, "empty", [{"document_id": "a", "text": "x"}])
    for levels in (1, 6):
        response = api.post(
            "/v1/clusters",
            json={
                "cluster_name": f"deep{levels}",
                "collection_ids": ["empty"],
                "vector_config": {"hierarchy": {"levels": levels}},
            },
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == "vector_config.hierarchy.levels"
