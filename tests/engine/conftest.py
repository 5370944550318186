"""Engine test helpers: small seeded data sets and a factory for ``EngineInput``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from clusterbook.demo import demo_documents
from clusterbook.engine import EngineInput, EngineResult, RunConfig, run_pipeline, validate_algorithm_params


def make_input(
    vectors: np.ndarray | None = None,
    texts: list[str | None] | None = None,
    metadata: list[dict[str, Any]] | None = None,
    algorithm: str = "kmeans",
    params: dict[str, Any] | None = None,
    **config: Any,
) -> EngineInput:
    """An EngineInput with ids doc-0…; texts default to None, metadata to {}; params are validated."""
    n = len(vectors) if vectors is not None else len(texts or metadata or [])
    return EngineInput(
        document_ids=[f"doc-{i}" for i in range(n)],
        texts=list(texts) if texts is not None else [None] * n,
        metadata=list(metadata) if metadata is not None else [{} for _ in range(n)],
        vectors=vectors,
        config=RunConfig(algorithm, validate_algorithm_params(algorithm, params or {}), **config),
    )


def run(*args: Any, **kwargs: Any) -> EngineResult:
    return run_pipeline(make_input(*args, **kwargs))


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """240 points in 8 dimensions around 4 well-separated centres (float32) and their true labels."""
    X, y = make_blobs(n_samples=240, n_features=8, centers=4, cluster_std=0.6, random_state=7)
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def demo_docs() -> list[dict[str, Any]]:
    return demo_documents(per_topic=60, seed=0)


def demo_input(docs: list[dict[str, Any]], algorithm: str = "kmeans", **kwargs: Any) -> EngineInput:
    return EngineInput(
        document_ids=[d["document_id"] for d in docs],
        texts=[d["text"] for d in docs],
        metadata=[d["metadata"] for d in docs],
        vectors=None,
        config=RunConfig(algorithm, validate_algorithm_params(algorithm, kwargs.pop("params", {})), **kwargs),
    )
