"""The k-means engine at full speed, side by side with the naive scikit-learn pipeline (issue 12).

Data: ``make_blobs`` with ``--cluster-std`` 40 (overlapping blobs: the true clustering is only partly
recoverable, ARI ≈ 0.63, like real embeddings), L2-normalised float32, one short text per point.

Table "end to end" (goal 2), sides interleaved per repeat, medians, every side on the same threads:

    naive      sklearn KMeans(n_init=1) + silhouette on a 10k sample + Davies-Bouldin + Calinski-Harabasz,
               on the array already in memory
    faiss      faiss.Kmeans on every point (25 iterations) + the same three sklearn metrics (when installed)
    pipeline   clusterbook.engine.run_pipeline on the same array (fit, metrics, labels, projection)
    run        a real run in its own process (runner.compute.compute_run): load from the database →
               cluster → metrics → labels → projection → persist run and memberships

with wall seconds, the speed-up over naive (naive ÷ side), ARI to the true centres, silhouette, and
the peak resident memory of the run's process.

Table "load and persist" (goal 5): loading the vectors the way a run does and writing the run's
memberships (in a transaction that is rolled back), on SQLite and, with ``--postgres-url``, PostgreSQL.

``--million`` (goal 4): one 1,000,000 × 384 kmeans run through the real runner in its own process, with
its wall time and peak memory (VmHWM) against the vectors' bytes. Storing the million documents first
takes minutes.

Usage::

    python benchmarks/bench_engine.py                                  # 100k × 384, k=20, SQLite, 3 repeats
    python benchmarks/bench_engine.py --postgres-url postgresql://user@host:5432/db
    python benchmarks/bench_engine.py --million --repeat 1

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from bench_list import postgres_target
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sqlalchemy import Engine, insert, update
from threadpoolctl import threadpool_limits

from clusterbook.engine import EngineInput, RunConfig, run_pipeline, validate_algorithm_params
from clusterbook.models.clusters import Cluster, ClusterCreate, VectorConfig
from clusterbook.models.collections import CollectionCreate
from clusterbook.runner.compute import ComputeSettings, compute_run
from clusterbook.runner.config import run_config_for
from clusterbook.settings import available_cores
from clusterbook.store.clusters import create_cluster
from clusterbook.store.collections import create_collection
from clusterbook.store.db import make_engine, make_sessionmaker, migrate, transaction
from clusterbook.store.documents import load_run_documents
from clusterbook.store.executions import read_execution
from clusterbook.store.folded import with_folded
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.queue import claim_next_execution, insert_members, submit_execution
from clusterbook.store.tables import collections, documents

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du")
WORDS_PER_CLUSTER = 12
WORDS_PER_TEXT = 8
NAIVE_SILHOUETTE_SAMPLE = 10_000


@dataclass
class Dataset:
    document_ids: list[str]
    texts: list[str | None]
    vectors: np.ndarray  # float32, unit rows
    truth: np.ndarray


def make_dataset(points: int, dims: int, clusters: int, cluster_std: float, seed: int = 0) -> Dataset:
    """Blobs around ``clusters`` centres, each text drawn from its centre's own small vocabulary."""
    X, y = make_blobs(n_samples=points, n_features=dims, centers=clusters, cluster_std=cluster_std, random_state=seed)
    X = X.astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    words = np.array(["".join(w) for w in itertools.product(_SYLLABLES, repeat=3)])  # 1,000 letter-only words
    rng = np.random.default_rng(seed)
    vocab = rng.permutation(len(words))[: clusters * WORDS_PER_CLUSTER].reshape(clusters, WORDS_PER_CLUSTER)
    picks = rng.integers(0, WORDS_PER_CLUSTER, size=(points, WORDS_PER_TEXT))
    tokens = words[vocab[y][np.arange(points)[:, None], picks]]
    return Dataset(
        # zero-padded ids: the load order (document id) is the generation order
        document_ids=[f"doc-{i:07d}" for i in range(points)],
        texts=[" ".join(row) for row in tokens.tolist()],
        vectors=np.ascontiguousarray(X),
        truth=y,
    )


@dataclass
class Measure:
    seconds: float
    ari: float
    silhouette: float | None
    peak_bytes: int | None = None


