"""``client.executions.compare`` (sync and async) against a live server: typed answers, the server's
422 as ValidationFailed naming the run; and real runs end to end: two k-means seeds on separable blobs
agree (ARI ≥ 0.95, every cluster matched with Jaccard ≥ 0.9), k=2 against k=4 visibly less."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.client import AsyncClient, Client, ValidationFailed
from clusterbook.models.compare import CompareExecutionsResponse
from tests.api.test_compare_routes import KMEANS, OTHER, REFERENCE, completed_run, sklearn_scores
from tests.client.conftest import blobs
from tests.factories import make_cluster


def test_compare_sync_and_async(
    client: Client, live_server: BackgroundServer, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory, cluster_name="pair")
    a = completed_run(session_factory, cluster, 0, REFERENCE, config=KMEANS, metrics={"silhouette_score": 0.4})
    b = completed_run(
        session_factory, cluster, 1, OTHER, config={**KMEANS, "random_state": 7}, metrics={"silhouette_score": 0.6}
    )
    compared = client.executions.compare("pair", [a, b])
    assert isinstance(compared, CompareExecutionsResponse)
    assert [run.run_id for run in compared.runs] == [a, b]
    assert [(d.key, d.values) for d in compared.config_diff] == [("random_state", [0, 7])]
    silhouette = next(m for m in compared.metrics if m.name == "silhouette_score")
    assert (silhouette.values, silhouette.best_run_id) == ([0.4, 0.6], b)
    (pair,) = compared.pairs
    ari, _ = sklearn_scores(REFERENCE, OTHER)
    assert pair.ari is not None and abs(pair.ari - ari) < 1e-12
    assert [(m.reference_label, m.other_label) for m in pair.matches] == [("Billing", "Login"), ("Login", "Billing")]
    assert [m.document_id for m in pair.moved_sample] == ["d05", "d11"]

    with pytest.raises(ValidationFailed) as raised:
        client.executions.compare(cluster.cluster_id, [a, "run_missing"])
    assert "run_ids[1]: run 'run_missing' not found in this namespace" in str(raised.value)
    assert [e.loc for e in raised.value.errors] == ["run_ids[1]"]
    with pytest.raises(TypeError, match="list of run ids"):
        client.executions.compare(cluster.cluster_id, a)

    async def compare_async() -> CompareExecutionsResponse:
        async with AsyncClient(live_server.url, retries=0) as aclient:
            return await aclient.executions.compare(cluster.cluster_id, [b, a])

    reverse = asyncio.run(compare_async())
    assert [run.run_id for run in reverse.runs] == [b, a]
    assert reverse.pairs[0].ari == pair.ari  # ARI is symmetric; the reference is now b
    assert reverse.pairs[0].reference_run_id == b


@pytest.mark.slow
def test_real_runs_two_seeds_agree_and_k2_against_k4_does_not(worker_server: BackgroundServer) -> None:
    with Client(worker_server.url, retries=0) as client:
        client.collections.create("blobs")
        client.documents.upsert("blobs", blobs(160, centres=4, dims=5, seed=3), batch_size=80)
        client.clusters.create(
            "four",
            collection_ids=["blobs"],
            vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 4}},
        )

        def run(**overrides: object) -> str:
            done = client.clusters.execute("four", wait=True, poll_interval=0.1, timeout=120, **overrides)  # type: ignore[arg-type]
            assert done.status == "completed", done.error_message
            return done.run_id

        seed_1, seed_2 = run(random_state=1), run(random_state=2)
        k2 = run(algorithm_params={"n_clusters": 2}, random_state=1)

        seeds = client.executions.compare("four", [seed_1, seed_2])
        (pair,) = seeds.pairs
        assert pair.shared_documents == 160
        assert pair.ari is not None and pair.ari >= 0.95
        assert len(pair.matches) == 4
        assert all(m.other_cluster_id is not None and (m.jaccard or 0) >= 0.9 for m in pair.matches)
        # the seed, and the baseline each run was related to (the first had none, the second had the first)
        assert {d.key for d in seeds.config_diff} == {"random_state", "params.random_state", "baseline_run_id"}

        split = client.executions.compare("four", [k2, seed_1])
        (coarse,) = split.pairs
        assert coarse.ari is not None and coarse.ari < pair.ari - 0.3
        assert len(coarse.unmatched_other_cluster_ids) == 2  # four clusters, two of them matched
        assert coarse.moved_documents and coarse.moved_sample
        assert "params.n_clusters" in {d.key for d in split.config_diff}
