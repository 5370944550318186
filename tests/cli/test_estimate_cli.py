"""``clusterbook clusters estimate`` against a live server: the figures, ``--format json`` as the API's
document, and exit 1 with the server's reason when the run would be refused."""

from __future__ import annotations

import json

import httpx
from click.testing import Result
from typer.testing import CliRunner

from clusterbook.api.background import BackgroundServer
from clusterbook.cli.main import app

CLEAN_ENV = {"CLUSTERBOOK_URL": None, "CLUSTERBOOK_API_KEY": None, "CLUSTERBOOK_NAMESPACE": None}


def cli(server: BackgroundServer, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--url", server.url], env=CLEAN_ENV)


def make_cluster(server: BackgroundServer, n: int, method: str, params: dict[str, object]) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        collection = http.post("/v1/collections", json={"collection_name": f"c{n}"}).json()["collection_id"]
        docs = [{"document_id": f"p{i:05d}", "vector": [i % 7 / 7, i % 11 / 11, i % 3]} for i in range(n)]
        assert http.post(f"/v1/collections/{collection}/documents", json={"documents": docs}).status_code == 200
        body = {
            "cluster_name": f"{method}-{n}",
            "collection_ids": [collection],
            "vector_config": {"clustering_method": method, "algorithm_params": params},
        }
        return str(http.post("/v1/clusters", json=body).json()["cluster_id"])


def test_estimate_prints_the_figures_and_the_json_document(live_server: BackgroundServer) -> None:
    cluster = make_cluster(live_server, 200, "hdbscan", {"min_cluster_size": 5})
    result = cli(live_server, "clusters", "estimate", "hdbscan-200", "-p", "pca_components=2")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "algorithm      hdbscan" in result.stdout
    assert "documents      200 × 3 dimensions (fits 200 × 2)" in result.stdout
    assert "limit          200,000 documents, 2,000,000 documents × dimensions" in result.stdout
    as_json = cli(live_server, "clusters", "estimate", cluster, "--sample-size", "50", "--format", "json")
    assert as_json.exit_code == 0, as_json.stderr
    expected = httpx.post(f"{live_server.url}/v1/clusters/{cluster}/execute/estimate", json={"sample_size": 50})
    assert json.loads(as_json.stdout) == expected.json()


def test_estimate_exits_1_with_the_reason_when_the_run_would_be_refused(live_server: BackgroundServer) -> None:
    make_cluster(live_server, 5_001, "spectral", {"n_clusters": 3})
    result = cli(live_server, "clusters", "estimate", "spectral-5001")
    assert result.exit_code == 1
    assert "documents      5,001 × 3 dimensions" in result.stdout
    line = result.stderr.strip()
    assert line.startswith("error: refused: spectral is limited to 5,000 documents per fit")
    assert "sample_size at most 5,000" in line
    assert cli(live_server, "clusters", "estimate", "spectral-5001", "--sample-size", "5000").exit_code == 0
