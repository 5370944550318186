"""attribute_based: groups by metadata values, a "(missing)" group, labels that spell out the values."""

from __future__ import annotations

import numpy as np

from tests.engine.conftest import run

METADATA = [
    {"topic": "sports", "year": 2024},
    {"topic": "sports", "year": 2024},
    {"topic": "sports", "year": 2023},
    {"topic": "science", "year": 2024},
    {"year": 2024},
    {"topic": None, "year": 2024},
    {"topic": "sports", "year": 2024},
]


def test_groups_by_the_tuple_of_values_largest_first() -> None:
    result = run(
        metadata=METADATA, texts=[None] * len(METADATA), algorithm="attribute_based", attributes=("topic", "year")
    )
    assert [(c.label, c.num_members) for c in result.centroids] == [
        ("topic=sports, year=2024", 3),
        ("topic=(missing), year=2024", 2),
        ("topic=sports, year=2023", 1),
        ("topic=science, year=2024", 1),
    ]
    assert result.labels.tolist() == [0, 0, 2, 3, 1, 1, 0]
    # no vectors and no text: nothing to measure, distances or project, and each reason is given
    assert result.silhouette_score is None
    assert "no vectors to measure" in result.metric_notes["silhouette_score"]
    assert np.isnan(result.distances).all()
    assert result.projection == {"points": [], "centroids": [], "sampled": 0, "total": 7}
    assert all(c.keywords == [] and c.summary is None for c in result.centroids)


def test_metrics_use_the_vectors_when_given(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    metadata = [{"blob": int(v)} for v in y]
    result = run(X, metadata=metadata, algorithm="attribute_based", attributes=("blob",))
    assert len(result.centroids) == 4 and result.silhouette_score is not None and result.silhouette_score > 0.5
    assert not np.isnan(result.distances).any()


def test_metrics_use_embedded_texts_when_every_document_has_text() -> None:
    texts = ["the striker scored a goal"] * 4 + ["whisk the butter into the sauce"] * 4
    metadata = [{"topic": "football"}] * 4 + [{"topic": "cooking"}] * 4
    result = run(texts=texts, metadata=metadata, algorithm="attribute_based", attributes=("topic",))
    assert result.effective_config["embedded"] is True
    assert result.silhouette_score == 1.0
    assert result.centroids[0].label == "topic=football" and "striker" in result.centroids[0].keywords
