"""Every completed run stores its cluster centres (float32) and returns them on request."""

from __future__ import annotations

import httpx
import numpy as np

from tests.runner.conftest import create_cluster, execute, ok, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents


def test_a_completed_run_returns_its_centres_only_when_asked(api: httpx.Client) -> None:
    documents = blob_documents(240, dims=8, centres=3, seed=4)
    upload_collection(api, "blobs", documents)
    cluster = create_cluster(
        api, "blobs", "blobs", vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}}
    )
    run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    path = f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}"
    assert all(c.get("vector") is None for c in ok(api.get(path))["centroids"])

    with_vectors = ok(api.get(path, params={"include_vectors": "true"}))
    centres = np.array([c["vector"] for c in with_vectors["centroids"]])
    assert centres.shape == (3, 8)
    # each centre is the mean of its members in the normalised space the run clustered in
    vectors = np.array([d["vector"] for d in documents], dtype=np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    members = ok(api.post(f"{path}/members/list", json={"filters": {"cluster_id": "cl_0"}}, params={"page_size": 100}))
    rows = [int(m["document_id"][1:]) for m in members["results"]]
    assert len(rows) == with_vectors["centroids"][0]["num_members"]
    np.testing.assert_allclose(centres[0], unit[rows].mean(axis=0), atol=1e-5)


def test_a_run_without_centres_returns_centroids_without_vectors(api: httpx.Client) -> None:
    # texts for only some documents: attribute groups are built, but there is no vector space
    documents = [{"document_id": f"t{i}", "text": "word" if i else " ", "metadata": {"k": i % 2}} for i in range(10)]
    upload_collection(api, "tagged", documents)
    cluster = create_cluster(api, "tagged", "tagged", cluster_type="attribute", attribute_config={"attributes": ["k"]})
    run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert run["status"] == "completed", run.get("error_message")
    found = ok(api.get(f"/v1/clusters/{cluster['cluster_id']}/executions/{run['run_id']}?include_vectors=true"))
    assert [c.get("vector") for c in found["centroids"]] == [None, None]
