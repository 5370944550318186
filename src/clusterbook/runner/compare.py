"""Server-side compare: two to four completed runs related to the first one.

Everything per document is computed in the database: each pair's contingency table is a GROUP BY
over the memberships (``store/relation.py``, k × k' cells), its scores and matching come from that
table (``engine/agreement.py``), and the sample of moved documents is a LIMITed query. Python holds
the tables, the runs' configs and their measures, never one row per document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy.orm import Session

from clusterbook.engine.agreement import (
    Agreement,
    Contingency,
    agreement,
    cluster_order,  # cl_2 before cl_10, noise last
)
from clusterbook.errors import ErrorLocation, ValidationFailed
from clusterbook.models.compare import (
    MAX_FLOWS,
    MOVED_SAMPLE_SIZE,
    ClusterFlow,
    ClusterMatch,
    CompareExecutionsResponse,
    ConfigDifference,
    MeasureComparison,
    MovedDocument,
    RunPair,
)
from clusterbook.models.executions import ClusterExecutionResult, ExecutionStatus
from clusterbook.models.measures import MEASURES, Measure
from clusterbook.runner.relation import run_contingency
from clusterbook.store.executions import read_execution_by_id
from clusterbook.store.relation import moved_documents_sample


def compare_runs(session: Session, *, namespace_id: str, run_ids: Sequence[str]) -> CompareExecutionsResponse:
    """The compare of ``run_ids`` (already 2-4 distinct ids); ValidationFailed naming every unknown or
    unfinished run."""
    runs = read_comparable_runs(session, namespace_id=namespace_id, run_ids=run_ids)
    reference = runs[0]
    return CompareExecutionsResponse(
        runs=runs,
        config_diff=config_diff([run.config or {} for run in runs]),
        metrics=[measure_comparison(measure, runs) for measure in MEASURES],
        pairs=[relate_pair(session, reference, other) for other in runs[1:]],
    )


def read_comparable_runs(
    session: Session, *, namespace_id: str, run_ids: Sequence[str]
) -> list[ClusterExecutionResult]:
    runs: list[ClusterExecutionResult] = []
    problems: list[ErrorLocation] = []
    for i, run_id in enumerate(run_ids):
        run = read_execution_by_id(session, namespace_id=namespace_id, run_id=run_id)
        if run is None:
            problems.append(ErrorLocation(f"run_ids[{i}]", f"run {run_id!r} not found in this namespace", "not_found"))
        elif run.status != ExecutionStatus.COMPLETED:
            problems.append(
                ErrorLocation(
                    f"run_ids[{i}]",
                    f"run {run_id!r} is {run.status}; only completed runs can be compared",
                    "not_completed",
                )
            )
        else:
            runs.append(run)
    if problems:
        raise ValidationFailed(
            "; ".join(f"{p.loc}: {p.message}" for p in problems)
            + " (list the cluster's completed runs with POST …/executions/list)",
            errors=problems,
        )
    return runs


# ----------------------------------------------------------------------------- config diff


def flatten(config: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` for every leaf of a config; lists and empty objects are leaves."""
    for key, value in config.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{path}.")
        else:
            yield path, value


def _same(values: list[Any]) -> bool:
    """Equal as JSON: 1 and 1.0 or true and 1 are different settings."""
    texts = {json.dumps(v, sort_keys=True) for v in values}
    return len(texts) == 1


def config_diff(configs: Sequence[dict[str, Any]]) -> list[ConfigDifference]:
    """Every key (sorted) whose value is not the same in all configs; absent counts as null."""
    flat = [dict(flatten(config)) for config in configs]
    keys = sorted({key for f in flat for key in f})
    differences = []
    for key in keys:
        values = [f.get(key) for f in flat]
        if not _same(values):
            differences.append(ConfigDifference(key=key, values=values))
    return differences


# ----------------------------------------------------------------------------- measures


def measure_comparison(measure: Measure, runs: Sequence[ClusterExecutionResult]) -> MeasureComparison:
    values = [run.measure_value(measure) for run in runs]
    best: str | None = None
    if measure.direction is not None:
        best_value: float | None = None
        for run, value in zip(runs, values, strict=True):
            if value is None:
                continue
            better = best_value is None or (value > best_value if measure.direction == "higher" else value < best_value)
            if better:
                best, best_value = run.run_id, value
    return MeasureComparison(
        name=measure.name, label=measure.label, direction=measure.direction, values=values, best_run_id=best
    )


# ----------------------------------------------------------------------------- pairs


def _labels(run: ClusterExecutionResult) -> dict[str, str | None]:
    return {c.cluster_id: c.label for c in run.centroids or ()}


def flows_of(table: Contingency) -> list[ClusterFlow]:
    """The largest cells of the table, at most MAX_FLOWS; equal counts in cluster order."""
    cells = [
        (int(table.counts[i, j]), i, j)
        for i in range(len(table.rows))
        for j in range(len(table.cols))
        if table.counts[i, j] > 0
    ]
    cells.sort(key=lambda cell: (-cell[0], cell[1], cell[2]))
    return [
        ClusterFlow(reference_cluster_id=table.rows[i], other_cluster_id=table.cols[j], documents=n)
        for n, i, j in cells[:MAX_FLOWS]
    ]


def relate_pair(session: Session, reference: ClusterExecutionResult, other: ClusterExecutionResult) -> RunPair:
    table = run_contingency(session, reference_run_id=reference.run_id, other_run_id=other.run_id)
    scored: Agreement = agreement(table)
    reference_labels, other_labels = _labels(reference), _labels(other)
    matched = {m.reference: m.other for m in scored.matches if m.other is not None}
    moved = []
    if scored.moved_documents:
        moved = moved_documents_sample(
            session,
            reference_run_id=reference.run_id,
            other_run_id=other.run_id,
            matched=matched,
            limit=MOVED_SAMPLE_SIZE,
        )
    matched_others = set(matched.values())
    other_clusters = {c for c in table.cols if c is not None} | set(other_labels)
    return RunPair(
        reference_run_id=reference.run_id,
        other_run_id=other.run_id,
        shared_documents=scored.shared_documents,
        ari=scored.ari,
        ami=scored.ami,
        matched_fraction=scored.matched_fraction,
        moved_documents=scored.moved_documents,
        note=scored.note,
        matches=[
            ClusterMatch(
                reference_cluster_id=m.reference,
                other_cluster_id=m.other,
                overlap=m.overlap,
                jaccard=m.jaccard,
                reference_label=reference_labels.get(m.reference),
                other_label=other_labels.get(m.other) if m.other is not None else None,
            )
            for m in scored.matches
        ],
        unmatched_other_cluster_ids=sorted(other_clusters - matched_others, key=cluster_order),
        flows=flows_of(table),
        flow_count=int((table.counts > 0).sum()),
        moved_sample=[MovedDocument(document_id=d, reference_cluster_id=r, other_cluster_id=c) for d, r, c in moved],
    )
