"""``POST /v1/clusters/{id}/executions/compare`` over real HTTP on both databases: runs with
hand-written memberships, so every number (ARI against scikit-learn on the same labels, matches,
Jaccard, flows, the moved sample, config differences, the best run per measure) is checked by hand
or by a plain reference; and every bad request is a 422 naming the bad run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.models.clusters import Cluster
from clusterbook.models.measures import MEASURES
from clusterbook.settings import Settings
from clusterbook.store.queue import insert_members
from tests.api.helpers import assert_invalid, assert_problem
from tests.factories import completed_fields, make_cluster, make_execution
from tests.store.test_relation import add_members

Members = dict[str, str | None]

REFERENCE: Members = {
    **{f"d{i:02d}": "cl_0" for i in range(1, 6)},
    **{f"d{i:02d}": "cl_1" for i in range(6, 10)},
    "d10": None,
    "d11": None,
    "only-reference": "cl_0",
}
OTHER: Members = {
    **{f"d{i:02d}": "cl_1" for i in range(1, 5)},
    "d05": "cl_0",
    **{f"d{i:02d}": "cl_0" for i in range(6, 10)},
    "d10": None,
    "d11": "cl_0",
    "only-other": "cl_1",
}
RELABELED: Members = {doc: {"cl_0": "cl_1", "cl_1": "cl_0", None: None}[c] for doc, c in REFERENCE.items()}
"""The reference's partition under other cluster names: the same clustering."""

KMEANS = {"algorithm": "kmeans", "params": {"n_clusters": 2, "init": "k-means++"}, "random_state": 0}


def centroids(*labels: str) -> list[dict[str, Any]]:
    return [{"cluster_id": f"cl_{i}", "num_members": 10 - i, "label": label} for i, label in enumerate(labels)]


def completed_run(
    factory: sessionmaker[Session],
    cluster: Cluster,
    i: int,
    members: Members,
    *,
    config: dict[str, Any],
    metrics: dict[str, Any],
    labels: tuple[str, ...] = ("Billing", "Login"),
) -> str:
    run = make_execution(
        factory,
        cluster,
        **completed_fields(
            i,
            config=config,
            metrics=metrics,
            centroids=centroids(*labels),
            num_points=len(members),
            num_clusters=len(labels),
        ),
    )
    add_members(factory, run.run_id, members)
    return run.run_id


def compare(http: httpx.Client, cluster_id: str, run_ids: Any, **kwargs: Any) -> httpx.Response:
    return http.post(f"/v1/clusters/{cluster_id}/executions/compare", json={"run_ids": run_ids}, **kwargs)


def sklearn_scores(reference: Members, other: Members) -> tuple[float, float]:
    """scikit-learn's ARI and AMI over the shared documents, noise as its own label (a reference)."""
    shared = sorted(set(reference) & set(other))
    a = [reference[d] or "noise" for d in shared]
    b = [other[d] or "noise" for d in shared]
    return adjusted_rand_score(a, b), adjusted_mutual_info_score(a, b)


