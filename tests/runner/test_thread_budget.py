"""The thread budget: each compute process uses cores ÷ concurrent runs threads, and says so in its run."""

from __future__ import annotations

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings, available_cores
from tests.runner.conftest import FAST_RUNNER, create_cluster, execute, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents


@pytest.mark.parametrize("workers", [1, 2, 3, 64])
def test_the_cores_are_shared_among_concurrent_runs_with_at_least_one_thread_each(workers: int) -> None:
    settings = Settings(database_url="sqlite://", workers=workers)
    assert settings.thread_budget() == max(1, available_cores() // workers)
    assert settings.thread_budget(workers=1) == available_cores()


def test_an_explicit_thread_count_wins_and_workers_default_to_the_cores() -> None:
    assert Settings(database_url="sqlite://", compute_threads=3, workers=8).thread_budget() == 3
    assert Settings(database_url="sqlite://").workers == min(64, available_cores())


def test_a_run_computes_within_its_budget_and_records_it(db_url: str) -> None:
    """The recorded figure is read back from the numerical libraries inside the run's process, so it is
    the limit they really obeyed (the libraries' default is one thread per core)."""
    settings = Settings(database_url=db_url, secret_key="k", compute_threads=1, **FAST_RUNNER)  # type: ignore[arg-type]
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        upload_collection(api, "blobs", blob_documents(300))
        cluster = create_cluster(
            api,
            "budgeted",
            "blobs",
            vector_config={"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 3}},
        )
        run = wait_for(api, cluster["cluster_id"], execute(api, cluster["cluster_id"])["run_id"])
    assert run["status"] == "completed", run
    assert run["config"]["compute_threads"] == 1
