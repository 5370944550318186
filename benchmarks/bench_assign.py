"""Assign mode's assignment step at 1M documents: nearest of k centres by cosine similarity.

Generates ``--documents`` float32 vectors of ``--dims`` dimensions around ``--k`` centres and times,
each a median of ``--repeat`` runs:

    numpy   — ``NearestCentre(backend="numpy")``: chunked float32 matrix products (the default without faiss)
    faiss   — ``NearestCentre(backend="faiss")``: an exact ``IndexFlatIP`` (clusterbook[assign])
    whole   — ``assign_documents``: the assignment plus distances, metrics over the assigned documents
              (sampled silhouette) and the 2-D projection, i.e. the engine's part of an assign run
    refit   — for scale: one scikit-learn ``MiniBatchKMeans`` fit of the same k on the same data,
              what re-clustering instead of assigning would cost at the least (``--no-refit`` skips it)

with the BLAS/OpenMP threads limited to ``--threads`` (a run's thread budget; default 1), and prints
seconds, documents per second and the ratios. Figures are printed, never asserted.

Usage::

    python benchmarks/bench_assign.py                       # 1M × 384 against k=50, 1 thread
    python benchmarks/bench_assign.py --documents 200000 --dims 128 --threads 2 --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from clusterbook.engine.assign import NearestCentre, assign_documents, faiss_available


def _data(n: int, d: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        rows = min(step, n - start)
        X[start : start + rows] = centres[rng.integers(0, k, rows)] + rng.normal(0, 0.8, (rows, d)).astype(np.float32)
    return X, centres


def _median_seconds(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-refit", action="store_true")
    args = parser.parse_args()

    X, centres = _data(args.documents, args.dims, args.k)
    ids = [f"d{i}" for i in range(args.documents)]
    print(
        f"{args.documents:,} documents × {args.dims} dims against k={args.k} centres, "
        f"{args.threads} thread(s), median of {args.repeat}"
    )
    figures: dict[str, float] = {}
    with threadpool_limits(limits=args.threads):
        numpy_labels = NearestCentre(0.5, "numpy").fit(centres).predict(X)
        figures["numpy"] = _median_seconds(args.repeat, lambda: NearestCentre(0.5, "numpy").fit(centres).predict(X))
        if faiss_available():
            import faiss

            faiss.omp_set_num_threads(args.threads)
            faiss_labels = NearestCentre(0.5, "faiss").fit(centres).predict(X)
            print(f"faiss and numpy agree on {np.mean(faiss_labels == numpy_labels):.4%} of the documents")
            figures["faiss"] = _median_seconds(args.repeat, lambda: NearestCentre(0.5, "faiss").fit(centres).predict(X))
        else:
            print("faiss is not installed (pip install 'clusterbook[assign]'): numpy only")
        figures["whole"] = _median_seconds(1, lambda: assign_documents(X, centres, np.ones(args.k), ids, threshold=0.5))
        if not args.no_refit:
            from sklearn.cluster import MiniBatchKMeans

            figures["refit"] = _median_seconds(
                1, lambda: MiniBatchKMeans(args.k, n_init=1, random_state=0, batch_size=4096).fit(X)
            )
    base = figures["numpy"]
    for name, seconds in figures.items():
        rate = args.documents / seconds
        print(f"  {name:<6} {seconds:8.2f} s  {rate:>12,.0f} docs/s  {seconds / base:6.2f}× numpy")


if __name__ == "__main__":
    main()