def naive(data: Dataset, k: int, seed: int) -> Measure:
    start = time.perf_counter()
    labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(data.vectors).labels_
    sil = silhouette_score(data.vectors, labels, sample_size=NAIVE_SILHOUETTE_SAMPLE, random_state=seed)
    davies_bouldin_score(data.vectors, labels)
    calinski_harabasz_score(data.vectors, labels)
    return Measure(time.perf_counter() - start, adjusted_rand_score(data.truth, labels), float(sil))


def faiss_side(data: Dataset, k: int, seed: int) -> Measure:
    import faiss  # the optional fast path of the comparison; `pip install faiss-cpu`

    start = time.perf_counter()
    model = faiss.Kmeans(data.vectors.shape[1], k, niter=25, seed=seed, max_points_per_centroid=10**9)
    model.train(data.vectors)
    labels = model.index.search(data.vectors, 1)[1].ravel()
    sil = silhouette_score(data.vectors, labels, sample_size=NAIVE_SILHOUETTE_SAMPLE, random_state=seed)
    davies_bouldin_score(data.vectors, labels)
    calinski_harabasz_score(data.vectors, labels)
    return Measure(time.perf_counter() - start, adjusted_rand_score(data.truth, labels), float(sil))


def pipeline(data: Dataset, k: int, seed: int) -> Measure:
    config = RunConfig("kmeans", validate_algorithm_params("kmeans", {"n_clusters": k}), random_state=seed)
    engine_input = EngineInput(data.document_ids, data.texts, [{} for _ in data.document_ids], data.vectors, config)
    start = time.perf_counter()
    result = run_pipeline(engine_input)
    return Measure(time.perf_counter() - start, adjusted_rand_score(data.truth, result.labels), result.silhouette_score)


def store_dataset(database_url: str, data: Dataset, clusters: int, seed: int) -> tuple[Engine, Cluster]:
    """Setup, not timed: the vectors as one collection, and a kmeans cluster on it."""
    engine = make_engine(database_url)
    migrate(engine)
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        ns = ensure_namespace(session, name="bench-engine").namespace_id
        name = f"bench-{now:%H%M%S%f}"
        collection = create_collection(session, namespace_id=ns, data=CollectionCreate(collection_name=name))
        for start in range(0, len(data.document_ids), 10_000):
            rows = [
                with_folded(
                    documents,
                    {
                        "collection_id": collection.collection_id,
                        "document_id": data.document_ids[i],
                        "text": data.texts[i],
                        "metadata": {},
                        "vector": data.vectors[i].tobytes(),
                        "created_at": now,
                        "updated_at": now,
                    },
                )
                for i in range(start, min(start + 10_000, len(data.document_ids)))
            ]
            session.execute(insert(documents), rows)
        session.execute(
            update(collections)
            .where(collections.c.collection_id == collection.collection_id)
            .values(vector_dimension=data.vectors.shape[1])
        )
        params = {"n_clusters": clusters, "random_state": seed}
        cluster = create_cluster(
            session,
            namespace_id=ns,
            data=ClusterCreate(
                cluster_name=name,
                collection_ids=[collection.collection_id],
                vector_config=VectorConfig(clustering_method="kmeans", algorithm_params=params),
            ),
        )
    return engine, cluster


def peak_rss_bytes() -> int:
    """This process's peak resident memory: VmHWM, which starts afresh at exec. (``ru_maxrss`` does not:
    it keeps the parent's resident size at fork, the whole dataset here.)"""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _child(claim: Any, settings: ComputeSettings, out: Any) -> None:
    start = time.perf_counter()
    compute_run(claim, settings)
    out.put((time.perf_counter() - start, peak_rss_bytes()))


def real_run(engine: Engine, cluster: Cluster, url: str, threads: int, truth: np.ndarray) -> Measure:
    """One run the way a worker does it, in a fresh process (spawned: its memory is its own)."""
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        submit_execution(
            session,
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            config=run_config_for(cluster, None),
        )
        claim = claim_next_execution(session, worker_id="bench", lease_seconds=3600)
    assert claim is not None
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_child, args=(claim, ComputeSettings(url, 30_000, threads=threads), out))
    process.start()
    seconds, peak = out.get()
    process.join()
    with transaction(make_sessionmaker(engine)) as session:
        run = read_execution(session, cluster_id=cluster.cluster_id, run_id=claim.run_id)
        assert run is not None and run.status == "completed", run and run.error_message
        labels = _stored_labels(session, claim.run_id, len(truth))
    silhouette = run.metrics.silhouette_score if run.metrics else None
    return Measure(seconds, adjusted_rand_score(truth, labels), silhouette, peak)


