"""Time of bootstrap stability (5 resamples of kmeans) at 20k × 384, serial vs ``ProcessMap``.

Both sides score the same clusters with the same seeded subsamples (the results are checked equal),
within the same thread budget: ``serial`` runs every resample in this process with ``--threads``
BLAS/OpenMP threads, ``processes`` hands them to ``runner.parallel.ProcessMap(--threads)``, which
splits the budget across forked processes (2 threads: 2 processes of 1 thread). Sides are
interleaved, each repeated ``--repeat`` times; the medians and their ratio are printed.

Usage::

    python benchmarks/bench_stability.py                       # 20k × 384, k=10, 5 resamples, 2 threads
    python benchmarks/bench_stability.py --rows 50000 --threads 4 --repeat 5

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from clusterbook.engine import SerialMap, StabilityConfig, TaskMap
from clusterbook.engine.algorithms import Clusterer
from clusterbook.engine.params import validate_algorithm_params
from clusterbook.engine.stability import StabilityResult, bootstrap_stability
from clusterbook.runner.parallel import ProcessMap


def data(rows: int, dims: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, size=(k, dims)).astype(np.float32)
    X = centres[rng.integers(0, k, size=rows)] + rng.normal(0, 0.35, size=(rows, dims)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


def timed(
    X: np.ndarray, labels: np.ndarray, params: dict, config: StabilityConfig, tasks: TaskMap
) -> tuple[float, StabilityResult]:
    start = time.perf_counter()
    found = bootstrap_stability(
        X, labels, algorithm="kmeans", params=params, random_state=0, config=config, tasks=tasks
    )
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--resamples", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.8)
    parser.add_argument("--threads", type=int, default=2, help="the run's thread budget, the same for both sides")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    X = data(args.rows, args.dims, args.k)
    params = validate_algorithm_params("kmeans", {"n_clusters": args.k})
    config = StabilityConfig(args.resamples, args.fraction)
    with threadpool_limits(limits=args.threads):
        fit_start = time.perf_counter()
        labels = Clusterer("kmeans", params, 0).fit(X).labels_
        fit_s = time.perf_counter() - fit_start
        sides: dict[str, TaskMap] = {"serial": SerialMap(), "processes": ProcessMap(args.threads)}
        times: dict[str, list[float]] = {name: [] for name in sides}
        results: dict[str, StabilityResult] = {}
        for _ in range(args.repeat):
            for name, tasks in sides.items():  # interleaved: both sides see the same machine load
                seconds, results[name] = timed(X, labels, params, config, tasks)
                times[name].append(seconds)
    assert results["serial"].per_cluster == results["processes"].per_cluster, "both sides must agree"
    plan = ProcessMap(args.threads).plan(args.resamples)
    print(
        f"{args.rows:,} × {args.dims}, kmeans k={args.k}, {args.resamples} resamples of {args.fraction:g}, "
        f"budget {args.threads} threads (processes: {plan[0]} × {plan[1]} threads); one fit {fit_s:.2f} s; "
        f"stability {results['serial'].mean:.3f}"
    )
    serial, parallel = statistics.median(times["serial"]), statistics.median(times["processes"])
    for name, values in times.items():
        print(f"  {name:<10} median {statistics.median(values):7.2f} s   runs: {', '.join(f'{v:.2f}' for v in values)}")
    print(f"  serial / processes = {serial / parallel:.2f}×")


if __name__ == "__main__":
    main()
