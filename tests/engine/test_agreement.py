"""Agreement of two clusterings from their contingency table: equal to scikit-learn's scores on the same
labels, Hungarian matching equal to scipy's assignment, and blind to how clusters are numbered."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score

from clusterbook.engine.agreement import Contingency, agreement, labels_from, match_clusters
from clusterbook.models.measures import BASELINE_MEASURES


def table_of(reference: list[int], other: list[int]) -> Contingency:
    """The table a GROUP BY over two runs' memberships returns (-1 is noise, stored as NULL)."""
    name = lambda label: None if label < 0 else f"cl_{label}"  # noqa: E731
    cells = Counter((name(a), name(b)) for a, b in zip(reference, other, strict=True))
    return Contingency.from_cells([(a, b, n) for (a, b), n in cells.items()])


labelings = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(min_value=-1, max_value=6), min_size=n, max_size=n),
        st.lists(st.integers(min_value=-1, max_value=6), min_size=n, max_size=n),
    )
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(labelings)
def test_scores_equal_scikit_learn_on_the_same_labels(pair: tuple[list[int], list[int]]) -> None:
    reference, other = pair
    result = agreement(table_of(reference, other))
    assert result.shared_documents == len(reference)
    assert result.ari == pytest.approx(adjusted_rand_score(reference, other), abs=1e-12)
    assert result.ami == pytest.approx(adjusted_mutual_info_score(reference, other), abs=1e-12)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(labelings, st.randoms(use_true_random=False))
def test_renumbering_clusters_changes_nothing(pair: tuple[list[int], list[int]], rnd: object) -> None:
    reference, other = pair
    permutation = list(range(7))
    rnd.shuffle(permutation)  # type: ignore[attr-defined]
    renumbered = [label if label < 0 else permutation[label] for label in other]
    before, after = agreement(table_of(reference, other)), agreement(table_of(reference, renumbered))
    assert after.ari == pytest.approx(before.ari, abs=1e-12)
    assert after.ami == pytest.approx(before.ami, abs=1e-12)
    assert after.matched_fraction == pytest.approx(before.matched_fraction)
    assert after.moved_documents == before.moved_documents
    # ties may pick other pairs, but the optimum's total overlap is the same
    assert sum(m.overlap for m in after.matches) == sum(m.overlap for m in before.matches)


def test_a_hand_computed_table() -> None:
    # reference cl_0 = {a,b,c,d}, cl_1 = {e,f}, noise {g}; other cl_0 = {e,f,d}, cl_1 = {a,b,c}, noise {g}
    reference = [0, 0, 0, 0, 1, 1, -1]
    other = [1, 1, 1, 0, 0, 0, -1]
    result = agreement(table_of(reference, other))
    by_reference = {m.reference: m for m in result.matches}
    assert (by_reference["cl_0"].other, by_reference["cl_0"].overlap) == ("cl_1", 3)
    assert by_reference["cl_0"].jaccard == pytest.approx(3 / 4)  # {a,b,c} of {a,b,c,d}
    assert (by_reference["cl_1"].other, by_reference["cl_1"].overlap) == ("cl_0", 2)
    assert by_reference["cl_1"].jaccard == pytest.approx(2 / 3)  # {e,f} of {d,e,f}
    assert result.moved_documents == 1  # d moved; g is noise in both and stays
    assert result.matched_fraction == pytest.approx(6 / 7)


def test_matching_maximises_the_total_overlap_not_each_cluster_greedily() -> None:
    # table [[5, 4], [4, 0]]: greedy pairs cl_0-cl_0 (5) and cl_1-cl_1 (0), total 5; the optimum is 4 + 4
    reference = [0] * 5 + [0] * 4 + [1] * 4
    other = [0] * 5 + [1] * 4 + [0] * 4
    matches = {m.reference: m for m in match_clusters(table_of(reference, other))}
    assert (matches["cl_0"].other, matches["cl_0"].overlap) == ("cl_1", 4)
    assert (matches["cl_1"].other, matches["cl_1"].overlap) == ("cl_0", 4)


def test_more_reference_clusters_than_other_clusters_leaves_some_unmatched() -> None:
    result = agreement(table_of([0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1]))
    assert sorted(m.other is None for m in result.matches) == [False, False, True]
    assert result.moved_documents == 2


def test_noise_is_never_matched_to_a_cluster() -> None:
    result = agreement(table_of([-1, -1, -1, 0, 0], [0, 0, 0, 1, 1]))
    assert [(m.reference, m.other) for m in result.matches] == [("cl_0", "cl_1")]
    assert result.moved_documents == 3


def test_fewer_than_two_shared_documents_is_undefined_with_a_reason() -> None:
    empty = agreement(Contingency.from_cells([]))
    assert (empty.ari, empty.ami, empty.matched_fraction, empty.moved_documents) == (None, None, None, None)
    assert empty.note == "the runs share no document"
    one = agreement(table_of([0], [0]))
    assert one.ari is None and one.note is not None and "at least 2" in one.note


def test_label_arrays_rebuilt_from_a_large_table_hold_one_int32_per_document() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 5_000, size=(20, 20))
    table = Contingency(
        rows=tuple(f"cl_{i}" for i in range(20)), cols=tuple(f"cl_{j}" for j in range(20)), counts=counts
    )
    reference, other = labels_from(table)
    assert reference.dtype == np.int32 and reference.size == counts.sum()
    rebuilt = np.zeros_like(counts)
    np.add.at(rebuilt, (reference, other), 1)
    assert (rebuilt == counts).all()


def test_the_scores_are_exactly_the_declared_baseline_measures() -> None:
    """A baseline measure declared in models/measures.py but not produced (or the reverse) fails here."""
    result = agreement(table_of([0, 0, 1, 1], [1, 1, 0, 0]))
    scores = result.scores()
    assert set(scores) == set(BASELINE_MEASURES)
    assert scores["agreement_ari"] == pytest.approx(1.0)
    assert scores["moved_documents"] == 0
