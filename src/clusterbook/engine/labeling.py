"""Naming clusters from their texts: class-based TF-IDF keywords, a label from the top keywords, and the
most central member's text as the summary.

``gather_cluster_texts`` picks, per cluster, the few most central texts and a bounded seeded sample of
member texts (so keyword extraction stays cheap at 100k documents); ``KeywordLabeler`` turns those into
``ClusterLabel``s. The optional LLM labeler (``llm.py``) starts from the same inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

MAX_TEXTS_PER_CLUSTER = 500  # c-TF-IDF reads at most this many member texts per cluster (seeded sample)
CENTRAL_TEXTS = 5
SUMMARY_CHARS = 200
_WORDS = r"(?u)\b[^\W\d_]{2,}\b"  # words of two or more letters; numbers make poor labels


@dataclass
class ClusterTexts:
    """What a labeler sees of one cluster: most central texts first, and a sample of member texts."""

    cluster_id: str
    central: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)


@dataclass
class ClusterLabel:
    label: str
    summary: str | None
    keywords: list[str]


def has_text(text: str | None) -> bool:
    return text is not None and bool(text.strip())


def gather_cluster_texts(
    labels: np.ndarray,
    distances: np.ndarray,
    texts: Sequence[str | None],
    random_state: int = 0,
    max_texts: int = MAX_TEXTS_PER_CLUSTER,
    n_central: int = CENTRAL_TEXTS,
) -> list[ClusterTexts]:
    """Per cluster 0..k-1: texts nearest the centre (NaN distances last) and a seeded sample of member texts."""
    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    rng = np.random.default_rng(random_state)
    with_text = np.fromiter((has_text(t) for t in texts), dtype=bool, count=len(texts))
    rows = np.flatnonzero((labels >= 0) & with_text)
    rows = rows[np.lexsort((distances[rows], labels[rows]))]  # grouped by cluster, nearest first
    bounds = np.searchsorted(labels[rows], np.arange(k + 1))
    out = []
    for c in range(k):
        members = rows[bounds[c] : bounds[c + 1]]
        by_row = np.sort(members)  # the sample must not depend on float-level ordering by distance
        sample = by_row if len(by_row) <= max_texts else np.sort(rng.choice(by_row, max_texts, replace=False))
        out.append(
            ClusterTexts(
                cluster_id=f"cl_{c}",
                central=[str(texts[i]) for i in members[:n_central]],
                sample=[str(texts[i]) for i in sample],
            )
        )
    return out


def class_tfidf(documents: Sequence[str]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """c-TF-IDF as in BERTopic: one document per class; tf normalised per class × log(1 + A / f_t), with A
    the average number of words per class and f_t the word's frequency across all classes.

    Returns (classes × words sparse matrix, vocabulary in alphabetical order); no words at all → no columns.
    """
    try:
        vectorizer = CountVectorizer(stop_words="english", token_pattern=_WORDS)
        counts = vectorizer.fit_transform(documents)
    except ValueError:  # empty vocabulary: only stop words, numbers or blanks
        return sparse.csr_matrix((len(documents), 0)), np.array([], dtype=object)
    tf = normalize(counts, norm="l1", axis=1)
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    avg_words = counts.sum() / counts.shape[0]
    idf = np.log(1 + avg_words / frequency)
    return sparse.csr_matrix(tf.multiply(idf)), vectorizer.get_feature_names_out()


class KeywordLabeler:
    """Labels each cluster from its c-TF-IDF top words: "galaxy / telescope / orbit"; no text → "Cluster n"."""

    def __init__(self, top_n: int = 8, label_words: int = 3, summary_chars: int = SUMMARY_CHARS):
        self.top_n = top_n
        self.label_words = label_words
        self.summary_chars = summary_chars

    def label(self, clusters: Sequence[ClusterTexts]) -> list[ClusterLabel]:
        scores, vocabulary = class_tfidf([" ".join(c.sample) for c in clusters])
        out = []
        for c, cluster in enumerate(clusters):
            row = scores.getrow(c)
            # descending score; the vocabulary is alphabetical, so ties go alphabetically
            best = row.indices[np.lexsort((row.indices, -row.data))]
            keywords = [str(vocabulary[i]) for i in best[: self.top_n]]
            name = " / ".join(keywords[: self.label_words]) or f"Cluster {cluster.cluster_id.removeprefix('cl_')}"
            summary = truncate(cluster.central[0], self.summary_chars) if cluster.central else None
            out.append(ClusterLabel(label=name, summary=summary, keywords=keywords))
        return out


def truncate(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters (with "…")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"
