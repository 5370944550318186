"""HDBSCAN at 100k × 384 (issue 12, goals 3 and 6): the declared reduction and the optional hdbscan package
against naive scikit-learn HDBSCAN, with the engine's cost estimate beside each measured time.

Data: ``make_blobs`` (10 centres in 384 dimensions, cluster_std 1.0), float32; every side clusters the
same array and is scored by ARI to the true centres.

    naive      sklearn.cluster.HDBSCAN on the raw 384-dimensional vectors. At 100k it runs away (it ran
               past 300 s; the engine now refuses it), so it is timed at ``--naive-n`` documents and
               extrapolated to 100k as n² (its core-distance and spanning-tree passes are quadratic once
               the KD-tree stops pruning in 384 dimensions). The extrapolation is marked "extrapolated".
    pca/sk     clusterbook.engine.run_pipeline, hdbscan with pca_components (seeded PCA, scikit-learn's
               HDBSCAN): end to end (normalise, reduce, fit, metrics in the original space, labels,
               projection).
    pca/pkg    the same with implementation 'hdbscan' (the optional hdbscan package's Borůvka KD-tree),
               when it is installed (``pip install 'clusterbook[hdbscan]'``).

Each row prints wall seconds (median of ``--repeat``, sides interleaved per repeat), the engine's
estimate (``engine/limits.py``), whether the size limit would refuse the run, and ARI to the truth.

Usage::

    python benchmarks/bench_hdbscan.py                      # 100k × 384, PCA to 16, naive at 20k, 1 repeat
    python benchmarks/bench_hdbscan.py --components 16 50 --naive-n 10000 --repeat 3
    python benchmarks/bench_hdbscan.py --naive-n 5000 --skip-sklearn-pca   # the package side only at 100k

With ``--runner`` it measures issue 16's goal instead: PCA(50) + HDBSCAN on 100k × 384 **through the real
runner, database to database** (load, preprocess, fit, metrics, labels, projection, persist; one fresh process
per run, as a worker does), sides interleaved per repeat:

    knn full     preprocessing [pca 50], implementation 'knn', every document fitted (no sample_size)
    sk sampled   the same cluster with scikit-learn's HDBSCAN on sample_size=20,000 (the way before 'knn')

and beside them, quality on the same reduced array: scikit-learn's exact HDBSCAN against 'knn' on a seeded
``--quality-n`` subset (ARI of each to the truth and to each other)::

    python benchmarks/bench_hdbscan.py --runner --n 100000 --repeat 3        # SQLite in a temporary folder
    python benchmarks/bench_hdbscan.py --runner --database-url postgresql+psycopg://…

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
from sklearn.cluster import HDBSCAN
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import EngineInput, RunConfig, run_pipeline, validate_algorithm_params
from clusterbook.engine.limits import estimate_run

MIN_CLUSTER_SIZE = 50


def pipeline_side(X: np.ndarray, params: dict[str, object]) -> Callable[[], np.ndarray]:
    n = len(X)
    config = RunConfig("hdbscan", validate_algorithm_params("hdbscan", params), random_state=0)

    def run() -> np.ndarray:
        data = EngineInput([f"d{i}" for i in range(n)], [None] * n, [{} for _ in range(n)], X, config)
        return run_pipeline(data).labels

    return run


def naive_side(X: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, copy=True).fit_predict(X)


def runner_table(args: argparse.Namespace) -> None:
    """PCA(50) + HDBSCAN through the real runner (DB → DB), knn full fit beside the sampled sklearn fit."""
    import multiprocessing
    import tempfile
    from pathlib import Path

    from bench_engine import make_dataset, store_dataset
    from sqlalchemy import select

    from clusterbook.engine.knn_hdbscan import KnnHDBSCAN
    from clusterbook.engine.reduction import reduce_dimensions
    from clusterbook.models.clusters import ClusterCreate, VectorConfig
    from clusterbook.models.executions import ExecuteRequest
    from clusterbook.runner.compute import ComputeSettings
    from clusterbook.runner.config import run_config_for
    from clusterbook.store.clusters import create_cluster
    from clusterbook.store.db import make_sessionmaker, transaction
    from clusterbook.store.executions import read_execution
    from clusterbook.store.queue import claim_next_execution, submit_execution
    from clusterbook.store.tables import execution_members

    data = make_dataset(args.n, args.dims, 10, 1.0, seed=0)
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    engine, kmeans_cluster = store_dataset(url, data, 10, 0)
    with transaction(make_sessionmaker(engine, writes=True)) as session:
        cluster = create_cluster(
            session,
            namespace_id=kmeans_cluster.namespace_id,
            data=ClusterCreate(
                cluster_name=f"{kmeans_cluster.cluster_name}-hdbscan",
                collection_ids=list(kmeans_cluster.collection_ids),
                vector_config=VectorConfig(
                    clustering_method="hdbscan",
                    algorithm_params={"min_cluster_size": MIN_CLUSTER_SIZE},
                    preprocessing=[{"step": "pca", "n_components": args.runner_components}],
                ),
            ),
        )
    sides = {
        "knn full": ExecuteRequest(algorithm_params={"implementation": "knn"}),
        "sk sampled": ExecuteRequest(sample_size=20_000),
    }
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    peaks: dict[str, list[int]] = {name: [] for name in sides}
    quality: dict[str, float] = {}
    timings: dict[str, dict[str, int]] = {}
    context = multiprocessing.get_context("spawn")
    for _ in range(args.repeat):
        for name, request in sides.items():
            with transaction(make_sessionmaker(engine, writes=True)) as session:
                submit_execution(
                    session,
                    namespace_id=cluster.namespace_id,
                    cluster_id=cluster.cluster_id,
                    config=run_config_for(cluster, request),
                )
                claim = claim_next_execution(session, worker_id="bench", lease_seconds=3600)
            assert claim is not None
            out = context.Queue()
            process = context.Process(target=_child, args=(claim, ComputeSettings(url, 30_000, threads=1), out))
            process.start()
            wall, peak = out.get()
            process.join()
            seconds[name].append(wall)
            peaks[name].append(peak)
            with transaction(make_sessionmaker(engine)) as session:
                run = read_execution(session, cluster_id=cluster.cluster_id, run_id=claim.run_id)
                assert run is not None and run.status == "completed", run and run.error_message
                timings[name] = dict(run.timings_ms or {})
                m = execution_members
                rows = session.execute(select(m.c.document_id, m.c.cluster_id).where(m.c.run_id == claim.run_id)).all()
            labels = np.full(args.n, -1)
            for document_id, cluster_id in rows:
                labels[int(document_id.rsplit("-", 1)[1])] = int(cluster_id[3:]) if cluster_id else -1
            quality[name] = adjusted_rand_score(data.truth, labels)

    rows_q = np.sort(np.random.default_rng(0).choice(args.n, size=min(args.quality_n, args.n), replace=False))
    reduced, _ = reduce_dimensions(data.vectors[rows_q], args.runner_components, 0)
    start = time.perf_counter()
    exact = HDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE, copy=True).fit_predict(reduced)
    exact_s = time.perf_counter() - start
    start = time.perf_counter()
    knn = KnnHDBSCAN(min_cluster_size=MIN_CLUSTER_SIZE).fit_predict(reduced)
    knn_s = time.perf_counter() - start

    print(
        f"PCA({args.runner_components}) + HDBSCAN through the runner (DB → DB, {url.split(':')[0]}), blobs "
        f"{args.n:,} × {args.dims} (10 centres), min_cluster_size {MIN_CLUSTER_SIZE}, one thread, median of "
        f"{args.repeat}, sides interleaved; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'side':<12} {'wall s':>8} {'goal':>6} {'peak MiB':>9} {'ARI':>6}  phases (ms, last repeat)")
    for name in sides:
        wall = statistics.median(seconds[name])
        print(
            f"{name:<12} {wall:>8.1f} {'<60':>6} {statistics.median(peaks[name]) / 2**20:>9.0f} "
            f"{quality[name]:>6.3f}  {timings[name]}"
        )
    print(
        f"ratio sk sampled / knn full: {statistics.median(seconds['sk sampled']) / statistics.median(seconds['knn full']):.2f}"
    )
    print(
        f"same reduced array ({len(rows_q):,} rows): sklearn exact {exact_s:.1f} s ARI "
        f"{adjusted_rand_score(data.truth[rows_q], exact):.3f}; knn {knn_s:.1f} s ARI "
        f"{adjusted_rand_score(data.truth[rows_q], knn):.3f}; knn vs exact ARI {adjusted_rand_score(exact, knn):.3f}"
    )


def _child(claim: object, settings: object, out: object) -> None:
    from bench_engine import _child as engine_child

    engine_child(claim, settings, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--components", type=int, nargs="+", default=[16])
    parser.add_argument("--naive-n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--skip-sklearn-pca", action="store_true", help="leave out pca/sk (minutes at 100k on a busy machine)"
    )
    parser.add_argument("--runner", action="store_true", help="PCA(50) + HDBSCAN through the real runner, DB → DB")
    parser.add_argument("--runner-components", type=int, default=50)
    parser.add_argument("--quality-n", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.runner:
        runner_table(args)
        return

    X, y = make_blobs(n_samples=args.n, n_features=args.dims, centers=10, cluster_std=1.0, random_state=0)
    X = X.astype(np.float32)
    rows = np.random.default_rng(0).choice(args.n, size=min(args.naive_n, args.n), replace=False)
    X_small, y_small = X[rows], y[rows]
    package = importlib.util.find_spec("hdbscan") is not None

    sides: dict[str, tuple[Callable[[], np.ndarray], np.ndarray, dict[str, object], int]] = {
        "naive": (naive_side(X_small), y_small, {}, len(X_small))
    }
    for components in args.components:
        params: dict[str, object] = {"min_cluster_size": MIN_CLUSTER_SIZE, "pca_components": components}
        if not args.skip_sklearn_pca:
            sides[f"pca{components}/sk"] = (pipeline_side(X, params), y, params, args.n)
        if package:
            fast = {**params, "implementation": "hdbscan"}
            sides[f"pca{components}/pkg"] = (pipeline_side(X, fast), y, fast, args.n)

    seconds: dict[str, list[float]] = {name: [] for name in sides}
    ari: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved: every side once per repeat
        for name, (run, truth, _params, _n) in sides.items():
            start = time.perf_counter()
            labels = run()
            seconds[name].append(time.perf_counter() - start)
            ari[name] = adjusted_rand_score(truth, labels)

    print(
        f"HDBSCAN, blobs {args.n:,} × {args.dims} (10 centres), min_cluster_size {MIN_CLUSTER_SIZE}, "
        f"median of {args.repeat}; hdbscan package {'installed' if package else 'NOT installed'}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end"
    )
    at_label = f"at {args.n:,} s"
    print(f"{'side':<12} {'docs':>8} {'wall s':>9} {at_label:>14} {'estimate s':>11} {'refused':>8} {'ARI':>6}")
    for name, (_run, _truth, params, n) in sides.items():
        wall = statistics.median(seconds[name])
        at_full = wall * (args.n / n) ** 2 if n < args.n else wall
        mark = " (extrapolated n²)" if n < args.n else ""
        estimate = estimate_run(
            "hdbscan", validate_algorithm_params("hdbscan", params), documents=args.n, dimensions=args.dims
        )
        print(
            f"{name:<12} {n:>8,} {wall:>9.1f} {at_full:>14.1f} {estimate.estimated_seconds:>11.1f} "
            f"{str(estimate.refused):>8} {ari[name]:>6.3f}{mark}"
        )
    naive = statistics.median(seconds["naive"]) * (args.n / sides["naive"][3]) ** 2
    for name in sides:
        if name != "naive":
            print(f"speed-up of {name} over naive at {args.n:,}: {naive / statistics.median(seconds[name]):.0f}×")


if __name__ == "__main__":
    main()