def _stored_labels(session: Any, run_id: str, n: int) -> np.ndarray:
    from sqlalchemy import select

    from clusterbook.store.tables import execution_members as m

    rows = session.execute(select(m.c.document_id, m.c.cluster_id).where(m.c.run_id == run_id)).all()
    labels = np.full(n, -1)
    for document_id, cluster_id in rows:
        labels[int(document_id.rsplit("-", 1)[1])] = int(cluster_id[3:]) if cluster_id else -1
    return labels


def _median(measures: list[Measure], attr: str) -> float:
    values = [getattr(m, attr) for m in measures if getattr(m, attr) is not None]
    return statistics.median(values) if values else float("nan")


def end_to_end_table(data: Dataset, args: argparse.Namespace, stored: tuple[Engine, Cluster], url: str) -> None:
    sides: dict[str, Callable[[], Measure]] = {
        "naive sklearn": lambda: naive(data, args.clusters, args.seed),
        "clusterbook run_pipeline": lambda: pipeline(data, args.clusters, args.seed),
        "clusterbook run (DB → DB)": lambda: real_run(*stored, url, args.threads, data.truth),
    }
    try:
        import faiss  # noqa: F401

        sides["faiss k-means + metrics"] = lambda: faiss_side(data, args.clusters, args.seed)
    except ImportError:
        print("(faiss not installed: its row is left out; pip install faiss-cpu to add it)")
    results: dict[str, list[Measure]] = {name: [] for name in sides}
    for r in range(args.repeat):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))  # interleaved, alternating order
        for name in order:
            with threadpool_limits(args.threads):
                results[name].append(sides[name]())
        print(f"  repeat {r + 1}: " + ", ".join(f"{n} {results[n][-1].seconds:.2f} s" for n in sides), flush=True)
    base = _median(results["naive sklearn"], "seconds")
    vector_bytes = data.vectors.nbytes
    print(
        f"\nend to end, {len(data.truth):,} × {data.vectors.shape[1]}, k={args.clusters}, {args.threads} threads, "
        f"median of {args.repeat} ({stored[0].dialect.name}):"
    )
    print(f"  {'side':<28} {'wall s':>8} {'speed-up':>9} {'ARI':>7} {'silhouette':>11} {'peak memory':>16}")
    for name, measures in results.items():
        seconds = _median(measures, "seconds")
        peak = _median(measures, "peak_bytes")
        memory = "" if np.isnan(peak) else f"{peak / 2**30:.2f} GiB {peak / vector_bytes:.2f}×"
        print(
            f"  {name:<28} {seconds:8.2f} {base / seconds:8.2f}× {_median(measures, 'ari'):7.4f} "
            f"{_median(measures, 'silhouette'):11.4f} {memory:>16}"
        )


