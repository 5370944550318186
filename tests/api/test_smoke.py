from tests.factories import make_cluster, make_history


def test_seed_example_fifty_executions_give_page_one_of_five(session_factory, http):
    """The seed's own workflow: 50 executions → page 1 of 5 with 10 results and a next_page link."""
    cluster = make_cluster(session_factory)
    make_history(session_factory, cluster, 50)
    response = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/list", json={})
    assert response.status_code == 200
    body = response.json()
    assert body["total_count"] == 50
    assert len(body["results"]) == 10
    assert body["pagination"]["page"] == 1
    assert body["pagination"]["total_pages"] == 5
    assert body["pagination"]["next_page"].startswith(str(http.base_url))
    assert body["pagination"]["previous_page"] is None
    assert body["stats"]["total_executions"] == 10
