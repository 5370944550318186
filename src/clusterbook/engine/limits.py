"""Every algorithm's size limit and cost model, declared once: what a run may fit, and what it will cost.

Why: HDBSCAN at 100k × 384 ran past 300 s with nothing refusing or warning. Each algorithm of the
catalogue (``params.ALGORITHMS``) now declares the largest fit it accepts — documents fitted (after
``sample_size``) and documents × dimensions fitted (after ``pca_components``) — and a rough cost model
(seconds and memory). The runner checks a run against the limit at submit (422 ``run_too_large``,
nothing queued) and the engine checks again before fitting, so a run submitted elsewhere is refused too.
The refusal names the opt-in that brings the run within the limit.

The limits are fixed numbers, so whether a run is accepted never depends on the machine's load; the
cost model is an order-of-magnitude estimate calibrated on the 2-core development machine
(``benchmarks/bench_hdbscan.py`` prints measured figures beside it). ``factor``
(``CLUSTERBOOK_SIZE_LIMIT_FACTOR``) scales every limit for larger machines or more patient users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from clusterbook.engine.preprocessing import UMAP_FIT_ROWS
from clusterbook.engine.reduction import REDUCIBLE
from clusterbook.errors import RunTooLarge

EMBEDDED_DIMS = {"tfidf-svd": 128, "minilm": 384}
"""Dimensions of the vectors an embedder computes from text (tfidf-svd: at most 128)."""
_VECTOR_BYTES = 4  # float32
_OVERHEAD_SECONDS_PER_CELL = 1.2e-7  # loading, normalising, metrics, projection, writing members: linear in N·d
_BASE_SECONDS = 0.5
# UMAP (preprocessing step): numba compiles its kernels once per process; the fit's cost per row fitted
# and the transform's per row placed, measured roughly on one core (n_neighbors 15, 384 dimensions).
_UMAP_COMPILE_SECONDS = 15.0
_UMAP_FIT_SECONDS_PER_ROW = 2.5e-3
_UMAP_TRANSFORM_SECONDS_PER_ROW = 1e-3


@dataclass(frozen=True)
class AlgorithmCost:
    """One algorithm's declared limit and cost model.

    ``max_documents``: documents fitted (``sample_size`` lowers it); ``max_cells``: documents × dimensions
    fitted (``pca_components`` lowers the dimensions). Fit time ≈ ``seconds_per_unit`` · n^``n_power`` · d;
    extra memory ≈ ``bytes_per_pair`` · n² + ``bytes_per_document`` · n beside the vectors themselves.
    """

    max_documents: int
    max_cells: int
    n_power: float
    seconds_per_unit: float
    why: str
    bytes_per_pair: float = 0.0
    bytes_per_document: float = 0.0


COSTS: dict[str, AlgorithmCost] = {
    "kmeans": AlgorithmCost(
        5_000_000, 1_000_000_000, 1.0, 2e-8, "linear; the run's float32 vectors take 4 GB at the cell limit"
    ),
    "minibatch_kmeans": AlgorithmCost(5_000_000, 1_000_000_000, 1.0, 1e-8, "linear; 4 GB of vectors at the cell limit"),
    "gaussian_mixture": AlgorithmCost(2_000_000, 500_000_000, 1.0, 1e-7, "linear, but an EM pass per iteration"),
    "dbscan": AlgorithmCost(
        100_000,
        10_000_000,
        2.0,
        2e-10,
        "neighbourhood queries turn brute force beyond a few dozen dimensions",
        bytes_per_document=800,
    ),
    "hdbscan": AlgorithmCost(
        200_000,
        2_000_000,
        2.0,
        1e-9,
        "core distances and the spanning tree turn quadratic in high dimensions",
        bytes_per_document=400,
    ),
    "agglomerative": AlgorithmCost(
        10_000,
        10_000 * 4_096,
        2.0,
        5e-10,
        "scipy's linkage keeps N²/2 float64 distances (400 MB at 10k)",
        bytes_per_pair=4.0,
    ),
    "spectral": AlgorithmCost(
        5_000,
        5_000 * 4_096,
        2.0,
        2e-9,
        "a dense N × N affinity (200 MB at 5k) and an eigendecomposition",
        bytes_per_pair=8.0,
    ),
    "optics": AlgorithmCost(
        10_000,
        10_000 * 4_096,
        2.0,
        2e-9,
        "N neighbourhood queries that degrade to brute force in 100+ dimensions",
        bytes_per_document=800,
    ),
    "mean_shift": AlgorithmCost(
        5_000, 5_000 * 4_096, 2.0, 2e-9, "every point seeds a mean-shift walk over radius queries"
    ),
    "attribute_based": AlgorithmCost(5_000_000, 1_000_000_000, 1.0, 1e-8, "groups metadata; linear"),
}
ACCELERATED: dict[tuple[str, str], AlgorithmCost] = {
    # (algorithm, implementation) → the cost when an optional accelerator does the fit.
    # Calibrated on blobs after PCA-16 (benchmarks/bench_hdbscan.py): the fit grows as n^1.65 (median
    # fit times at 4k, 8k and 16k, interleaved, loaded machine: the ratios, not the seconds), scaled
    # so that 100k × 384 → 16 comes to the 59.4 s measured end to end on a quiet moment (was: n^1.3,
    # 16.5 s estimated for it).
    ("hdbscan", "hdbscan"): AlgorithmCost(
        500_000,
        4_000_000,
        1.65,
        1.9e-8,
        "the hdbscan package's Borůvka KD-tree, between N log N and N² in 16+ dimensions",
        bytes_per_document=400,
    ),
    # engine/knn_hdbscan.py: a kNN search (faiss's inverted file beyond 20k rows) and a sparse spanning tree,
    # near-linear. Calibrated on blobs after PCA-50 (benchmarks/bench_hdbscan.py): 100k × 50 fitted in 35 s
    # at load average 10 on the 2 cores, ~4× its quiet time; 3e-6 · n · d puts 100k × 50 at 15 s.
    # Its cell limit (400k × 50, estimated ~60 s) keeps raw 384-dimensional fits out: the search grows with d.
    ("hdbscan", "knn"): AlgorithmCost(
        1_000_000,
        20_000_000,
        1.0,
        3e-6,
        "a nearest-neighbour search per document and a spanning tree of the neighbour graph",
        bytes_per_document=1_200,
    ),
}
SAMPLE_ALTERNATIVES = "minibatch_kmeans, or hdbscan with pca_components and implementation 'knn'"


@dataclass(frozen=True)
class RunEstimate:
    """What a run would fit and cost, and whether its algorithm's limit refuses it (``reason`` says why
    and names the opt-in)."""

    algorithm: str
    documents: int
    dimensions: int
    fit_documents: int
    fit_dimensions: int
    max_documents: int
    max_cells: int
    estimated_seconds: float
    estimated_memory_bytes: int
    refused: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cost_of(algorithm: str, params: dict[str, Any]) -> AlgorithmCost:
    """The declared cost of ``algorithm`` with ``params`` (an accelerated implementation has its own)."""
    implementation = params.get("implementation")
    if isinstance(implementation, str) and (algorithm, implementation) in ACCELERATED:
        return ACCELERATED[(algorithm, implementation)]
    return COSTS[algorithm]


def estimate_run(
    algorithm: str,
    params: dict[str, Any],
    *,
    documents: int,
    dimensions: int,
    sample_size: int | None = None,
    factor: float = 1.0,
    preprocessing: Sequence[Mapping[str, Any]] = (),
) -> RunEstimate:
    """The estimate for fitting ``documents`` × ``dimensions`` with validated ``params`` after the validated
    ``preprocessing`` steps (the last reducing step sets the dimensions fitted); limits × ``factor``."""
    cost = cost_of(algorithm, params)
    fit_n = min(documents, sample_size) if sample_size else documents
    components = params.get("pca_components")
    fit_d = min(dimensions, int(components)) if isinstance(components, int) else dimensions
    step_seconds = 0.0
    for step in preprocessing:
        if step.get("step") in ("pca", "umap"):
            before, fit_d = fit_d, min(fit_d, int(step["n_components"]))
            if step["step"] == "pca":
                step_seconds += 2e-9 * fit_n * before * fit_d
            else:  # fitted on at most UMAP_FIT_ROWS rows, the others placed by transform; plus numba's compile
                fitted = min(fit_n, UMAP_FIT_ROWS)
                step_seconds += _UMAP_COMPILE_SECONDS + _UMAP_FIT_SECONDS_PER_ROW * fitted
                step_seconds += _UMAP_TRANSFORM_SECONDS_PER_ROW * (fit_n - fitted)
    max_documents = max(2, int(cost.max_documents * factor))
    max_cells = max(2, int(cost.max_cells * factor))
    seconds = _BASE_SECONDS + _OVERHEAD_SECONDS_PER_CELL * documents * max(dimensions, 1)
    seconds += cost.seconds_per_unit * fit_n**cost.n_power * max(fit_d, 1)
    if fit_d < dimensions and not preprocessing:  # pca_components: fitted on a sample, applied to every row
        seconds += 2e-9 * documents * dimensions * fit_d
    seconds += step_seconds
    memory = 1.5 * documents * dimensions * _VECTOR_BYTES + fit_n * fit_d * _VECTOR_BYTES * (fit_d < dimensions)
    memory += cost.bytes_per_pair * fit_n**2 + cost.bytes_per_document * fit_n
    reduced_by_step = any(step.get("step") in ("pca", "umap") for step in preprocessing)
    reason = _refusal(
        algorithm, params, cost, documents, fit_n, dimensions, fit_d, max_documents, max_cells, sample_size,
        reduced_by_step,
    )  # fmt: skip
    return RunEstimate(
        algorithm=algorithm,
        documents=documents,
        dimensions=dimensions,
        fit_documents=fit_n,
        fit_dimensions=fit_d,
        max_documents=max_documents,
        max_cells=max_cells,
        estimated_seconds=round(seconds, 1),
        estimated_memory_bytes=int(memory),
        refused=reason is not None,
        reason=reason,
    )


def check_run_size(estimate: RunEstimate) -> None:
    """RunTooLarge (422 ``run_too_large``, the estimate in ``extra``) when the estimate is refused."""
    if estimate.refused:
        assert estimate.reason is not None
        raise RunTooLarge(estimate.reason, extra={"estimate": estimate.to_dict()})


def _refusal(
    algorithm: str,
    params: dict[str, Any],
    cost: AlgorithmCost,
    n: int,
    fit_n: int,
    d: int,
    fit_d: int,
    max_documents: int,
    max_cells: int,
    sample_size: int | None,
    reduced_by_step: bool = False,
) -> str | None:
    opt_in = "set sample_size to fit on a seeded sample and assign the other documents to the nearest cluster centre"
    if fit_n > max_documents:
        what = f"sample_size={sample_size:,} fits" if sample_size and sample_size < n else "this run has"
        return (
            f"{algorithm} is limited to {max_documents:,} documents per fit ({cost.why}); {what} {fit_n:,}. "
            f"To run it, {opt_in} (sample_size at most {max_documents:,}), or use {SAMPLE_ALTERNATIVES}."
        )
    if fit_n * fit_d <= max_cells:
        return None
    head = (
        f"{algorithm} is limited to {max_cells:,} documents × dimensions per fit ({cost.why}); this run fits "
        f"{fit_n:,} × {fit_d:,} = {fit_n * fit_d:,}."
    )
    ways = []
    components = max_cells // max(fit_n, 1)
    if reduced_by_step and components >= 2:
        ways.append(
            f"lower the n_components of the last reducing preprocessing step to at most {components:,} "
            f"(e.g. {min(components, 16)})"
        )
    elif algorithm in REDUCIBLE and components >= 2:
        ways.append(
            f"set algorithm_params.pca_components (at most {min(components, d - 1):,}, e.g. "
            f"{min(components, 16)}) to cluster after a seeded PCA"
        )
    if algorithm == "hdbscan" and params.get("implementation") != "knn":
        knn = ACCELERATED[("hdbscan", "knn")]
        if fit_n <= knn.max_documents and fit_n * fit_d <= knn.max_cells:
            ways.insert(0, "set algorithm_params.implementation to 'knn' (HDBSCAN over the nearest-neighbour graph)")
    rows = max_cells // max(fit_d, 1)
    if rows >= 2:
        ways.append(f"{opt_in} (sample_size at most {rows:,})")
    if not ways:
        ways.append(f"use {SAMPLE_ALTERNATIVES}")
    return f"{head} To run it, {', or '.join(ways)}."
