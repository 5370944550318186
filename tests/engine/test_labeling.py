"""Keyword labels: c-TF-IDF as BERTopic defines it, central summaries, "Cluster n" without text."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from clusterbook.engine.labeling import ClusterTexts, KeywordLabeler, class_tfidf, gather_cluster_texts, truncate
from tests.engine.conftest import run


def test_class_tfidf_matches_the_formula() -> None:
    docs = ["comet comet orbit star", "orbit pasta pasta pasta sauce"]
    scores, vocabulary = class_tfidf(docs)
    counts = CountVectorizer(stop_words="english").fit_transform(docs).toarray().astype(float)
    tf = counts / counts.sum(axis=1, keepdims=True)
    idf = np.log(1 + counts.sum() / len(docs) / counts.sum(axis=0))
    np.testing.assert_allclose(scores.toarray(), tf * idf)
    assert list(vocabulary) == ["comet", "orbit", "pasta", "sauce", "star"]
    # a word shared by both classes scores below the words that tell them apart
    assert scores[0, 1] < scores[0, 4]


def test_keywords_label_and_summary() -> None:
    clusters = [
        ClusterTexts("cl_0", central=["Comets orbit the sun. " * 20], sample=["comet orbit sun", "comet tail"]),
        ClusterTexts("cl_1", central=[], sample=[]),
    ]
    first, second = KeywordLabeler(top_n=3, label_words=2).label(clusters)
    assert first.keywords == ["comet", "orbit", "sun"]  # orbit, sun and tail tie: alphabetical order
    assert first.label == "comet / orbit"
    assert first.summary is not None and len(first.summary) <= 200 and first.summary.endswith("…")
    assert (second.label, second.keywords, second.summary) == ("Cluster 1", [], None)


def test_gather_puts_the_most_central_text_first_and_bounds_the_sample() -> None:
    labels = np.array([0, 0, 0, 1, 1, -1], dtype=np.int32)
    distances = np.array([0.5, 0.1, 0.3, 0.2, 0.1, np.nan], dtype=np.float32)
    texts = ["far", "near", "middle", "b-far", None, "noise"]
    zero, one = gather_cluster_texts(labels, distances, texts, max_texts=2, n_central=2)
    assert (
        zero.central == ["near", "middle"] and len(zero.sample) == 2 and set(zero.sample) <= {"far", "near", "middle"}
    )
    assert one.central == ["b-far"] and one.sample == ["b-far"]


def test_clusters_without_text_are_named_by_number(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    result = run(X, params={"n_clusters": 4})
    assert [c.label for c in result.centroids] == ["Cluster 0", "Cluster 1", "Cluster 2", "Cluster 3"]
    assert all(c.keywords == [] and c.summary is None for c in result.centroids)


def test_summary_is_the_member_nearest_the_centre(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = blobs
    texts = [f"document number {i}" for i in range(len(X))]
    result = run(X, texts=texts, params={"n_clusters": 4})
    for c, centroid in enumerate(result.centroids):
        members = np.flatnonzero(result.labels == c)
        nearest = members[np.argmin(result.distances[members])]
        assert centroid.summary == texts[nearest]


def test_truncate_cuts_at_a_word() -> None:
    assert truncate("alpha  beta\ngamma", 50) == "alpha beta gamma"
    assert truncate("alpha beta gamma", 12) == "alpha beta…"
