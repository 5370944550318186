"""``clusterbook centroids label|merge`` against a real server whose worker computed the run, through
the SDK (``client.centroids``): a curated label shown with who set it, cleared again, a merge printed
with the rescored run, and refusals as one line on stderr."""

from __future__ import annotations

import json

from clusterbook.api.background import BackgroundServer
from clusterbook.client import Client
from tests.cli.test_remote_cli import cli, error_line, ok
from tests.client.conftest import blobs


def test_label_clear_and_merge_from_the_command_line(worker_server: BackgroundServer) -> None:
    with Client(worker_server.url) as client:
        client.collections.create("blobs")
        client.documents.upsert("blobs", blobs(90))
        client.clusters.create(
            "three", collection_ids=["blobs"], vector_config={"algorithm_params": {"n_clusters": 3, "random_state": 0}}
        )
        run = client.clusters.execute("three", wait=True)
        computed = next(c.label for c in run.centroids or [] if c.cluster_id == "cl_1")
        sdk = client.centroids.update("three", run.run_id, "cl_0", summary="from the SDK", keywords=["a", "b"])
        first = next(c for c in sdk.centroids or [] if c.cluster_id == "cl_0")
        assert first.summary == "from the SDK" and first.override is not None and first.override.label is None

    out = ok(cli(worker_server, "centroids", "label", run.run_id, "cl_1", "--label", "Left blob"))
    assert out.strip() == f"{run.run_id} cl_1: Left blob (curated by anonymous)"
    shown = ok(cli(worker_server, "executions", "show", run.run_id))
    assert "Left blob (curated by anonymous)" in shown
    cleared = json.loads(
        ok(cli(worker_server, "centroids", "label", run.run_id, "cl_1", "--clear", "label", "--format", "json"))
    )
    back = next(c for c in cleared["centroids"] if c["cluster_id"] == "cl_1")
    assert back["label"] == computed and back["override"] is None

    merged = ok(cli(worker_server, "centroids", "merge", run.run_id, "cl_1", "cl_2", "--label", "Both"))
    assert "Both (curated by anonymous)" in merged and "cl_2" not in merged.split("clusters", 1)[1]
    with Client(worker_server.url) as client:
        after = client.executions.get("three", run.run_id)
    assert after.num_clusters == 2 and after.merges is not None and after.merges[0].cluster_ids == ["cl_1", "cl_2"]

    unknown = error_line(cli(worker_server, "centroids", "label", run.run_id, "cl_9", "--label", "x"))
    assert "no cluster 'cl_9'" in unknown and "[404]" in unknown
    assert "cl_7" in error_line(cli(worker_server, "centroids", "merge", run.run_id, "cl_0", "cl_7"))
    assert "--clear" in error_line(cli(worker_server, "centroids", "label", run.run_id, "cl_0", "--clear", "colour"), 2)
    assert "--label" in error_line(cli(worker_server, "centroids", "label", run.run_id, "cl_0"), 2)
