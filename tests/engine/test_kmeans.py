"""The fast k-means path: as good as scikit-learn's full fit, reproducible, thread-independent, and no copy of X."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from clusterbook.engine import kmeans
from clusterbook.engine.kmeans import FastKMeans, column_variance_mean
from tests.engine.conftest import make_input, run_pipeline


@pytest.fixture(scope="module")
def overlapping() -> tuple[np.ndarray, np.ndarray]:
    """12,000 unit vectors in 48 dimensions around 8 overlapping centres: k-means recovers them only partly."""
    X, y = make_blobs(n_samples=12_000, n_features=48, centers=8, cluster_std=14.0, random_state=4)
    X = X.astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, y


@pytest.fixture(scope="module")
def wide() -> np.ndarray:
    """40,000 unit vectors in 384 dimensions (61 MB): large next to every step's fixed-size buffers."""
    X, _ = make_blobs(n_samples=40_000, n_features=384, centers=8, cluster_std=30.0, random_state=2)
    X = X.astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X


@pytest.fixture
def small_seed_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeding and warm-up on 2,000 of the 12,000 rows, so the sample path runs at test size."""
    monkeypatch.setattr(kmeans, "SEED_SAMPLE", 2_000)


@pytest.mark.usefixtures("small_seed_sample")
def test_quality_matches_a_full_scikit_learn_fit(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = overlapping
    ours = [FastKMeans(8, random_state=seed).fit(X) for seed in range(3)]
    full = [KMeans(8, n_init=1, random_state=seed).fit(X) for seed in range(3)]
    ari_ours = np.median([adjusted_rand_score(y, m.labels_) for m in ours])
    ari_full = np.median([adjusted_rand_score(y, m.labels_) for m in full])
    assert 0.3 < ari_full < 0.95, "the blobs overlap: the test must not be trivially separable"
    assert ari_ours == pytest.approx(ari_full, abs=0.01)
    assert np.median([m.inertia_ for m in ours]) <= np.median([m.inertia_ for m in full]) * 1.005


@pytest.mark.usefixtures("small_seed_sample")
def test_same_seed_same_labels_and_another_seed_a_fresh_start(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    first = FastKMeans(8, random_state=5).fit(X)
    again = FastKMeans(8, random_state=5).fit(X)
    assert np.array_equal(first.labels_, again.labels_)
    assert np.array_equal(first.cluster_centers_, again.cluster_centers_)
    other = FastKMeans(8, random_state=6).fit(X)
    assert not np.array_equal(first.cluster_centers_, other.cluster_centers_)


@pytest.mark.usefixtures("small_seed_sample")
def test_results_do_not_depend_on_the_thread_count(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    with threadpool_limits(1):
        one = FastKMeans(8, random_state=2).fit(X)
    with threadpool_limits(2):
        two = FastKMeans(8, random_state=2).fit(X)
    # Float sums in another order can move a few border points of overlapping clusters, no more.
    assert adjusted_rand_score(one.labels_, two.labels_) > 0.99
    assert one.inertia_ == pytest.approx(two.inertia_, rel=1e-4)


def test_n_init_keeps_the_lowest_inertia(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    single = FastKMeans(8, n_init=1, random_state=1).fit(X)
    several = FastKMeans(8, n_init=4, random_state=1).fit(X)
    assert several.inertia_ <= single.inertia_ * (1 + 1e-6)


def test_random_init_and_tiny_inputs(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    random_init = FastKMeans(8, init="random", random_state=0).fit(X[:500])
    assert len(np.unique(random_init.labels_)) == 8
    exact = FastKMeans(3, random_state=0).fit(X[:3])
    assert sorted(exact.labels_.tolist()) == [0, 1, 2] and exact.inertia_ == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="n_clusters"):
        FastKMeans(4).fit(X[:3])


def test_the_tolerance_is_scikit_learns_without_its_temporary(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    assert column_variance_mean(X, chunk=1000) == pytest.approx(float(np.var(X.astype(np.float64), axis=0).mean()))


@pytest.mark.usefixtures("small_seed_sample")
def test_a_fit_in_place_copies_nothing_and_restores_x(wide: np.ndarray) -> None:
    X = wide.copy()
    before = wide
    tracemalloc.start()
    try:
        FastKMeans(8, random_state=0, copy_x=False).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a copy of X would be 1.0 × X on its own; the seed sample and the variance chunks are fixed-size
    assert peak < 0.5 * X.nbytes, f"the fit allocated {peak:,} bytes for a {X.nbytes:,}-byte X"
    assert np.allclose(X, before, atol=1e-6)


def test_the_pipeline_normalises_in_place_only_when_allowed(overlapping: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = overlapping
    scaled = X * 3.0
    kept = scaled.copy()
    run_pipeline(make_input(scaled, params={"n_clusters": 8}))
    assert np.array_equal(scaled, kept), "the caller's vectors are untouched by default"

    owned = make_input(scaled, params={"n_clusters": 8})
    owned.overwrite_vectors = True
    result = run_pipeline(owned)
    assert np.allclose(np.linalg.norm(scaled, axis=1), 1.0, atol=1e-5), "normalised in place"
    copied = run_pipeline(make_input(kept, params={"n_clusters": 8}))
    assert np.array_equal(result.labels, copied.labels)


@pytest.mark.usefixtures("small_seed_sample")
def test_a_whole_run_in_place_allocates_far_less_than_x(wide: np.ndarray) -> None:
    """The pipeline (normalise, fit, means, distances, metrics, labels, projection) on vectors it may
    overwrite: no step copies N × d (a copy would be 1.0 × X on its own)."""
    X = wide.copy()
    data = make_input(X, params={"n_clusters": 8})
    data.overwrite_vectors = True
    tracemalloc.start()
    try:
        run_pipeline(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # fixed-size buffers (the 5,000-point silhouette sample and its distance blocks, row chunks) are about
    # 35 MB at 384 dimensions whatever N is; a copy of X would be 1.0 × X on its own
    assert peak < 0.75 * X.nbytes, f"the run allocated {peak:,} bytes for a {X.nbytes:,}-byte X"
