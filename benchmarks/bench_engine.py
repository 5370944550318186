"""What the clustering pipeline costs on top of the bare scikit-learn fit it wraps.

Builds N × d float32 vectors (make_blobs, seeded, L2-normalised) with a short text per point, then times
in one process, alternating per repeat:

    bare    sklearn.cluster.KMeans(n_clusters=k, random_state=seed).fit(X)
    engine  clusterbook.engine.run_pipeline(kmeans, n_clusters=k) on the same vectors and texts
            (normalise, fit, size-ordered relabel, distances, metrics, c-TF-IDF labels, projection)

and prints both in wall and CPU seconds (CPU time is steadier when other work shares the machine), their
ratio, and the pipeline's own ``timings_ms`` breakdown. The phases are
separate functions (``make_dataset``, ``bare_seconds``, ``engine_seconds``, ``end_to_end_seconds``).

End to end (``--database-url``, default a fresh SQLite file): the same vectors are stored as a
collection, a kmeans cluster is executed the way a worker's process does it (``runner.compute``:
load from the database → cluster → metrics → labels → persist run, memberships and projection), and
that whole run is timed beside the bare fit.

Usage::

    python benchmarks/bench_engine.py                       # 100,000 × 384, 20 clusters, SQLite
    python benchmarks/bench_engine.py --points 20000 --dims 128 --repeat 3
    python benchmarks/bench_engine.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Timing figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize
from sqlalchemy import Engine, insert, update

from clusterbook.engine import EngineInput, EngineResult, RunConfig, run_pipeline, validate_algorithm_params
from clusterbook.models.clusters import Cluster, ClusterCreate, VectorConfig
from clusterbook.models.collections import CollectionCreate
from clusterbook.models.executions import ClusterExecutionResult
from clusterbook.runner.compute import ComputeSettings, compute_run
from clusterbook.runner.config import run_config_for
from clusterbook.store.clusters import create_cluster
from clusterbook.store.collections import create_collection
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, transaction
from clusterbook.store.executions import read_execution
from clusterbook.store.folded import with_folded
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.queue import claim_next_execution, submit_execution
from clusterbook.store.tables import collections, documents

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du")
WORDS_PER_CLUSTER = 12
WORDS_PER_TEXT = 8


@dataclass
class Dataset:
    document_ids: list[str]
    texts: list[str | None]
    vectors: np.ndarray  # float32, unit rows
    truth: np.ndarray


def make_dataset(points: int, dims: int, clusters: int, seed: int = 0) -> Dataset:
    """Blobs around ``clusters`` centres, each text drawn from its centre's own small vocabulary."""
    X, y = make_blobs(n_samples=points, n_features=dims, centers=clusters, random_state=seed)
    words = np.array(["".join(w) for w in itertools.product(_SYLLABLES, repeat=3)])  # 1,000 letter-only words
    rng = np.random.default_rng(seed)
    vocab = rng.permutation(len(words))[: clusters * WORDS_PER_CLUSTER].reshape(clusters, WORDS_PER_CLUSTER)
    picks = rng.integers(0, WORDS_PER_CLUSTER, size=(points, WORDS_PER_TEXT))
    tokens = words[vocab[y][np.arange(points)[:, None], picks]]
    texts: list[str | None] = [" ".join(row) for row in tokens.tolist()]
    return Dataset(
        document_ids=[f"doc-{i}" for i in range(points)],
        texts=texts,
        vectors=np.ascontiguousarray(normalize(X), dtype=np.float32),
        truth=y,
    )


@dataclass
class Timing:
    wall: float  # seconds on the clock
    cpu: float  # CPU-seconds of this process, all threads: steadier than wall time on a busy machine


