"""Agreement of a just-completed run with its baseline, written onto the run in its completion.

Called inside the transaction that completes the run (``runner/compute.py``), after the memberships
are written, so the contingency table is counted in the database over both runs' stored members
(``runner/relation.py``) and the result lands only with the completion itself. The baseline is the
reference: each of this run's centroids gets the baseline cluster matched to it, the Jaccard of the
pair and the baseline cluster's label; the run gets ``metrics.agreement_*``, ``matched_fraction``,
``moved_documents`` and ``timings_ms.agreement``, or a note per metric saying why they are null.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from clusterbook.engine.agreement import Agreement, Match
from clusterbook.models.curation import CURATED_FIELDS, INHERIT_JACCARD, effective_centroid
from clusterbook.models.measures import BASELINE_MEASURES
from clusterbook.runner.relation import relate_runs
from clusterbook.store.baselines import (
    baseline_centroids,
    read_completed_run,
    write_agreement,
)

NO_BASELINE = (
    "no baseline: no run of this cluster had completed when this run was submitted, or the execute "
    'request set "baseline_run_id": null'
)


def relate_to_baseline(session: Session, *, run_id: str, token: str) -> bool:
    """Compute and store the run's agreement with its baseline (or the notes why there is none);
    False when the run is not this attempt's completed run (then nothing is written)."""
    started = time.perf_counter()
    run = read_completed_run(session, run_id=run_id, token=token)
    if run is None:
        return False
    details = dict(run.details)
    notes = dict(details.get("metric_notes") or {})
    metrics: dict[str, float | int | None] = dict.fromkeys(BASELINE_MEASURES)
    centroids = run.centroids
    baseline_id = run.baseline_run_id
    reference = None if baseline_id is None else baseline_centroids(session, run_id=baseline_id)
    if baseline_id is None:
        reason: str | None = NO_BASELINE
    elif reference is None:
        reason = f"the baseline run {baseline_id} no longer exists"
    else:
        _, found = relate_runs(session, reference_run_id=baseline_id, other_run_id=run_id)
        reason = None if found.note is None else f"{found.note} (baseline run {baseline_id})"
        if reason is None:
            metrics = found.scores()
            centroids = matched_centroids(centroids, found, reference, baseline_run_id=baseline_id)
    if reason is not None:
        notes.update(dict.fromkeys(BASELINE_MEASURES, reason))
    details["metric_notes"] = notes
    timings = dict(details.get("timings_ms") or {})
    timings["agreement"] = round((time.perf_counter() - started) * 1000.0, 1)
    details["timings_ms"] = timings
    return write_agreement(session, run_id=run_id, token=token, metrics=metrics, centroids=centroids, details=details)


def matched_centroids(
    centroids: list[dict[str, Any]], found: Agreement, reference: list[dict[str, Any]], *, baseline_run_id: str
) -> list[dict[str, Any]]:
    """This run's centroids, each with its matched baseline cluster, the pair's Jaccard and the
    baseline cluster's label (all null when no baseline cluster was matched to it). A centroid whose
    match holds a curated label (its own or one it inherited) at Jaccard ≥ ``INHERIT_JACCARD``
    inherits it, marked with the baseline run and cluster it came from."""
    by_other: dict[Any, Match] = {m.other: m for m in found.matches if m.other is not None}
    by_reference = {c.get("cluster_id"): c for c in reference}
    out = []
    for centroid in centroids:
        match = by_other.get(centroid.get("cluster_id"))
        matched = {} if match is None else by_reference.get(match.reference) or {}
        related = {
            **centroid,
            "baseline_cluster_id": None if match is None else match.reference,
            "jaccard": None if match is None else match.jaccard,
            "baseline_label": matched.get("label"),
        }
        related.pop("inherited", None)
        if match is not None and match.jaccard is not None and match.jaccard >= INHERIT_JACCARD:
            inherited = _inherited(matched, baseline_run_id, match)
            if inherited is not None:
                related["inherited"] = inherited
        # computed_* are stored once a centroid was curated or inherited: decide its labels again
        curated = "inherited" in related or "computed_label" in related
        out.append(effective_centroid(related) if curated else related)
    return out


def _inherited(matched: dict[str, Any], baseline_run_id: str, match: Match) -> dict[str, Any] | None:
    """What a centroid inherits from its matched baseline cluster: the curated values it shows (its
    override over what it inherited itself), stamped with the original curator; None when uncurated."""
    source = matched.get("override") or matched.get("inherited")
    if not source:
        return None
    values = {**(matched.get("inherited") or {}), **(matched.get("override") or {})}
    curated = {name: values[name] for name in CURATED_FIELDS if values.get(name) is not None}
    if not curated:
        return None
    return {
        **curated,
        "run_id": baseline_run_id,
        "cluster_id": matched.get("cluster_id"),
        "jaccard": match.jaccard,
        "by": source.get("by"),
        "key_id": source.get("key_id"),
        "at": source.get("at"),
    }
