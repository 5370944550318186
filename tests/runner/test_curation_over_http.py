"""Curated labels end to end over HTTP, on real runs computed by a real worker (both databases): an
override kept beside the computed values with who/when, winning in the run, the listing and its
search; merging clusters (memberships, sizes, projection, metrics rescored as scikit-learn scores
them, agreement with the baseline, the merge recorded, the rollups still equal to a rebuild); labels
carried forward to later runs at Jaccard >= 0.5; and every refusal a problem that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.store import rollup_schema
from tests.api.helpers import assert_problem
from tests.api.test_auth import make_key
from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_agreement_over_http import memberships
from tests.runner.test_runs_over_http import blob_documents
from tests.store.test_rollups import AGG_NAMES, _close, _rollup_table, _scales

DOCUMENTS = 240


def completed(api: httpx.Client, cluster_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    run = wait_for(api, cluster_id, execute(api, cluster_id, body)["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    return run


def centroid(run: dict[str, Any], cluster_id: str) -> dict[str, Any]:
    return next(c for c in run["centroids"] if c["cluster_id"] == cluster_id)


def patch(api: httpx.Client, cluster_id: str, run_id: str, centroid_id: str, body: Any) -> httpx.Response:
    return api.patch(f"/v1/clusters/{cluster_id}/executions/{run_id}/centroids/{centroid_id}", json=body)


def merge(api: httpx.Client, cluster_id: str, run_id: str, body: Any) -> httpx.Response:
    return api.post(f"/v1/clusters/{cluster_id}/executions/{run_id}/centroids/merge", json=body)


def searched(api: httpx.Client, cluster_id: str, term: str) -> list[str]:
    page = ok(api.post(f"/v1/clusters/{cluster_id}/executions/list", json={"search": term}))
    return [r["run_id"] for r in page["results"]]


@pytest.fixture
def blobs(api: httpx.Client) -> str:
    """k-means with k=4 over four well separated blobs (vectors only)."""
    upload_collection(api, "blobs", blob_documents(DOCUMENTS, centres=4, seed=11))
    cluster = create_cluster(
        api, "blobs-k4", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 4}}
    )
    return str(cluster["cluster_id"])


def test_a_curated_label_sits_beside_the_computed_one_and_wins_in_the_run_listing_and_search(
    api: httpx.Client, runner_server: BackgroundServer, session_factory: sessionmaker[Session], blobs: str
) -> None:
    run = completed(api, blobs)
    before = centroid(run, "cl_0")
    assert before["computed_label"] == before["label"] and before["override"] is None
    assert searched(api, blobs, "quokka") == []
    key_id, key = make_key(session_factory, "default", name="alice")  # from now on the server needs a key
    api.headers["Authorization"] = f"Bearer {key}"

    sent_at = datetime.now(UTC)
    updated = ok(patch(api, blobs, run["run_id"], "cl_0", {"label": "  Quokka sightings ", "keywords": ["zebra"]}))
    after = centroid(updated, "cl_0")
    assert after["label"] == "Quokka sightings" and after["keywords"] == ["zebra"]
    assert after["computed_label"] == before["label"] and after["computed_keywords"] == before["keywords"]
    assert after["summary"] == before["summary"] == after["computed_summary"]  # not sent: not overridden
    override = after["override"]
    assert override["label"] == "Quokka sightings" and override["keywords"] == ["zebra"] and override["summary"] is None
    assert override["by"] == "alice" and override["key_id"] == key_id
    assert sent_at - timedelta(seconds=5) <= datetime.fromisoformat(override["at"]) <= datetime.now(UTC)
    assert centroid(updated, "cl_1") == centroid(run, "cl_1")  # the other clusters are untouched

    assert centroid(ok(api.get(f"/v1/clusters/{blobs}/executions/{run['run_id']}")), "cl_0") == after
    listed = ok(api.post(f"/v1/clusters/{blobs}/executions/list", json={}))["results"][0]
    assert centroid(listed, "cl_0")["label"] == "Quokka sightings"
    assert searched(api, blobs, "quokka") == [run["run_id"]] == searched(api, blobs, "ZEBRA")

    cleared = centroid(ok(patch(api, blobs, run["run_id"], "cl_0", {"label": None})), "cl_0")
    assert cleared["label"] == before["label"] and cleared["keywords"] == ["zebra"]
    assert cleared["override"]["keywords"] == ["zebra"] and cleared["override"]["label"] is None
    assert searched(api, blobs, "quokka") == []
    gone = centroid(ok(patch(api, blobs, run["run_id"], "cl_0", {"keywords": None})), "cl_0")
    assert gone["override"] is None and gone["keywords"] == before["keywords"] and gone["label"] == before["label"]
    assert searched(api, blobs, "zebra") == []


def test_curation_refusals_say_what_is_wrong_and_change_nothing(
    api: httpx.Client, runner_server: BackgroundServer, blobs: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = completed(api, blobs)
    rid = run["run_id"]
    upload_collection(api, "one-note", [{"document_id": "n1", "text": "a single note"}])
    lonely = create_cluster(api, "lonely", "one-note")["cluster_id"]
    failed = wait_for(api, lonely, execute(api, lonely)["run_id"])
    assert failed["status"] == "failed"

    bad_updates: list[tuple[Any, str]] = [
        ({}, "at least one of"),
        ({"label": "x" * 201}, "label"),
        ({"label": "   "}, "blank"),
        ({"summary": "s" * 2001}, "summary"),
        ({"keywords": [f"w{i}" for i in range(31)]}, "keywords"),
        ({"keywords": ["k" * 101]}, "101 characters"),
        ({"keywords": "billing"}, "keywords"),
        ({"colour": "red"}, "colour"),
        ([], "object"),
    ]
    for body, said in bad_updates:
        problem = assert_problem(patch(api, blobs, rid, "cl_0", body), 422, "validation_error")
        assert said in problem["detail"] or any(said in str(e) for e in problem.get("errors", [])), (body, problem)
    problem = assert_problem(patch(api, blobs, rid, "cl_9", {"label": "x"}), 404, "not_found")
    assert "cl_9" in problem["detail"] and "cl_0, cl_1, cl_2, cl_3" in problem["detail"]
    assert_problem(patch(api, blobs, "run_doesnotexist", "cl_0", {"label": "x"}), 404, "not_found")
    problem = assert_problem(patch(api, lonely, failed["run_id"], "cl_0", {"label": "x"}), 409, "conflict")
    assert "failed" in problem["detail"] and "completed" in problem["detail"]

    bad_merges: list[tuple[Any, int, str, str]] = [
        ({"cluster_ids": ["cl_0"]}, 422, "validation_error", "at least 2"),
        ({"cluster_ids": ["cl_0", "cl_0"]}, 422, "validation_error", "named twice"),
        ({"cluster_ids": [f"cl_{i}" for i in range(51)]}, 422, "validation_error", "at most 50"),
        ({"cluster_ids": ["cl_0", "cl_1"], "label": "y" * 201}, 422, "validation_error", "label"),
        ({"cluster_ids": ["cl_0", "cl_7"]}, 422, "validation_error", "no cluster 'cl_7'"),
    ]
    for body, status, code, said in bad_merges:
        problem = assert_problem(merge(api, blobs, rid, body), status, code)
        assert said in problem["detail"] or any(said in str(e) for e in problem.get("errors", [])), (body, problem)
    problem = assert_problem(merge(api, blobs, rid, {"cluster_ids": ["cl_0", "cl_7"]}), 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "cluster_ids", 1]] or "cluster_ids[1]" in str(problem)
    assert_problem(merge(api, lonely, failed["run_id"], {"cluster_ids": ["cl_0", "cl_1"]}), 409, "conflict")

    import clusterbook.runner.curation as curation

    monkeypatch.setattr(curation, "MERGE_MAX_CELLS", 100)  # 240 documents x 8 dimensions is more
    problem = assert_problem(merge(api, blobs, rid, {"cluster_ids": ["cl_0", "cl_1"]}), 422, "run_too_large")
    assert "CLUSTERBOOK_SIZE_LIMIT_FACTOR" in problem["detail"]

    unchanged = ok(api.get(f"/v1/clusters/{blobs}/executions/{rid}"))
    assert unchanged["centroids"] == run["centroids"] and unchanged["metrics"] == run["metrics"]
    assert unchanged.get("merges") is None and memberships(api, blobs, rid) == memberships(api, blobs, rid)
    assert set(memberships(api, blobs, rid).values()) == {"cl_0", "cl_1", "cl_2", "cl_3"}


def _normalised(docs: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    vectors = {}
    for doc in docs:
        v = np.asarray(doc["vector"], dtype=np.float32)
        vectors[doc["document_id"]] = v / np.linalg.norm(v)
    return vectors


def test_merging_rewrites_memberships_rescores_the_run_and_records_the_merge(
    api: httpx.Client, runner_server: BackgroundServer, session_factory: sessionmaker[Session], blobs: str
) -> None:
    first = completed(api, blobs, {"random_state": 1})
    run = completed(api, blobs, {"random_state": 7})  # its baseline is ``first``
    rid = run["run_id"]
    assert run["baseline_run_id"] == first["run_id"] and run["metrics"]["agreement_ari"] > 0.95
    sizes = {c["cluster_id"]: c["num_members"] for c in run["centroids"]}

    merged = ok(merge(api, blobs, rid, {"cluster_ids": ["cl_2", "cl_1"], "label": "Two blobs"}))
    assert merged["num_clusters"] == 3 and [c["cluster_id"] for c in merged["centroids"]] == ["cl_0", "cl_2", "cl_3"]
    into = centroid(merged, "cl_2")
    assert into["num_members"] == sizes["cl_1"] + sizes["cl_2"] and into["merged_from"] == ["cl_2", "cl_1"]
    assert into["label"] == "Two blobs" == into["override"]["label"] and into["override"]["by"] == "anonymous"
    assert into["computed_label"] == centroid(run, "cl_2")["label"]
    (record,) = merged["merges"]
    assert record["into"] == "cl_2" and record["cluster_ids"] == ["cl_2", "cl_1"] and record["by"] == "anonymous"
    assert (
        record["label"] == "Two blobs"
        and record["metrics_before"]["silhouette_score"] == run["metrics"]["silhouette_score"]
    )

    members = memberships(api, blobs, rid)
    assert set(members.values()) == {"cl_0", "cl_2", "cl_3"} and len(members) == DOCUMENTS
    assert sum(1 for c in members.values() if c == "cl_2") == into["num_members"]
    vectors = _normalised(blob_documents(DOCUMENTS, centres=4, seed=11))
    ids = sorted(members)
    X = np.stack([vectors[d] for d in ids])
    labels = [members[d] for d in ids]
    metrics = merged["metrics"]
    assert metrics["silhouette_score"] == pytest.approx(silhouette_score(X, labels), rel=1e-4)
    assert metrics["davies_bouldin_index"] == pytest.approx(davies_bouldin_score(X, labels), rel=1e-4)
    assert metrics["calinski_harabasz_score"] == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-4)
    assert metrics["silhouette_score"] < run["metrics"]["silhouette_score"]  # two blobs in one cluster
    baseline = memberships(api, blobs, first["run_id"])
    assert metrics["agreement_ari"] == pytest.approx(adjusted_rand_score([baseline[d] for d in ids], labels), abs=1e-9)
    assert metrics["agreement_ari"] < 0.95 and sorted(
        c["baseline_cluster_id"] for c in merged["centroids"] if c["baseline_cluster_id"]
    ) != sorted(c["cluster_id"] for c in first["centroids"])

    page = ok(
        api.post(
            f"/v1/clusters/{blobs}/executions/{rid}/members/list",
            json={"filters": {"cluster_id": "cl_2"}},
            params={"page_size": 1},
        )
    )
    member = page["results"][0]
    inside = X[[i for i, d in enumerate(ids) if members[d] == "cl_2"]]
    assert member["distance"] == pytest.approx(
        float(np.linalg.norm(vectors[member["document_id"]] - inside.mean(axis=0))), rel=1e-4
    )
    projection = ok(api.get(f"/v1/clusters/{blobs}/executions/{rid}/projection"))
    assert {p["cluster_id"] for p in projection["points"]} <= {"cl_0", "cl_2", "cl_3"}
    assert sorted(c["cluster_id"] for c in projection["centroids"]) == ["cl_0", "cl_2", "cl_3"]

    again = ok(merge(api, blobs, rid, {"cluster_ids": ["cl_0", "cl_2"]}))
    assert again["num_clusters"] == 2 and centroid(again, "cl_0")["merged_from"] == ["cl_0", "cl_2", "cl_1"]
    assert len(again["merges"]) == 2 and centroid(again, "cl_0")["label"] == centroid(run, "cl_0")["label"]

    with session_factory() as session, session.begin():  # the metric writes kept the rollups exact
        maintained = _rollup_table(session, blobs)
        rollup_schema.rebuild(session, cluster_id=blobs)
        rebuilt = _rollup_table(session, blobs)
    assert maintained.keys() == rebuilt.keys()
    scales = _scales(maintained, rebuilt)
    for key, values in rebuilt.items():
        pairs = zip(AGG_NAMES, maintained[key], values, scales, strict=True)
        assert all(_close(a, b, s) for _, a, b, s in pairs), key


def test_curated_labels_carry_forward_to_matching_clusters_of_later_runs(
    api: httpx.Client, runner_server: BackgroundServer, blobs: str
) -> None:
    first = completed(api, blobs, {"random_state": 1})
    ok(patch(api, blobs, first["run_id"], "cl_0", {"label": "Alpha", "summary": "The alpha blob"}))
    second = completed(api, blobs, {"random_state": 7})
    heir = next(c for c in second["centroids"] if c["baseline_cluster_id"] == "cl_0")
    assert heir["jaccard"] >= 0.5 and heir["label"] == "Alpha" and heir["summary"] == "The alpha blob"
    assert heir["computed_label"] != "Alpha" and heir["override"] is None and heir["baseline_label"] == "Alpha"
    inherited = heir["inherited"]
    assert inherited["run_id"] == first["run_id"] and inherited["cluster_id"] == "cl_0"
    assert inherited["jaccard"] == heir["jaccard"] and inherited["by"] == "anonymous" and inherited["label"] == "Alpha"
    others = [c for c in second["centroids"] if c is not heir]
    assert all(c["inherited"] is None and c["label"] == c["computed_label"] for c in others)
    assert set(searched(api, blobs, "alpha")) == {first["run_id"], second["run_id"]}

    third = completed(api, blobs, {"random_state": 3})  # carried on along the chain of baselines
    grandchild = next(c for c in third["centroids"] if c["baseline_cluster_id"] == heir["cluster_id"])
    assert grandchild["label"] == "Alpha" and grandchild["inherited"]["run_id"] == second["run_id"]
    mine = ok(patch(api, blobs, third["run_id"], grandchild["cluster_id"], {"label": "Beta"}))
    assert centroid(mine, grandchild["cluster_id"])["label"] == "Beta"  # an override beats an inherited label
    assert centroid(mine, grandchild["cluster_id"])["inherited"]["label"] == "Alpha"
    fourth = completed(api, blobs, {"random_state": 5})
    assert "Beta" in [c["label"] for c in fourth["centroids"]] and "Alpha" not in [
        c["label"] for c in fourth["centroids"]
    ]


def test_merging_a_text_run_rescores_it_in_the_space_the_run_embedded(
    api: httpx.Client, runner_server: BackgroundServer
) -> None:
    """A run that embedded its texts is rescored over the same texts embedded again with its embedder
    and seed: the unmerged run's own silhouette is reproduced that way, and the merged one matches
    scikit-learn on the merged memberships."""
    from clusterbook.demo.corpus import demo_documents
    from clusterbook.engine.embedders import make_embedder

    documents = demo_documents(per_topic=15)
    upload_collection(api, "articles", documents)
    cluster = create_cluster(
        api, "topics", "articles", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 6}}
    )["cluster_id"]
    run = completed(api, cluster, {"random_state": 3})
    assert run["config"]["embedded"] is True and run["config"]["embedder"] == "tfidf-svd"
    ordered = sorted(documents, key=lambda d: d["document_id"])  # the loader's order: by document id
    X = make_embedder("tfidf-svd", 3).embed([d["text"] for d in ordered]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    ids = [d["document_id"] for d in ordered]
    before = memberships(api, cluster, run["run_id"])
    assert run["metrics"]["silhouette_score"] == pytest.approx(silhouette_score(X, [before[d] for d in ids]), rel=1e-3)

    merged = ok(merge(api, cluster, run["run_id"], {"cluster_ids": ["cl_0", "cl_5"]}))
    after = memberships(api, cluster, run["run_id"])
    labels = [after[d] for d in ids]
    assert set(labels) == {"cl_0", "cl_1", "cl_2", "cl_3", "cl_4"} and merged["num_clusters"] == 5
    assert merged["metrics"]["silhouette_score"] == pytest.approx(silhouette_score(X, labels), rel=1e-3)
    assert merged["metrics"]["davies_bouldin_index"] == pytest.approx(davies_bouldin_score(X, labels), rel=1e-3)
