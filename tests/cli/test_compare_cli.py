"""``clusterbook executions compare A B [C D]`` against a live server, on runs with known memberships:
the measures with the best starred, the config differences, and per pair ARI/AMI and matched clusters."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from tests.api.test_compare_routes import KMEANS, OTHER, REFERENCE, RELABELED, completed_run, sklearn_scores
from tests.cli.test_remote_cli import cli, error_line, ok
from tests.factories import make_cluster


def test_compare_prints_measures_config_and_pairs(
    live_server: BackgroundServer, session_factory: sessionmaker[Session]
) -> None:
    cluster = make_cluster(session_factory, cluster_name="pairs")
    a = completed_run(session_factory, cluster, 0, REFERENCE, config=KMEANS, metrics={"silhouette_score": 0.41})
    b = completed_run(
        session_factory,
        cluster,
        1,
        OTHER,
        config={**KMEANS, "params": {"n_clusters": 3, "init": "k-means++"}},
        metrics={"silhouette_score": 0.52},
        labels=("Refunds", "Invoices"),
    )
    c = completed_run(session_factory, cluster, 2, RELABELED, config=KMEANS, metrics={"silhouette_score": 0.3})
    shown = ok(cli(live_server, "executions", "compare", a, b, c))
    ari, ami = sklearn_scores(REFERENCE, OTHER)
    lines = shown.splitlines()
    silhouette = next(line for line in lines if line.lstrip("│ ").startswith("silhouette"))
    assert "0.5200 ★" in silhouette and "0.4100 ★" not in silhouette
    assert "params.n_clusters" in shown and next(line for line in lines if "params.n_clusters" in line).count("2") >= 2
    assert f"{b} against {a}: ARI {ari:.4f}, AMI {ami:.4f}, 11 shared documents, 81.8% stayed, 2 moved" in shown
    assert f"{c} against {a}: ARI 1.0000, AMI 1.0000" in shown
    matched = next(line for line in lines if "cl_0 Billing" in line)
    assert "cl_1 Invoices" in matched and "0.800" in matched
    assert "moved (first 2 by id): d05, d11" in shown

    data = json.loads(ok(cli(live_server, "executions", "compare", a, b, "--format", "json")))
    assert [run["run_id"] for run in data["runs"]] == [a, b]
    assert data["pairs"][0]["moved_documents"] == 2
    assert error_line(cli(live_server, "executions", "compare", a)).endswith("[422]")
    assert "name 2 to 4 runs to compare (got 5)" in error_line(
        cli(live_server, "executions", "compare", a, b, c, a, b, "-c", "pairs")
    )