def test_compare_of_known_runs(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    elsewhere = make_cluster(session_factory)  # another cluster of the namespace: its runs are comparable too
    a = completed_run(
        session_factory,
        cluster,
        0,
        REFERENCE,
        config=KMEANS,
        metrics={"silhouette_score": 0.5, "davies_bouldin_index": 0.9, "noise_points": 2},
    )
    b = completed_run(
        session_factory,
        cluster,
        1,
        OTHER,
        config={**KMEANS, "random_state": 1},
        metrics={"silhouette_score": 0.7, "davies_bouldin_index": 1.2, "noise_points": 1},
        labels=("Refunds", "Invoices"),
    )
    c = completed_run(
        session_factory,
        elsewhere,
        2,
        RELABELED,
        config={"algorithm": "agglomerative", "params": {"n_clusters": 2, "linkage": "ward"}, "random_state": 0},
        metrics={"silhouette_score": 0.7, "davies_bouldin_index": None, "noise_points": 2},
    )
    response = compare(http, cluster.cluster_id, [a, b, c])
    assert response.status_code == 200, response.text
    data = response.json()

    assert [run["run_id"] for run in data["runs"]] == [a, b, c]
    assert data["runs"][0] == http.get(f"/v1/clusters/{cluster.cluster_id}/executions/{a}").json()
    assert data["runs"][2] == http.get(f"/v1/clusters/{elsewhere.cluster_id}/executions/{c}").json()

    assert data["config_diff"] == [
        {"key": "algorithm", "values": ["kmeans", "kmeans", "agglomerative"]},
        {"key": "params.init", "values": ["k-means++", "k-means++", None]},
        {"key": "params.linkage", "values": [None, None, "ward"]},
        {"key": "random_state", "values": [0, 1, 0]},
    ]

    metrics = {m["name"]: m for m in data["metrics"]}
    assert [m["name"] for m in data["metrics"]] == [m.name for m in MEASURES]
    assert metrics["silhouette_score"]["values"] == [0.5, 0.7, 0.7]
    assert metrics["silhouette_score"]["best_run_id"] == b  # higher is better; a tie goes to the first
    assert metrics["davies_bouldin_index"]["values"] == [0.9, 1.2, None]
    assert metrics["davies_bouldin_index"]["best_run_id"] == a  # lower is better, null skipped
    assert metrics["noise_points"]["direction"] is None and metrics["noise_points"]["best_run_id"] is None
    assert metrics["calinski_harabasz_score"]["values"] == [None, None, None]
    assert metrics["calinski_harabasz_score"]["best_run_id"] is None
    assert metrics["duration_ms"]["best_run_id"] is None  # no direction: never "best"

    first, second = data["pairs"]
    assert (first["reference_run_id"], first["other_run_id"]) == (a, b)
    ari, ami = sklearn_scores(REFERENCE, OTHER)
    assert first["shared_documents"] == 11
    assert abs(first["ari"] - ari) < 1e-12 and abs(first["ami"] - ami) < 1e-12
    assert first["matches"] == [
        {
            "reference_cluster_id": "cl_0",
            "other_cluster_id": "cl_1",
            "overlap": 4,
            "jaccard": 4 / 5,
            "reference_label": "Billing",
            "other_label": "Invoices",
        },
        {
            "reference_cluster_id": "cl_1",
            "other_cluster_id": "cl_0",
            "overlap": 4,
            "jaccard": 4 / 6,
            "reference_label": "Login",
            "other_label": "Refunds",
        },
    ]
    assert first["unmatched_other_cluster_ids"] == []
    # d05 went cl_0 -> cl_0 (cl_0 is matched to cl_1), d11 noise -> cl_0; d10 stays noise
    assert (first["moved_documents"], first["matched_fraction"]) == (2, 9 / 11)
    assert first["moved_sample"] == [
        {"document_id": "d05", "reference_cluster_id": "cl_0", "other_cluster_id": "cl_0"},
        {"document_id": "d11", "reference_cluster_id": None, "other_cluster_id": "cl_0"},
    ]
    assert [(f["reference_cluster_id"], f["other_cluster_id"], f["documents"]) for f in first["flows"]] == [
        ("cl_0", "cl_1", 4),
        ("cl_1", "cl_0", 4),
        ("cl_0", "cl_0", 1),
        (None, "cl_0", 1),
        (None, None, 1),
    ]
    assert first["flow_count"] == 5 and first["note"] is None

    assert (second["reference_run_id"], second["other_run_id"]) == (a, c)
    assert (second["ari"], second["ami"], second["moved_documents"], second["moved_sample"]) == (1.0, 1.0, 0, [])
    assert [(m["reference_cluster_id"], m["other_cluster_id"], m["jaccard"]) for m in second["matches"]] == [
        ("cl_0", "cl_1", 1.0),
        ("cl_1", "cl_0", 1.0),
    ]


def test_flows_are_capped_and_the_moved_sample_is_the_first_by_document_id(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    """Ten clusters against ten, every pair non-empty: 100 flows of which the 50 largest come back, and
    far more moved documents than the sample of 20 holds."""
    reference: Members = {}
    other: Members = {}
    for i in range(10):
        for j in range(10):
            for n in range(1 + (3 * i + 7 * j) % 11):
                doc = f"doc-{i}-{j}-{n:02d}"
                reference[doc], other[doc] = f"cl_{i}", f"cl_{j}"
    labels = tuple(f"topic {i}" for i in range(10))
    cluster = make_cluster(session_factory)
    a = completed_run(session_factory, cluster, 0, reference, config=KMEANS, metrics={}, labels=labels)
    b = completed_run(session_factory, cluster, 1, other, config=KMEANS, metrics={}, labels=labels)
    response = compare(http, cluster.cluster_id, [a, b])
    assert response.status_code == 200, response.text
    (pair,) = response.json()["pairs"]
    cells = sorted(
        ((1 + (3 * i + 7 * j) % 11, i, j) for i in range(10) for j in range(10)), key=lambda c: (-c[0], c[1], c[2])
    )
    assert pair["flow_count"] == 100
    assert [(f["reference_cluster_id"], f["other_cluster_id"], f["documents"]) for f in pair["flows"]] == [
        (f"cl_{i}", f"cl_{j}", n) for n, i, j in cells[:50]
    ]
    matched = {m["reference_cluster_id"]: m["other_cluster_id"] for m in pair["matches"]}
    assert len(set(matched.values())) == 10 and None not in matched.values()
    moved = sorted(doc for doc in reference if matched[reference[doc]] != other[doc])
    assert pair["moved_documents"] == len(moved) > 20
    assert [m["document_id"] for m in pair["moved_sample"]] == moved[:20]
    assert all(m["reference_cluster_id"] == reference[m["document_id"]] for m in pair["moved_sample"])
    assert response.json()["config_diff"] == []  # same config: nothing differs


def test_runs_sharing_no_document_have_null_scores_with_a_note(
    http: httpx.Client, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory)
    a = completed_run(session_factory, cluster, 0, {"x1": "cl_0", "x2": "cl_1"}, config=KMEANS, metrics={})
    b = completed_run(session_factory, cluster, 1, {"y1": "cl_0", "y2": "cl_1"}, config=KMEANS, metrics={})
    (pair,) = compare(http, cluster.cluster_id, [a, b]).json()["pairs"]
    assert (pair["shared_documents"], pair["ari"], pair["ami"], pair["matches"]) == (0, None, None, [])
    assert pair["note"] == "the runs share no document"
    assert pair["unmatched_other_cluster_ids"] == ["cl_0", "cl_1"]  # from the other run's centroids


def test_bad_requests_are_422s_naming_the_bad_run(http: httpx.Client, session_factory: sessionmaker[Session]) -> None:
    cluster = make_cluster(session_factory)
    done = [completed_run(session_factory, cluster, i, REFERENCE, config=KMEANS, metrics={}) for i in range(5)]
    pending = make_execution(session_factory, cluster).run_id
    failed = make_execution(
        session_factory, cluster, **completed_fields(9, status="failed", error_message="out of memory")
    ).run_id
    theirs_cluster = make_cluster(session_factory, namespace="team-b")
    theirs = completed_run(session_factory, theirs_cluster, 0, REFERENCE, config=KMEANS, metrics={})

    assert_invalid(compare(http, cluster.cluster_id, done[:1]), "run_ids", "name 2 to 4 runs to compare (got 1)")
    assert_invalid(compare(http, cluster.cluster_id, done), "run_ids", "name 2 to 4 runs to compare (got 5)")
    assert_invalid(compare(http, cluster.cluster_id, [done[0], done[1], done[0]]), "run_ids", "listed twice")
    assert_invalid(compare(http, cluster.cluster_id, [done[0], ""]), "run_ids", "run_ids[1]")
    assert_invalid(compare(http, cluster.cluster_id, "run_x"), "run_ids")
    missing = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/compare", json={})
    assert_invalid(missing, "run_ids")
    extra = http.post(f"/v1/clusters/{cluster.cluster_id}/executions/compare", json={"run_ids": done[:2], "x": 1})
    assert_invalid(extra, "x")

    unknown = assert_invalid(compare(http, cluster.cluster_id, [done[0], "run_nope"]), "run_ids[1]", "'run_nope'")
    assert "not found in this namespace" in unknown["detail"]
    assert_invalid(compare(http, cluster.cluster_id, [pending, done[0]]), "run_ids[0]", pending, "is pending")
    body = assert_invalid(compare(http, cluster.cluster_id, [done[0], failed, pending]), "run_ids[1]", "is failed")
    assert [e["loc"] for e in body["errors"]] == ["run_ids[1]", "run_ids[2]"]  # every bad run named
    assert_invalid(compare(http, cluster.cluster_id, [done[0], theirs]), "run_ids[1]", "not found in this namespace")

    # another namespace's cluster is absent here; its runs compare only in their own namespace
    assert_problem(compare(http, theirs_cluster.cluster_id, [done[0], done[1]]), 404)
    assert_problem(compare(http, "clust_nope", [done[0], done[1]]), 404)
    own = compare(http, theirs_cluster.cluster_id, [theirs, done[0]], headers={"X-Namespace": "team-b"})
    assert_invalid(own, "run_ids[1]", "not found in this namespace")


def test_compare_is_in_the_openapi_schema(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    operation = schema["paths"]["/v1/clusters/{cluster_id}/executions/compare"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CompareExecutionsResponse"
    )
    pair = schema["components"]["schemas"]["RunPair"]
    assert {"shared_documents", "ari", "ami", "matches", "flows", "moved_sample"} <= set(pair["properties"])


@pytest.mark.slow
def test_a_compare_past_the_query_budget_is_a_422_saying_how_to_narrow_it(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    """Four runs of 50k memberships each: three passes over the shared documents outrun a 0.02 s budget."""
    cluster = make_cluster(session_factory)
    documents = [f"doc-{i:06d}" for i in range(50_000)]
    runs = []
    for i in range(4):
        run_id = make_execution(session_factory, cluster, **completed_fields(i)).run_id
        with session_factory() as session, session.begin():
            labels = [f"cl_{(j * (i + 1)) % 7}" for j in range(len(documents))]
            insert_members(session, run_id, documents, labels, [0.0] * len(documents))
        runs.append(run_id)
    settings = Settings(database_url=db_url, secret_key="test-signing-key", query_timeout=0.02)  # type: ignore[arg-type]
    with BackgroundServer(settings) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        body = assert_problem(compare(http, cluster.cluster_id, runs), 422, "query_timeout")
        assert "0.02 s" in body["detail"] and "compare fewer runs at once" in body["detail"]
        assert "CLUSTERBOOK_QUERY_TIMEOUT" in body["detail"]