def load_persist_table(data: Dataset, targets: list[tuple[str, Engine, Cluster]], repeat: int) -> None:
    """Loading the run's vectors (in the runner's snapshot session), and writing 100k memberships,
    per database. Each persist writes a fresh run's memberships, rolled back, then VACUUMs the table
    (untimed): PostgreSQL keeps a rolled-back write's index entries until VACUUM, and every later
    write would wade through them, which made this figure pessimistic."""
    labels = [f"cl_{i % 20}" for i in range(len(data.document_ids))]
    distances = [float(i % 97) / 97 for i in range(len(data.document_ids))]
    times: dict[str, dict[str, list[float]]] = {name: {"load": [], "persist": []} for name, _, _ in targets}
    for _ in range(repeat):
        for name, engine, cluster in targets:
            with transaction(make_sessionmaker(engine, snapshot=True)) as session:
                start = time.perf_counter()
                loaded = load_run_documents(
                    session,
                    namespace_id=cluster.namespace_id,
                    collection_ids=list(cluster.collection_ids),
                    filters=None,
                    with_metadata=False,
                )
                times[name]["load"].append(time.perf_counter() - start)
            assert loaded.vectors is not None and np.array_equal(loaded.vectors, data.vectors)
            run_id = _pending_run(engine, cluster)
            with make_sessionmaker(engine, writes=True)() as session, session.begin() as tx:
                start = time.perf_counter()
                insert_members(session, run_id, data.document_ids, labels, distances)
                session.flush()
                times[name]["persist"].append(time.perf_counter() - start)
                tx.rollback()
            vacuum_members(engine)
    print(f"\nload and persist, {len(data.document_ids):,} documents × {data.vectors.shape[1]}, median of {repeat}:")
    print(f"  {'database':<12} {'load vectors':>13} {'persist members':>16}")
    for name, phases in times.items():
        print(
            f"  {name:<12} {statistics.median(phases['load']):11.2f} s {statistics.median(phases['persist']):14.2f} s"
        )


def vacuum_members(engine: Engine) -> None:
    """After a rolled-back persist: PostgreSQL's dead index entries go, as autovacuum would remove them."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM execution_members")


def _pending_run(engine: Engine, cluster: Cluster) -> str:
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        run = submit_execution(
            session,
            namespace_id=cluster.namespace_id,
            cluster_id=cluster.cluster_id,
            config=run_config_for(cluster, None),
        )
    return str(run.run_id)


def million(args: argparse.Namespace, url: str) -> None:
    points = 1_000_000
    start = time.perf_counter()
    data = make_dataset(points, args.dims, args.clusters, args.cluster_std, args.seed)
    print(
        f"dataset: {points:,} × {args.dims} float32 ({data.vectors.nbytes / 2**30:.2f} GiB), "
        f"built in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    start = time.perf_counter()
    stored = store_dataset(url, data, args.clusters, args.seed)
    print(f"stored in {time.perf_counter() - start:.0f} s ({stored[0].dialect.name})", flush=True)
    truth, vector_bytes = data.truth, data.vectors.nbytes
    del data
    for r in range(args.repeat):
        measure = real_run(*stored, url, args.threads, truth)
        peak = measure.peak_bytes or 0
        print(
            f"  1M run {r + 1}: {measure.seconds:.1f} s, peak memory {peak / 2**30:.2f} GiB = "
            f"{peak / vector_bytes:.2f}× the vectors' {vector_bytes / 2**30:.2f} GiB (goal ≤ 2.5×); "
            f"ARI {measure.ari:.4f}, silhouette {measure.silhouette:.4f}",
            flush=True,
        )


def postgres_url(base_url: str | None) -> str | None:
    """A fresh schema ``bench_engine`` in the given database (as bench_list does), never its public schema."""
    if not base_url:
        return None
    target = postgres_target(base_url, "bench_engine")
    target.reset()
    return target.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--cluster-std", type=float, default=40.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=available_cores(), help="for every side (default: cores)")
    parser.add_argument("--postgres-url", default=None, help="also load and persist on this PostgreSQL database")
    parser.add_argument("--million", action="store_true", help="only the 1,000,000-document run (goal 4)")
    args = parser.parse_args()
    sqlite_url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench_engine.db'}"
    if args.million:
        million(args, postgres_url(args.postgres_url) or sqlite_url)
        return

    start = time.perf_counter()
    data = make_dataset(args.points, args.dims, args.clusters, args.cluster_std, args.seed)
    print(
        f"dataset: {args.points:,} × {args.dims}, {args.clusters} centres (std {args.cluster_std}), "
        f"built in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    targets: list[tuple[str, Engine, Cluster]] = []
    for name, url in [("sqlite", sqlite_url), ("postgresql", postgres_url(args.postgres_url))]:
        if url:
            start = time.perf_counter()
            targets.append((name, *store_dataset(url, data, args.clusters, args.seed)))
            print(f"stored in {name} in {time.perf_counter() - start:.1f} s", flush=True)
    load_persist_table(data, targets, args.repeat)
    end_to_end_table(data, args, (targets[0][1], targets[0][2]), sqlite_url)


if __name__ == "__main__":
    main()
