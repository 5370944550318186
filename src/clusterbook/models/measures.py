"""The one declaration of a run's measures: every number that says how a run went.

Everything else is derived from ``MEASURES``: the storage columns (``store/tables.py``), the field
allow-list (``store/fields.py``), the row mapping and the completion writes, the wire model of
``metrics``, the SDK's ``F.metric`` names, the CLI columns and — over ``GET /v1/meta/measures`` —
the dashboard's metric cards and compare rows. Adding a measure is one entry here plus one Alembic
migration that adds its column; ``tests/api/test_measures_walk.py`` checks nothing else is missing.

Plain data on purpose: ``models/`` (wire), ``store/``, ``client/`` and ``cli/`` all import it, and the
client must stay importable without server dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MeasureKind = Literal["number", "integer"]
Direction = Literal["higher", "lower"]


Producer = Literal["clustering", "baseline", "stability", "store"]


@dataclass(frozen=True)
class Measure:
    """One measure of a run.

    ``field`` is its name in filters and sorts; ``path`` where it sits in a run's JSON (``metrics.<name>``
    for quality metrics, a top-level attribute for run-level measures); ``column`` its storage column.
    ``direction`` says which way is better, ``None`` when neither is (a duration, a count of noise).
    """

    name: str
    kind: MeasureKind
    direction: Direction | None
    label: str
    meaning: str
    in_metrics: bool = True
    """True: the value lives in ``metrics.<name>``; False: it is a top-level attribute of the run."""
    field_name: str | None = None
    """The filter/sort field when it is not the wire path (``duration`` for ``duration_ms``)."""
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    digits: int = 2
    """Decimals worth showing at a glance (the dashboard; the CLI shows one or two more)."""
    computed_by: Producer = "clustering"
    """Which step produces the value: the clustering itself, the comparison with the run's baseline,
    the stability resamples, or the store (from the run's timestamps)."""

    @property
    def path(self) -> str:
        """Where the value sits in a run's JSON: ``metrics.silhouette_score`` or ``duration_ms``."""
        return f"metrics.{self.name}" if self.in_metrics else self.name

    @property
    def field(self) -> str:
        """The name filters and sorts use."""
        return self.field_name or self.path

    @property
    def column(self) -> str:
        """The storage column of ``executions``."""
        return self.name

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other accepted filter/sort names: the bare metric name, the wire attribute."""
        return tuple(name for name in dict.fromkeys((self.name, self.path)) if name != self.field)


MEASURES: tuple[Measure, ...] = (
    Measure(
        "silhouette_score",
        "number",
        "higher",
        "Silhouette",
        "How much closer documents are to their own cluster than to the next one; above 0.5 the clusters "
        "are well apart, below 0.25 there is little structure.",
        minimum=-1.0,
        maximum=1.0,
    ),
    Measure(
        "davies_bouldin_index",
        "number",
        "lower",
        "Davies–Bouldin",
        "Average similarity of each cluster to its most similar other cluster; below 1 the clusters are "
        "compact and apart.",
        minimum=0.0,
    ),
    Measure(
        "calinski_harabasz_score",
        "number",
        "higher",
        "Calinski–Harabasz",
        "Between-cluster over within-cluster dispersion; no absolute scale, so compare runs over the same documents.",
        minimum=0.0,
        digits=1,
    ),
    Measure(
        "noise_points",
        "integer",
        None,
        "Noise points",
        "Documents a density-based algorithm left out of every cluster.",
        minimum=0,
        digits=0,
    ),
    Measure(
        "unassigned_ratio",
        "number",
        "lower",
        "Unassigned",
        "Assign runs only: share of the documents placed against the source run's centres whose cosine "
        "similarity to the nearest centre fell below the assignment threshold, so they were left unassigned.",
        minimum=0.0,
        maximum=1.0,
    ),
    Measure(
        "noise_ratio",
        "number",
        None,
        "Noise share",
        "Share of the documents left out of every cluster (noise); a density run above 0.5 says little "
        "about most documents.",
        minimum=0.0,
        maximum=1.0,
    ),
    Measure(
        "cluster_size_entropy",
        "number",
        None,
        "Size evenness",
        "Entropy of the cluster sizes over its maximum (log k): 1 when every cluster has the same size, "
        "near 0 when one cluster holds almost everything; null below 2 clusters.",
        minimum=0.0,
        maximum=1.0,
    ),
    Measure(
        "largest_cluster_share",
        "number",
        "lower",
        "Largest cluster",
        "Share of all documents in the largest cluster; above 0.9 the run is degenerate.",
        minimum=0.0,
        maximum=1.0,
    ),
    Measure(
        "degenerate",
        "integer",
        "lower",
        "Degenerate",
        "1 when the clustering is unusable — one cluster holds more than 90% of the documents, every "
        "document is noise, or every cluster is a single document (the reason is in metrics.notes); else 0.",
        minimum=0,
        maximum=1,
        digits=0,
    ),
    Measure(
        "reassigned_points",
        "integer",
        None,
        "Reassigned noise",
        "Noise points reassign_noise gave to the nearest cluster within its distance bound; null when "
        "the run did not ask for it.",
        minimum=0,
        digits=0,
    ),
    Measure(
        "agreement_ari",
        "number",
        "higher",
        "Agreement (ARI)",
        "Adjusted Rand index between this run and its baseline run over the documents both clustered "
        "(noise as its own label): 1 is the same partition, 0 what chance gives.",
        minimum=-1.0,
        maximum=1.0,
        computed_by="baseline",
    ),
    Measure(
        "agreement_ami",
        "number",
        "higher",
        "Agreement (AMI)",
        "Adjusted mutual information between this run and its baseline over the shared documents: "
        "1 is the same partition, 0 what chance gives; less sensitive to cluster sizes than ARI.",
        minimum=-1.0,
        maximum=1.0,
        computed_by="baseline",
    ),
    Measure(
        "matched_fraction",
        "number",
        "higher",
        "Stayed",
        "Share of the documents shared with the baseline that stay in the cluster matched to their "
        "baseline cluster (one-to-one matching by overlap).",
        minimum=0.0,
        maximum=1.0,
        computed_by="baseline",
    ),
    Measure(
        "moved_documents",
        "integer",
        "lower",
        "Moved",
        "Shared documents that left the cluster matched to their baseline cluster.",
        minimum=0,
        digits=0,
        computed_by="baseline",
    ),
    Measure(
        "stability",
        "number",
        "higher",
        "Stability",
        "Mean over clusters of the best Jaccard overlap with the clusters of re-clustered subsamples "
        "(bootstrap stability); above 0.85 a cluster is stable, below 0.6 it is not to be trusted.",
        minimum=0.0,
        maximum=1.0,
        computed_by="stability",
    ),
    Measure(
        "duration_ms",
        "number",
        None,
        "Execution time",
        "Time the run spent executing, from a worker taking it to its end (queue time not included); "
        "null for a run canceled before it started.",
        in_metrics=False,
        field_name="duration",
        minimum=0.0,
        unit="ms",
        digits=0,
        computed_by="store",
    ),
    Measure(
        "queue_ms",
        "number",
        None,
        "Queue time",
        "Time the run waited in the queue, from submission to a worker taking it; null until it starts.",
        in_metrics=False,
        minimum=0.0,
        unit="ms",
        digits=0,
        computed_by="store",
    ),
)
"""Every declared measure, in display order."""

MEASURES_BY_NAME: dict[str, Measure] = {m.name: m for m in MEASURES}
METRIC_MEASURES: tuple[Measure, ...] = tuple(m for m in MEASURES if m.in_metrics)
"""The measures inside a run's ``metrics`` object (what ``F.metric`` names)."""
BASELINE_MEASURES: tuple[str, ...] = tuple(m.name for m in MEASURES if m.computed_by == "baseline")
"""The measures that relate a run to its baseline (null with a note when it has none)."""
RUN_MEASURES: tuple[Measure, ...] = tuple(m for m in MEASURES if not m.in_metrics)
"""The run-level measures (top-level attributes of a run, computed by the store from its timestamps)."""


def metric_measure(name: str) -> Measure:
    """The declared metric called ``name`` (``metrics.`` prefix allowed); ValueError naming the accepted set."""
    bare = name.removeprefix("metrics.")
    for measure in METRIC_MEASURES:
        if measure.name == bare:
            return measure
    accepted = ", ".join(m.name for m in METRIC_MEASURES)
    raise ValueError(f"unknown metric {name!r}; the declared metrics are: {accepted}")
