"""What a run asks the engine for: the run configuration, LLM settings and the input arrays.

Plain frozen dataclasses, so the runner can build them from its own models and ship them to a worker
process by pickling; nothing here validates (``params.validate_algorithm_params`` and
``pipeline.run_pipeline`` do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from clusterbook.engine.stability import StabilityConfig


@dataclass(frozen=True)
class LLMSettings:
    """An OpenAI-compatible chat endpoint that names clusters; POST ``{base_url}/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = None
    include_summary: bool = True
    include_keywords: bool = True
    timeout_s: float = 30.0


@dataclass(frozen=True)
class RunConfig:
    """One run's choices.

    ``random_state`` is the single seed of every randomised step (embedding, sampling, the estimator,
    silhouette sampling, projection). It wins over a ``random_state`` inside ``params``; the caller
    fills it from ``params.get("random_state", 0)``.
    """

    algorithm: str
    params: dict[str, Any]
    random_state: int = 0
    embedder: str = "tfidf-svd"
    sample_size: int | None = None
    normalize_features: bool = True
    attributes: tuple[str, ...] = ()
    llm: LLMSettings | None = None
    stability: StabilityConfig | None = None
    """Score each cluster's bootstrap stability (``stability.py``); None: not asked for."""
    hierarchy_levels: int | None = None
    """Build a tree of this many levels over the clusters (``hierarchy.py``); None: no tree."""
    hierarchical_grouping: bool = False
    """Attribute grouping: nest the groups by the attributes in order, one level per attribute."""
    size_limit_factor: float = 1.0
    """Scales the algorithms' declared size limits (``limits.py``): the factor the run was admitted with."""
    preprocessing: tuple[dict[str, Any], ...] = ()
    """The declared steps (``preprocessing.py``) the fit sees the vectors through; metrics do not."""
    reassign_noise_max_distance: float | None = None
    """Density fits: noise within this distance of a cluster's centre joins it (``diagnostics.py``)."""


@dataclass
class EngineInput:
    """Documents in row order; ``vectors`` (float32, N × d) or, when None, texts to embed.

    ``overwrite_vectors``: the engine may normalise and centre ``vectors`` in place instead of copying
    them (the runner's freshly loaded array: at 1M × 384 a copy is 1.4 GiB).
    """

    document_ids: list[str]
    texts: list[str | None]
    metadata: list[dict[str, Any]]
    vectors: np.ndarray | None
    config: RunConfig
    overwrite_vectors: bool = False
