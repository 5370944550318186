"""Admission of a run: its size counted in SQL, checked against its algorithm's declared limit at submit.

Why: a run beyond its algorithm's limit used to be queued, loaded and fitted until something gave out
(HDBSCAN at 100k × 384 ran past 300 s). Now ``POST …/execute`` refuses it with 422 ``run_too_large``
whose message names the opt-in (``sample_size``, ``algorithm_params.pca_components``), before any row
is written; ``POST …/execute/estimate`` answers the same estimate without queuing. The store counts
(``store/run_size.py``), the engine declares (``engine/limits.py``): this module is where they meet,
since the store may not import the engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from clusterbook.engine.limits import EMBEDDED_DIMS, RunEstimate, check_run_size, estimate_run
from clusterbook.store.run_size import count_run_size


def estimate_submission(session: Session, *, namespace_id: str, config: dict[str, Any], factor: float) -> RunEstimate:
    """The estimate of a run submitted with ``config`` (``run_config_for``'s output), limits × ``factor``.

    Documents without vectors are embedded by the cluster's embedder, whose output dimensions count."""
    size = count_run_size(
        session,
        namespace_id=namespace_id,
        collection_ids=list(config.get("collection_ids") or []),
        filters=config.get("filters"),
    )
    dimensions = size.dimensions
    if dimensions is None:
        embedded = EMBEDDED_DIMS.get(str(config.get("embedder")), max(EMBEDDED_DIMS.values()))
        dimensions = max(1, min(embedded, size.documents - 1))
    return estimate_run(
        str(config["algorithm"]),
        dict(config.get("params") or {}),
        documents=size.documents,
        dimensions=dimensions,
        sample_size=config.get("sample_size"),
        factor=factor,
        preprocessing=list(config.get("preprocessing") or ()),
    )


def admit_run(session: Session, *, namespace_id: str, config: dict[str, Any], factor: float) -> RunEstimate:
    """The estimate, or RunTooLarge when the run is beyond its limit; stamps the factor into ``config`` so
    the engine, checking again before it fits, applies the limit the run was admitted under."""
    estimate = estimate_submission(session, namespace_id=namespace_id, config=config, factor=factor)
    check_run_size(estimate)
    config["size_limit_factor"] = factor
    return estimate
