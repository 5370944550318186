"""Reduce before clustering (issue 16): PCA(50) + HDBSCAN at 100k × 384, end to end through the engine.

Data: ``make_blobs`` (``--centres`` centres in 384 dimensions, cluster_std 1.0), float32 — the shape of
sentence embeddings of well-separated topics. Each side is ``clusterbook.engine.run_pipeline`` with
``preprocessing: [{"step": "pca", "n_components": 50}]`` and HDBSCAN: normalise, seeded PCA (fitted on
20,000 rows, applied to all), the fit in 50 dimensions, then centroids, distances, diagnostics and metrics in
the original 384 dimensions, keyword labels and the 2-D projection — everything a run does but load and write.

    sklearn    scikit-learn's HDBSCAN (always available)
    package    implementation 'hdbscan' (the optional hdbscan package's Borůvka KD-tree), when installed

A full fit of 100k × 50 is beyond both implementations' declared size limits (HDBSCAN's trees stop pruning
in 50 dimensions: the package fits 20k × 50 in ~20 s and grows near n²), so those rows print the refusal;
the sampled row fits HDBSCAN on a seeded ``--sample-size`` rows and assigns the rest to the nearest cluster
mean, as ``sample_size`` does in a run.

Each row prints wall seconds (median of ``--repeat``), the engine's estimate (``engine/limits.py``), the
phase timings, ARI to the true centres, the noise share and the goal (under 60 s). With ``--umap`` a
UMAP(5) + HDBSCAN row (the 'topics' preset's reduction) is timed too, at ``--umap-n`` documents.

Usage::

    python benchmarks/bench_reduce.py                   # 100k × 384, full fits and the package on a 20k sample
    python benchmarks/bench_reduce.py --n 20000 --repeat 3 --umap --umap-n 20000

Figures are printed, never asserted. Timings on a shared machine are inflated by its other load.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from typing import Any

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import EngineInput, RunConfig, run_pipeline, validate_algorithm_params
from clusterbook.engine.limits import estimate_run
from clusterbook.engine.preprocessing import validate_preprocessing

GOAL_SECONDS = 60.0


def run_once(
    X: np.ndarray, params: dict[str, Any], steps: list[dict[str, Any]], sample_size: int | None
) -> tuple[float, Any]:
    n = len(X)
    cleaned = validate_algorithm_params("hdbscan", params)
    config = RunConfig(
        "hdbscan",
        cleaned,
        random_state=0,
        sample_size=sample_size,
        preprocessing=tuple(validate_preprocessing(steps, "hdbscan", cleaned)),
    )
    data = EngineInput([f"d{i}" for i in range(n)], [None] * n, [{} for _ in range(n)], X.copy(), config)
    start = time.perf_counter()
    result = run_pipeline(data)
    return time.perf_counter() - start, result


def row(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    steps: list[dict[str, Any]],
    repeat: int,
    sample_size: int | None = None,
) -> None:
    cleaned = validate_algorithm_params("hdbscan", params)
    estimate = estimate_run(
        "hdbscan",
        cleaned,
        documents=len(X),
        dimensions=X.shape[1],
        sample_size=sample_size,
        preprocessing=validate_preprocessing(steps, "hdbscan"),
    )
    if estimate.refused:  # the engine would refuse it too: print why instead of timing it
        print(f"{name:<30} refused by the size limit: {estimate.reason}")
        return
    times, result = [], None
    for _ in range(repeat):
        seconds, result = run_once(X, params, steps, sample_size)
        times.append(seconds)
    assert result is not None
    wall = statistics.median(times)
    ari = adjusted_rand_score(y, result.labels)
    phases = ", ".join(f"{k} {v / 1000:.1f}" for k, v in result.timings_ms.items())
    verdict = "under the goal" if wall < GOAL_SECONDS else "OVER the goal"
    print(
        f"{name:<30} {wall:7.1f} s  (estimate {estimate.estimated_seconds:.0f} s{', refused' if estimate.refused else ''})"
        f"  ARI {ari:.3f}  noise {result.noise_ratio:.1%}  clusters {len(result.centroids)}"
        f"  {verdict} ({wall / GOAL_SECONDS:.0%} of {GOAL_SECONDS:.0f} s)"
    )
    print(f"{'':<30} phases (s): {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=384)
    parser.add_argument("--centres", type=int, default=10)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--sample-size", type=int, default=20_000, help="rows HDBSCAN fits on in the sampled rows (the rest assigned)"
    )
    parser.add_argument("--sklearn-sampled", action="store_true", help="also time scikit-learn's HDBSCAN sampled")
    parser.add_argument("--umap", action="store_true", help="also time UMAP(5) + HDBSCAN at --umap-n documents")
    parser.add_argument("--umap-n", type=int, default=20_000)
    args = parser.parse_args()

    X, y = make_blobs(n_samples=args.n, n_features=args.d, centers=args.centres, cluster_std=1.0, random_state=0)
    X = X.astype(np.float32)
    print(
        f"{args.n:,} × {args.d} float32, {args.centres} centres; PCA to {args.components}, HDBSCAN min_cluster_size 50"
    )
    pca = [{"step": "pca", "n_components": args.components}]
    sklearn, package = {"min_cluster_size": 50}, {"min_cluster_size": 50, "implementation": "hdbscan"}
    sampled = f"sample {args.sample_size // 1000}k"
    row("pca + hdbscan/sklearn", X, y, sklearn, pca, args.repeat)
    if args.sklearn_sampled:
        row(f"pca + hdbscan/sklearn {sampled}", X, y, sklearn, pca, args.repeat, args.sample_size)
    if importlib.util.find_spec("hdbscan") is not None:
        row("pca + hdbscan/package", X, y, package, pca, args.repeat)
        row(f"pca + hdbscan/package {sampled}", X, y, package, pca, args.repeat, args.sample_size)
    else:
        print("pca + hdbscan/package          skipped: pip install 'clusterbook[hdbscan]'")
    if args.umap:
        rows = np.random.default_rng(0).choice(args.n, size=min(args.umap_n, args.n), replace=False)
        umap = [{"step": "umap", "n_components": 5, "n_neighbors": 15, "min_dist": 0.0, "metric": "cosine"}]
        row(f"umap(5) + hdbscan {len(rows) // 1000}k", X[rows], y[rows], {"min_cluster_size": 50}, umap, args.repeat)


if __name__ == "__main__":
    main()
