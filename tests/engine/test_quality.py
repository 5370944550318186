"""Clustering quality on labelled data sets bundled with scikit-learn and on the demo corpus.

Bounds sit a little under what the pipeline gets with seed 0 (digits 0.65, iris 0.90, standardised wine
0.90, demo corpus 1.0), so a regression in normalisation, relabelling or embedding shows up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from clusterbook.demo import DEMO_TOPICS
from clusterbook.engine import run_pipeline
from tests.engine.conftest import demo_input, run


@pytest.mark.parametrize(
    ("name", "loader", "k", "standardise", "bound"),
    [
        ("digits", load_digits, 10, False, 0.55),
        ("iris", load_iris, 3, False, 0.85),
        ("wine", load_wine, 3, True, 0.8),  # wine's features differ in scale by 1000×: standardise first
    ],
)
def test_kmeans_recovers_known_classes(name: str, loader: Any, k: int, standardise: bool, bound: float) -> None:
    X, y = loader(return_X_y=True)
    if standardise:
        X = StandardScaler().fit_transform(X)
    result = run(X.astype(np.float32), params={"n_clusters": k})
    assert len(result.centroids) == k
    assert adjusted_rand_score(y, result.labels) > bound


def test_demo_corpus_clusters_by_topic_with_topic_keywords(demo_docs: list[dict[str, Any]]) -> None:
    result = run_pipeline(demo_input(demo_docs, params={"n_clusters": len(DEMO_TOPICS)}))
    topics = [d["metadata"]["topic"] for d in demo_docs]
    assert adjusted_rand_score(topics, result.labels) > 0.9
    for topic, vocabulary in DEMO_TOPICS.items():
        rows = [i for i, t in enumerate(topics) if t == topic]
        majority = int(np.bincount(result.labels[rows]).argmax())
        centroid = result.centroids[majority]
        assert len(centroid.keywords) == 8
        assert len(set(centroid.keywords) & set(vocabulary)) >= 6, (topic, centroid.keywords)
        assert centroid.label == " / ".join(centroid.keywords[:3])
        assert centroid.summary is not None and len(centroid.summary) <= 200


def test_kmeans_auto_picks_the_number_of_topics(demo_docs: list[dict[str, Any]]) -> None:
    docs = [d for d in demo_docs if int(d["document_id"].rsplit("-", 1)[1]) < 30]  # 30 per topic keeps it quick
    result = run_pipeline(demo_input(docs, params={"n_clusters": "auto", "k_max": 10}))
    config = result.effective_config
    assert config["chosen_n_clusters"] == len(DEMO_TOPICS) == len(result.centroids)
    assert config["params"]["n_clusters"] == "auto"
    scores = config["auto_k_scores"]
    assert list(scores) == [str(k) for k in range(2, 11)]
    assert max(scores, key=scores.__getitem__) == str(len(DEMO_TOPICS))
