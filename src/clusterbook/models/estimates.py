"""The wire model of a run's estimate (``POST /v1/clusters/{cluster_id}/execute/estimate``)."""

from __future__ import annotations

from pydantic import Field

from clusterbook.models.base import WireModel


class ExecutionEstimate(WireModel):
    """What a run of the cluster would fit and cost, and whether its algorithm's size limit refuses it.

    The figures are an order-of-magnitude estimate (calibrated on a 2-core machine); the limits are
    declared per algorithm and scaled by ``CLUSTERBOOK_SIZE_LIMIT_FACTOR``.
    """

    algorithm: str
    documents: int = Field(description="Documents the run would load (after the cluster's filters).")
    dimensions: int = Field(description="Dimensions of their vectors (or of the embedder's, for texts).")
    fit_documents: int = Field(description="Documents the algorithm fits: sample_size when it is smaller.")
    fit_dimensions: int = Field(description="Dimensions the algorithm fits: pca_components when it is smaller.")
    max_documents: int = Field(description="The algorithm's limit on fit_documents.")
    max_cells: int = Field(description="The algorithm's limit on fit_documents × fit_dimensions.")
    estimated_seconds: float
    estimated_memory_bytes: int
    refused: bool = Field(description="True: POST …/execute would answer 422 run_too_large.")
    reason: str | None = Field(default=None, description="Why it would be refused, and the opt-in that fixes it.")
