"""``GET /v1/clusters/{id}/executions/config-fields``: the config fields a cluster's runs carry, read
from the shared history (``tests/truth_table.py``: CONFIGS) over real HTTP on both databases; its
scan is bounded to the newest runs, and it is namespaced like every cluster route."""

from __future__ import annotations

from datetime import timedelta

from clusterbook.models.config_fields import CONFIG_FIELDS, MAX_LISTED_FIELDS
from clusterbook.store.config_fields import list_config_fields
from clusterbook.store.executions import execution_values, insert_executions
from tests.api.helpers import assert_problem, ok_list
from tests.factories import make_cluster
from tests.truth_table import T0, load_history


def config_fields(http, cluster_id, **headers):
    return http.get(f"/v1/clusters/{cluster_id}/executions/config-fields", headers=headers or None)


def test_the_declared_fields_then_every_parameter_with_its_type_and_run_count(http, session_factory):
    history = load_history(session_factory)
    response = config_fields(http, history.cluster_id)
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"results", "scanned_runs", "complete"}
    assert (data["scanned_runs"], data["complete"]) == (8, True)
    found = {f["field"]: (f["value_type"], f["run_count"]) for f in data["results"]}
    assert [f["field"] for f in data["results"]][:4] == [
        "config.algorithm",
        "config.embedder",
        "config.random_state",
        "config.sample_size",
    ]
    # seven runs have a config (d has none); sample_size is null in five of them (not stored)
    assert found["config.algorithm"] == ("string", 7)
    assert found["config.embedder"] == ("string", 7)
    assert found["config.random_state"] == ("integer", 7)
    assert found["config.sample_size"] == ("integer", 2)
    params = {k: v for k, v in found.items() if k.startswith("config.params.")}
    assert params == {
        "config.params.batch_size": ("number", 1),
        "config.params.compute_full_tree": ("boolean", 1),
        "config.params.eps": ("number", 1),
        "config.params.init": ("string", 3),
        "config.params.linkage": ("string", 1),
        "config.params.metric": ("string", 2),
        "config.params.min_cluster_size": ("number", 1),
        "config.params.min_samples": ("number", 1),
        "config.params.n_clusters": ("number", 5),  # a, c, e, f, h; tol is null in f: not a field
    }
    assert [f["label"] for f in data["results"] if not f["declared"]][-1] == "n_clusters"
    # every field listed is one the listing accepts: each filters to exactly run_count runs
    for field, (_, count) in found.items():
        body = {"filters": {"operator": "AND", "conditions": [{"field": field, "operator": "exists", "value": True}]}}
        response = http.post(f"/v1/clusters/{history.cluster_id}/executions/list", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["total_count"] == count, field
    listed = ok_list(http, history.cluster_id, {"stats_scope": "all", "group_by": "config.params.n_clusters"})
    assert sum(g["stats"]["total_executions"] for g in listed["groups"] if g["key"] is not None) == 5


def test_a_parameter_of_several_types_is_mixed_and_a_cluster_without_runs_has_counts_of_zero(http, session_factory):
    cluster = make_cluster(session_factory)
    empty = config_fields(http, cluster.cluster_id).json()
    assert (empty["scanned_runs"], empty["complete"]) == (0, True)
    assert [(f["field"], f["run_count"]) for f in empty["results"]] == [(f.field, 0) for f in CONFIG_FIELDS]
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            status="completed",
            created_at=T0 + timedelta(seconds=i),
            config={"algorithm": "x", "params": {"p": value}},
        )
        for i, value in enumerate([1, "one", True])
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    fields = {f["field"]: f for f in config_fields(http, cluster.cluster_id).json()["results"]}
    assert (fields["config.params.p"]["value_type"], fields["config.params.p"]["run_count"]) == ("mixed", 3)


def test_the_scan_is_bounded_to_the_newest_runs_and_the_field_count_bounded(session_factory):
    """Both bounds, exercised small through the store's parameters (the defaults are module constants)."""
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            status="completed",
            created_at=T0 + timedelta(seconds=i),
            config={"params": {f"p{i}": i, "shared": i}},
        )
        for i in range(6)
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    with session_factory() as session:
        newest = list_config_fields(session, cluster_id=cluster.cluster_id, max_runs=2)
        assert (newest.scanned_runs, newest.complete) == (2, False)
        params = [f.field for f in newest.results if not f.declared]
        assert params == ["config.params.p4", "config.params.p5", "config.params.shared"]  # the two newest runs
        few = list_config_fields(session, cluster_id=cluster.cluster_id, max_fields=1)
        assert (few.scanned_runs, few.complete) == (6, False)
        assert [(f.field, f.run_count) for f in few.results if not f.declared] == [("config.params.shared", 6)]
        whole = list_config_fields(session, cluster_id=cluster.cluster_id)
        assert whole.complete and len([f for f in whole.results if not f.declared]) == 7 <= MAX_LISTED_FIELDS


def test_unknown_cluster_and_other_namespaces_are_not_found(http, session_factory):
    history = load_history(session_factory)
    assert_problem(config_fields(http, "clust_missing"), 404, "not_found")
    assert http.post("/v1/namespaces", json={"namespace_name": "other"}).status_code == 201
    assert_problem(config_fields(http, history.cluster_id, **{"X-Namespace": "other"}), 404, "not_found")
