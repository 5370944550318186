"""Curators editing one run at once lose nothing: the run's centroids are one JSON document, so each
edit reads it under a lock (PostgreSQL ``FOR UPDATE``, SQLite's write transaction) and writes it back
whole. Four editors, four different fields, released together, every round: all four land."""

from __future__ import annotations

import threading
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from tests.factories import completed_fields, make_cluster, make_execution

ROUNDS = 4


def test_concurrent_edits_of_one_run_all_land(
    live_server: BackgroundServer, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory)
    run = make_execution(session_factory, cluster, **completed_fields(1))
    path = f"{live_server.url}/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}/centroids"
    for round_ in range(ROUNDS):
        edits: list[tuple[str, dict[str, Any]]] = [
            ("cl_0", {"label": f"zero {round_}"}),
            ("cl_1", {"label": f"one {round_}"}),
            ("cl_0", {"keywords": [f"kw{round_}"]}),
            ("cl_1", {"summary": f"summary {round_}"}),
        ]
        barrier = threading.Barrier(len(edits))
        answers: list[int] = []

        def send(
            centroid: str, body: dict[str, Any], barrier: threading.Barrier = barrier, answers: list[int] = answers
        ) -> None:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                answers.append(client.patch(f"{path}/{centroid}", json=body).status_code)

        threads = [threading.Thread(target=send, args=edit) for edit in edits]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [200] * len(edits)
        found = httpx.get(f"{live_server.url}/v1/clusters/{cluster.cluster_id}/executions/{run.run_id}").json()
        zero, one = found["centroids"]
        assert zero["label"] == f"zero {round_}" and zero["keywords"] == [f"kw{round_}"]
        assert one["label"] == f"one {round_}" and one["summary"] == f"summary {round_}"
        assert zero["computed_label"] == "Billing" and one["computed_label"] == "Login"
