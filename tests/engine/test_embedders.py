"""Embedders: the TF-IDF + SVD default, and the optional MiniLM one failing with the extra to install."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clusterbook.engine import EMBEDDERS, run_pipeline
from clusterbook.engine.embedders import MiniLMEmbedder, TfidfSvdEmbedder
from tests.engine.conftest import demo_input

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


@pytest.mark.slow
def test_minilm_without_the_extra_names_it() -> None:
    # a fresh interpreter in which sentence-transformers cannot be imported, as without the extra
    code = (
        "import sys; sys.modules['sentence_transformers'] = None\n"
        "from clusterbook.engine.embedders import MiniLMEmbedder\n"
        "from clusterbook.errors import ClusteringFailed\n"
        "try:\n    MiniLMEmbedder().embed(['a comet'])\n"
        "except ClusteringFailed as exc:\n    print(exc.message)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "pip install 'clusterbook[embeddings]'" in done.stdout
    assert "use embedder 'tfidf-svd'" in done.stdout


@pytest.mark.slow
def test_minilm_embeds_offline_and_separates_the_demo_topics(demo_docs: list[dict[str, Any]]) -> None:
    vectors = MiniLMEmbedder().embed([d["text"] for d in demo_docs])
    assert vectors.dtype == np.float32 and vectors.shape == (len(demo_docs), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)
    result = run_pipeline(demo_input(demo_docs, params={"n_clusters": 6}, embedder="minilm"))
    topics = [d["metadata"]["topic"] for d in demo_docs]
    assert adjusted_rand_score(topics, result.labels) > 0.9
    assert result.effective_config["embedder"] == "minilm"
