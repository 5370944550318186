"""The demo: collections from the bundled corpus, a handful of clusters over them, and a queue of
real runs — varied algorithms and parameters, plus a few that fail for real reasons — which the
server's workers then compute; plus a nightly cluster whose real runs are moved back to their nights
once computed (``runner/demo_history.py``), so the trends have weeks to show. Nothing in the demo
history is made up but those recorded dates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from clusterbook.demo.corpus import demo_documents
from clusterbook.models.clusters import ClusterCreate
from clusterbook.models.collections import CollectionCreate, DocumentIn
from clusterbook.models.executions import ExecuteRequest
from clusterbook.runner.config import run_config_for
from clusterbook.runner.demo_history import queue_history
from clusterbook.store.clusters import create_cluster
from clusterbook.store.collections import create_collection
from clusterbook.store.documents import upsert_documents
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.queue import submit_execution

SENSOR_POINTS = 1500
SENSOR_REGIONS = ("north", "south", "east", "west", "centre")


@dataclass(frozen=True)
class DemoRun:
    run_name: str
    algorithm_params: dict[str, Any] | None = None
    random_state: int | None = None


@dataclass(frozen=True)
class DemoCluster:
    body: dict[str, Any]
    runs: tuple[DemoRun, ...]


def sensor_documents(seed: int = 0) -> list[dict[str, Any]]:
    """Vectors only (no text): five noisy regions in 24 dimensions, each point tagged with its region."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(len(SENSOR_REGIONS), 24))
    docs = []
    for i in range(SENSOR_POINTS):
        region = i % len(SENSOR_REGIONS)
        spread = 0.8 if region else 2.5  # one diffuse region, so density algorithms find noise
        vector = centres[region] + rng.normal(0, spread, size=24)
        docs.append(
            {
                "document_id": f"sensor-{i:04d}",
                "vector": [round(float(x), 4) for x in vector],
                "metadata": {"region": SENSOR_REGIONS[region], "batch": int(i // 300)},
            }
        )
    return docs


def _kmeans_runs() -> tuple[DemoRun, ...]:
    runs = [DemoRun(f"k={k}", {"n_clusters": k}) for k in (4, 5, 6, 7, 8)]
    runs += [DemoRun(f"k=6, seed {seed}", {"n_clusters": 6}, seed) for seed in (1, 2, 3)]
    runs.append(DemoRun("k chosen by silhouette", {"n_clusters": "auto"}))
    return tuple(runs)


DEMO_CLUSTERS = (
    DemoCluster(
        {
            "cluster_name": "Scratch notes",
            "collection_ids": ["demo-notes"],
            "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 2}},
            "description": "Only one note so far: its runs fail until more are added.",
        },
        (DemoRun("first attempt"), DemoRun("second attempt")),
    ),
    DemoCluster(
        {
            "cluster_name": "Article topics - k-means",
            "collection_ids": ["demo-articles"],
            "vector_config": {"clustering_method": "kmeans", "algorithm_params": {"n_clusters": 6}},
            "description": "News-style snippets clustered by topic with TF-IDF + SVD embeddings.",
        },
        _kmeans_runs(),
    ),
    DemoCluster(
        {
            "cluster_name": "Article topics - HDBSCAN",
            "collection_ids": ["demo-articles"],
            "vector_config": {"clustering_method": "hdbscan", "algorithm_params": {"min_cluster_size": 10}},
        },
        tuple(DemoRun(f"min_cluster_size={m}", {"min_cluster_size": m}) for m in (5, 10, 20, 40)),
    ),
    DemoCluster(
        {
            "cluster_name": "Article topics - agglomerative",
            "collection_ids": ["demo-articles"],
            "vector_config": {"clustering_method": "agglomerative", "algorithm_params": {"n_clusters": 6}},
        },
        (
            DemoRun("ward linkage"),
            DemoRun("average linkage", {"linkage": "average"}),
            DemoRun("too many clusters for the corpus", {"n_clusters": 1000}),
        ),
    ),
    DemoCluster(
        {
            "cluster_name": "Articles by source",
            "collection_ids": ["demo-articles"],
            "cluster_type": "attribute",
            "attribute_config": {"attributes": ["source"]},
        },
        (DemoRun("by source"), DemoRun("by source, again")),
    ),
    DemoCluster(
        {
            "cluster_name": "Sensor regions - MiniBatch k-means",
            "collection_ids": ["demo-sensors"],
            "vector_config": {"clustering_method": "minibatch_kmeans", "algorithm_params": {"n_clusters": 5}},
        },
        tuple(DemoRun(f"k={k}", {"n_clusters": k}) for k in (3, 4, 5, 6, 5)),
    ),
    DemoCluster(
        {
            "cluster_name": "Sensor regions - DBSCAN",
            "collection_ids": ["demo-sensors"],
            "vector_config": {"clustering_method": "dbscan", "algorithm_params": {"eps": 0.3, "min_samples": 5}},
        },
        tuple(DemoRun(f"eps={eps}", {"eps": eps}) for eps in (0.2, 0.3, 0.5, 0.01)),
    ),
)


@dataclass(frozen=True)
class DemoReport:
    documents: int
    clusters: int
    runs: int


def build_demo(session: Session, namespace: str = "default") -> DemoReport:
    """Create the demo collections and clusters and queue their runs (in the caller's transaction)."""
    ns = ensure_namespace(session, name=namespace).namespace_id
    corpora = {
        "demo-articles": demo_documents(),
        "demo-sensors": sensor_documents(),
        "demo-notes": [{"document_id": "note-1", "text": "Remember to cluster the support tickets next week."}],
    }
    for name, docs in corpora.items():
        collection = create_collection(session, namespace_id=ns, data=CollectionCreate(collection_name=name))
        upsert_documents(session, collection=collection, docs=[DocumentIn(**doc) for doc in docs])
    runs = 0
    for demo in DEMO_CLUSTERS:
        cluster = create_cluster(session, namespace_id=ns, data=ClusterCreate(**demo.body))
        for run in demo.runs:
            request = ExecuteRequest(
                run_name=run.run_name, algorithm_params=run.algorithm_params, random_state=run.random_state
            )
            config = run_config_for(cluster, request)
            submit_execution(
                session, namespace_id=ns, cluster_id=cluster.cluster_id, config=config, run_name=run.run_name
            )
            runs += 1
    # queued last (the queue takes the oldest first): the nightly job's past, back-dated once computed
    runs += queue_history(session, namespace_id=ns)
    return DemoReport(sum(len(d) for d in corpora.values()), len(DEMO_CLUSTERS) + 1, runs)
