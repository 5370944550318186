"""Embedders: the TF-IDF + SVD default, and the optional MiniLM one failing with the extra to install."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from clusterbook.engine import EMBEDDERS
from clusterbook.engine.embedders import MiniLMEmbedder, TfidfSvdEmbedder
from clusterbook.errors import ClusteringFailed

TEXTS = [
    "The telescope tracked a comet across the night sky.",
    "A bright comet passed the outer planets.",
    "Simmer the garlic in butter before adding the sauce.",
    "Bake the dough until the crust is golden.",
    "The striker scored a late goal in the final match.",
]


def test_embedders_are_listed() -> None:
    assert EMBEDDERS == ("tfidf-svd", "minilm")


def test_tfidf_svd_gives_seeded_unit_float32_rows() -> None:
    vectors = TfidfSvdEmbedder(random_state=1).embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (5, 4)  # components = min(128, features-1, N-1)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(TfidfSvdEmbedder(random_state=1).embed(TEXTS), vectors)
    # the two comet sentences are closer to each other than to the cooking ones
    assert vectors[0] @ vectors[1] > max(vectors[0] @ vectors[2], vectors[0] @ vectors[3])


def test_tfidf_svd_caps_components() -> None:
    texts = [f"word{i} shared{i % 7} common{i % 3}" for i in range(300)]
    assert TfidfSvdEmbedder(max_components=128).embed(texts).shape == (300, 128)


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is not None, reason="the extra is installed")
def test_minilm_without_the_extra_names_it() -> None:
    with pytest.raises(ClusteringFailed) as caught:
        MiniLMEmbedder().embed(TEXTS)
    assert "pip install 'clusterbook[embeddings]'" in caught.value.message
    assert "use embedder 'tfidf-svd'" in caught.value.message