@contextmanager
def timed() -> Iterator[Timing]:
    timing = Timing(0.0, 0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    yield timing
    timing.wall, timing.cpu = time.perf_counter() - wall, time.process_time() - cpu


def bare_seconds(data: Dataset, clusters: int, seed: int = 0) -> tuple[Timing, np.ndarray]:
    with timed() as timing:
        model = KMeans(n_clusters=clusters, random_state=seed).fit(data.vectors)
    return timing, model.labels_


def engine_seconds(data: Dataset, clusters: int, seed: int = 0) -> tuple[Timing, EngineResult]:
    config = RunConfig("kmeans", validate_algorithm_params("kmeans", {"n_clusters": clusters}), random_state=seed)
    engine_input = EngineInput(data.document_ids, data.texts, [{} for _ in data.document_ids], data.vectors, config)
    with timed() as timing:
        result = run_pipeline(engine_input)
    return timing, result


def store_dataset(database_url: str, data: Dataset, clusters: int) -> tuple[Engine, Cluster]:
    """Setup, not timed: a fresh schema holding the vectors as one collection, and a kmeans cluster."""
    engine = make_engine(database_url)
    migrate(engine)
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        ns = ensure_namespace(session, name="bench-engine").namespace_id
        name = f"bench-{now:%H%M%S%f}"
        collection = create_collection(session, namespace_id=ns, data=CollectionCreate(collection_name=name))
        rows = [
            with_folded(
                documents,
                {
                    "collection_id": collection.collection_id,
                    "document_id": doc_id,
                    "text": text,
                    "metadata": {},
                    "vector": vector.tobytes(),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            for doc_id, text, vector in zip(data.document_ids, data.texts, data.vectors, strict=True)
        ]
        for start in range(0, len(rows), 10_000):
            session.execute(insert(documents), rows[start : start + 10_000])
        session.execute(
            update(collections)
            .where(collections.c.collection_id == collection.collection_id)
            .values(vector_dimension=data.vectors.shape[1])
        )
        cluster = create_cluster(
            session,
            namespace_id=ns,
            data=ClusterCreate(
                cluster_name=name,
                collection_ids=[collection.collection_id],
                vector_config=VectorConfig(clustering_method="kmeans", algorithm_params={"n_clusters": clusters}),
            ),
        )
    return engine, cluster


def end_to_end_seconds(engine: Engine, cluster: Cluster, database_url: str) -> tuple[Timing, ClusterExecutionResult]:
    """One real run as a worker's process does it: load → cluster → metrics → labels → persist."""
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        submit_execution(
            session,
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            config=run_config_for(cluster, None),
        )
        claim = claim_next_execution(session, worker_id="bench", lease_seconds=3600)
    assert claim is not None
    with timed() as timing:
        compute_run(claim, ComputeSettings(database_url=database_url, busy_timeout_ms=30_000))
    with transaction(make_sessionmaker(engine)) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=claim.run_id)
    assert run is not None and run.status == "completed", run and run.error_message
    return timing, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--database-url", default=None, help="store for the end-to-end run (default: a new SQLite file in a temp dir)"
    )
    parser.add_argument("--no-end-to-end", action="store_true", help="time the engine only")
    args = parser.parse_args()
    database_url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench_engine.db'}"

    start = time.perf_counter()
    data = make_dataset(args.points, args.dims, args.clusters, args.seed)
    print(
        f"dataset: {args.points:,} × {args.dims} float32, {args.clusters} centres, "
        f"built in {time.perf_counter() - start:.1f} s"
    )

    stored = None
    if not args.no_end_to_end:
        start = time.perf_counter()
        stored = store_dataset(database_url, data, args.clusters)
        print(f"stored as a collection in {time.perf_counter() - start:.1f} s ({stored[0].dialect.name})")

    bare: list[Timing] = []
    engine: list[Timing] = []
    runs: list[Timing] = []
    run: ClusterExecutionResult | None = None
    result: EngineResult | None = None
    bare_labels = np.empty(0)
    for r in range(args.repeat):
        timing, bare_labels = bare_seconds(data, args.clusters, args.seed)
        bare.append(timing)
        timing, result = engine_seconds(data, args.clusters, args.seed)
        engine.append(timing)
        line = (
            f"repeat {r + 1}: bare KMeans {bare[-1].wall:.2f} s ({bare[-1].cpu:.2f} CPU-s) · "
            f"run_pipeline {engine[-1].wall:.2f} s ({engine[-1].cpu:.2f} CPU-s)"
        )
        if stored is not None:
            timing, run = end_to_end_seconds(*stored, database_url)
            runs.append(timing)
            line += f" · end-to-end run {runs[-1].wall:.2f} s ({runs[-1].cpu:.2f} CPU-s)"
        print(line)
    assert result is not None

    for unit in ("wall", "cpu"):
        b = statistics.median(getattr(t, unit) for t in bare)
        e = statistics.median(getattr(t, unit) for t in engine)
        print(f"\n{unit} seconds, median of {args.repeat}:")
        print(f"  bare sklearn KMeans fit   {b:8.2f} s")
        print(f"  clusterbook run_pipeline  {e:8.2f} s   ratio {e / b:.2f}×, overhead {e - b:+.2f} s")
        if runs:
            x = statistics.median(getattr(t, unit) for t in runs)
            print(f"  end-to-end run (DB → DB)  {x:8.2f} s   ratio {x / b:.2f}×, overhead {x - b:+.2f} s")
    print("\npipeline phases (last run, wall):")
    for phase, ms in result.timings_ms.items():
        print(f"  {phase:<8} {ms / 1000:8.2f} s")
    print(f"  {'(other)':<8} {engine[-1].wall - sum(result.timings_ms.values()) / 1000:8.2f} s")
    print(
        f"\nsame clustering as bare: ARI {adjusted_rand_score(bare_labels, result.labels):.4f}; "
        f"vs true centres: ARI {adjusted_rand_score(data.truth, result.labels):.4f}"
    )
    print(f"silhouette {result.silhouette_score:.4f} ({result.metric_notes.get('silhouette_score', 'exact')})")
    print(f"labels: {result.centroids[0].label!r}, {result.centroids[1].label!r}, …")
    if run is not None:
        phases = ", ".join(f"{k} {v / 1000:.2f} s" for k, v in (run.timings_ms or {}).items())
        print(f"end-to-end run phases: {phases}; persist = the rest of the run's time")


if __name__ == "__main__":
    main()
