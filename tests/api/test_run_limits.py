"""Size limits at submit over real HTTP, on SQLite and PostgreSQL: the estimate before queuing, the 422
``run_too_large`` that names the opt-in and leaves no row behind, and the same through the SDK.

The server runs with a small ``CLUSTERBOOK_SIZE_LIMIT_FACTOR`` so that a few hundred documents are
beyond HDBSCAN's limit (100 documents, 1,000 documents × dimensions), which the real limits reach only
at 200k documents or 2M cells."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import numpy as np
import pytest

from clusterbook.client import AsyncClient, Client
from clusterbook.engine.limits import COSTS
from clusterbook.errors import RunTooLarge
from clusterbook.settings import Settings
from tests.api.helpers import assert_problem, make_collections

FACTOR = 100 / COSTS["hdbscan"].max_documents  # hdbscan: 100 documents, 1,000 cells


@pytest.fixture
def server_settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="test-signing-key", size_limit_factor=FACTOR)


def make_vector_cluster(http: httpx.Client, n: int, d: int, **vector_config: Any) -> str:
    (collection,) = make_collections(http, f"vectors-{n}-{d}")
    rng = np.random.default_rng(0)
    docs = [{"document_id": f"d{i:04d}", "vector": rng.normal(size=d).round(4).tolist()} for i in range(n)]
    assert http.post(f"/v1/collections/{collection}/documents", json={"documents": docs}).status_code == 200
    body = {
        "cluster_name": f"limits-{n}-{d}",
        "collection_ids": [collection],
        "vector_config": {"clustering_method": "hdbscan", **vector_config},
    }
    response = http.post("/v1/clusters", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["cluster_id"])


def run_count(http: httpx.Client, cluster_id: str) -> int:
    response = http.post(f"/v1/clusters/{cluster_id}/executions/list", json={})
    assert response.status_code == 200, response.text
    return int(response.json()["total_count"])


def test_the_estimate_counts_the_run_and_says_it_would_be_refused(http: httpx.Client) -> None:
    cluster = make_vector_cluster(http, 300, 8)
    response = http.post(f"/v1/clusters/{cluster}/execute/estimate", json={})
    assert response.status_code == 200, response.text
    estimate = response.json()
    assert estimate["algorithm"] == "hdbscan"
    assert (estimate["documents"], estimate["dimensions"]) == (300, 8)
    assert (estimate["fit_documents"], estimate["fit_dimensions"]) == (300, 8)
    assert (estimate["max_documents"], estimate["max_cells"]) == (100, 1_000)
    assert estimate["estimated_seconds"] > 0 and estimate["estimated_memory_bytes"] >= 300 * 8 * 4
    assert estimate["refused"] is True
    assert "hdbscan is limited to 100 documents per fit" in estimate["reason"]
    assert "sample_size at most 100" in estimate["reason"]
    sampled = http.post(f"/v1/clusters/{cluster}/execute/estimate", json={"sample_size": 100}).json()
    assert sampled["fit_documents"] == 100 and sampled["refused"] is False and sampled["reason"] is None
    assert http.post(f"/v1/clusters/{cluster}/execute/estimate").json() == estimate  # no body: same as {}
    assert run_count(http, cluster) == 0  # an estimate queues nothing


def test_a_run_beyond_the_limit_is_refused_at_submit_and_leaves_no_row(http: httpx.Client) -> None:
    cluster = make_vector_cluster(http, 300, 8)
    response = http.post(f"/v1/clusters/{cluster}/execute", json={"run_name": "too big"})
    problem = assert_problem(response, 422, "run_too_large")
    assert "hdbscan is limited to 100 documents per fit" in problem["detail"]
    assert "set sample_size to fit on a seeded sample" in problem["detail"]
    assert run_count(http, cluster) == 0
    admitted = http.post(f"/v1/clusters/{cluster}/execute", json={"sample_size": 80})
    assert admitted.status_code == 202, admitted.text
    assert run_count(http, cluster) == 1


def test_too_many_dimensions_name_pca_components_and_the_reduction_admits_the_run(http: httpx.Client) -> None:
    cluster = make_vector_cluster(http, 90, 16)
    response = http.post(f"/v1/clusters/{cluster}/execute", json={})
    problem = assert_problem(response, 422, "run_too_large")
    assert "this run fits 90 × 16 = 1,440" in problem["detail"]
    assert "set algorithm_params.pca_components (at most 11, e.g. 11)" in problem["detail"]
    estimate = http.post(
        f"/v1/clusters/{cluster}/execute/estimate", json={"algorithm_params": {"pca_components": 8}}
    ).json()
    assert estimate["fit_dimensions"] == 8 and estimate["refused"] is False
    admitted = http.post(f"/v1/clusters/{cluster}/execute", json={"algorithm_params": {"pca_components": 8}})
    assert admitted.status_code == 202, admitted.text
    assert admitted.json()["config"]["size_limit_factor"] == pytest.approx(FACTOR)


def test_text_collections_count_the_embedders_dimensions(http: httpx.Client) -> None:
    (collection,) = make_collections(http, "texts")
    docs = [{"document_id": f"t{i}", "text": f"topic {i % 3} words here"} for i in range(40)]
    assert http.post(f"/v1/collections/{collection}/documents", json={"documents": docs}).status_code == 200
    body = {"cluster_name": "texts", "collection_ids": [collection], "vector_config": {"clustering_method": "kmeans"}}
    cluster = http.post("/v1/clusters", json=body).json()["cluster_id"]
    estimate = http.post(f"/v1/clusters/{cluster}/execute/estimate", json={}).json()
    assert (estimate["documents"], estimate["dimensions"]) == (40, 39)  # tfidf-svd: at most N - 1 components
    assert estimate["refused"] is False


def test_the_estimate_validates_like_execute(http: httpx.Client) -> None:
    cluster = make_vector_cluster(http, 20, 4)
    bad = http.post(f"/v1/clusters/{cluster}/execute/estimate", json={"algorithm_params": {"pca_components": 1}})
    problem = assert_problem(bad, 422)
    assert "pca_components must be an integer from 2 to 4096 or null, got 1" in problem["detail"]
    assert_problem(http.post(f"/v1/clusters/{cluster}/execute/estimate", json={"sample_size": 1}), 422)
    assert_problem(http.post(f"/v1/clusters/{cluster}/execute/estimate", json={"colour": 1}), 422)
    assert_problem(http.post("/v1/clusters/clust_missing/execute/estimate", json={}), 404)


def test_the_sdk_estimates_and_raises_run_too_large(http: httpx.Client, live_server: Any) -> None:
    cluster = make_vector_cluster(http, 300, 8)
    with Client(live_server.url, retries=0) as client:
        estimate = client.clusters.estimate(cluster)
        assert estimate.refused and estimate.documents == 300 and estimate.reason is not None
        assert not client.clusters.estimate(cluster, sample_size=50).refused
        with pytest.raises(RunTooLarge) as caught:
            client.clusters.execute(cluster)
        assert caught.value.code == "run_too_large" and "sample_size" in caught.value.message
        run = client.clusters.execute(cluster, sample_size=50, algorithm_params={"min_cluster_size": 5})
        assert run.status == "pending"
    assert run_count(http, cluster) == 1


def test_the_async_sdk_estimates_and_raises_run_too_large(http: httpx.Client, live_server: Any) -> None:
    cluster = make_vector_cluster(http, 300, 8)

    async def scenario() -> None:
        async with AsyncClient(live_server.url, retries=0) as client:
            estimate = await client.clusters.estimate(cluster, algorithm_params={"min_cluster_size": 5})
            assert estimate.refused and estimate.fit_documents == 300
            assert not (await client.clusters.estimate(cluster, sample_size=60)).refused
            with pytest.raises(RunTooLarge):
                await client.clusters.execute(cluster)

    asyncio.run(scenario())
    assert run_count(http, cluster) == 0
