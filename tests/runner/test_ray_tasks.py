"""What a run's Ray task is given and when its clock starts, against the shared local Ray: the LLM key
and the database password never travel as task arguments (which Ray keeps in the task's spec) yet
the task uses the key; and a run waiting for the cluster's CPUs does not burn its time limit."""

from __future__ import annotations

import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from clusterbook.api.background import BackgroundServer
from clusterbook.settings import Settings
from tests.engine.test_llm import FakeLLM, fake_llm  # noqa: F401 - the fixture, a real HTTP server
from tests.runner.conftest import create_cluster, execute, upload_collection, wait_for
from tests.runner.test_runs_over_http import blob_documents

ON_SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
KEY = "sk-ray-secret-4f9c1e"


class RecordingTask:
    """The real ``compute_task``, with every argument list it is submitted with kept for the test."""

    def __init__(self, task: Any) -> None:
        self.task = task
        self.submitted: list[tuple[Any, ...]] = []

    def options(self, **options: Any) -> Any:
        inner = self.task.options(**options)
        submitted = self.submitted

        class Submit:
            def remote(self, *args: Any) -> Any:
                submitted.append(args)
                return inner.remote(*args)

        return Submit()


@ON_SQLITE
def test_the_llm_key_reaches_the_task_but_no_task_argument_carries_it(
    ray_settings: Settings,
    fake_llm: FakeLLM,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ray

    from clusterbook.runner import ray_backend

    recording = RecordingTask(ray_backend.compute_task)
    monkeypatch.setattr(ray_backend, "compute_task", recording)
    settings = ray_settings.model_copy(update={"llm_api_key": KEY})
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        documents = blob_documents(60, centres=3, seed=3)
        for document in documents:  # text for the labeler to send
            document["text"] = f"topic {document['metadata']['group']} alpha beta gamma"
        upload_collection(api, "blobs", documents)
        labeling = {"enabled": True, "model_name": "tiny", "base_url": fake_llm.url}
        cluster_id = create_cluster(api, "blobs", "blobs", llm_labeling=labeling)["cluster_id"]
        run = wait_for(api, cluster_id, execute(api, cluster_id)["run_id"], timeout=120)
    assert run["status"] == "completed", run.get("error_message")
    labels = [c["label"] for c in run["centroids"]]
    assert not run["llm_labeling_errors"] and all(label.startswith("LLM topic") for label in labels), labels
    assert fake_llm.requests and {r["auth"] for r in fake_llm.requests} == {f"Bearer {KEY}"}, "the task had the key"

    (args,) = recording.submitted
    claim, compute_settings, secrets = args
    assert isinstance(secrets, ray.ObjectRef), "the secrets travel by reference to the object store"
    spelled = pickle.dumps((claim, compute_settings)) + repr(args).encode()
    assert KEY.encode() not in spelled
    assert compute_settings.llm_api_key is None and compute_settings.database_url.startswith("sqlite")


def test_a_database_password_is_masked_in_the_task_arguments() -> None:
    from clusterbook.runner.ray_backend import redacted_url

    masked = redacted_url("postgresql+psycopg://app:hunter2@db.internal:5432/clusterbook")
    assert masked == "postgresql+psycopg://app:***@db.internal:5432/clusterbook"


@pytest.fixture
def started_marker() -> Path:
    return Path(tempfile.mkdtemp(prefix="cb-hold-")) / "started"


@ON_SQLITE
def test_waiting_for_the_clusters_cpus_does_not_count_against_the_time_limit(
    ray_settings: Settings, started_marker: Path
) -> None:
    import ray

    def hold_cpus(marker: str, seconds: float) -> None:  # local: shipped by value, not imported by the worker
        Path(marker).write_text("started")
        time.sleep(seconds)

    limit, held = 6.0, 12.0
    settings = ray_settings.model_copy(update={"run_timeout_seconds": limit})
    with BackgroundServer(settings, workers=1) as server, httpx.Client(base_url=server.url, timeout=60) as api:
        upload_collection(api, "blobs", blob_documents(60, centres=3, seed=3))
        cluster_id = create_cluster(api, "blobs", "blobs")["cluster_id"]
        # every CPU of the cluster busy for twice the limit: the run's task (2 CPUs) waits for them
        hold = ray.remote(num_cpus=2, max_retries=0)(hold_cpus).remote(str(started_marker), held)
        deadline = time.monotonic() + 60
        while not started_marker.exists():
            assert time.monotonic() < deadline, "the task holding the CPUs never started"
            time.sleep(0.1)
        queued = time.monotonic()
        run = wait_for(api, cluster_id, execute(api, cluster_id)["run_id"], timeout=120)
        waited = time.monotonic() - queued
        ray.get(hold)
    assert run["status"] == "completed", run.get("error_message")
    assert waited > limit + 1, f"the run did not wait for the CPUs ({waited:.1f} s), so this proves nothing"
    assert run["duration_ms"] > limit * 1000, "claimed long before its task could start"
