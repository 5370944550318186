"""Sorting and searching the execution history over HTTP.

Sort: every sortable contract field in both directions, nulls last both ways, ties broken by run_id
so that walking pages (by number or by cursor) never repeats or skips a row. Search: case-insensitive
partial matching, terms AND-ed, over run_id, error messages and centroid labels/summaries/keywords,
with every wildcard or quote character matched literally."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api.helpers import (
    ZOO,
    assert_invalid,
    ids,
    make_zoo,
    names,
    ok_list,
    post_list,
    reference_order,
    walk_by_cursor,
    walk_by_page,
)
from tests.factories import BASE_TIME, completed_fields, make_cluster, make_history, make_runs

SORT_FIELDS = [
    "created_at",
    "completed_at",
    "num_clusters",
    "num_points",
    "metrics.silhouette_score",
    "metrics.davies_bouldin_index",
    "metrics.calinski_harabasz_score",
    "status",
    "duration",
]


@pytest.mark.parametrize("field", SORT_FIELDS)
def test_sort_matches_reference_in_both_directions_on_every_walk(http, session_factory, field):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    for direction in ("asc", "desc"):
        body = {"sort": {"field": field, "direction": direction}}
        expected = reference_order(field, direction)
        one_page = names(ok_list(http, cluster.cluster_id, body, page_size=100))
        assert one_page == expected, (direction, one_page)
        names_of = {spec["run_id"]: name for name, spec in ZOO.items()}
        for page_size in (1, 3):
            by_page = [names_of[r] for r in walk_by_page(http, cluster.cluster_id, body, page_size)]
            by_cursor = [names_of[r] for r in walk_by_cursor(http, cluster.cluster_id, body, page_size)]
            assert by_page == expected, (direction, page_size, by_page)
            assert by_cursor == expected, (direction, page_size, by_cursor)


def test_default_sort_is_created_at_newest_first(http, session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    assert names(ok_list(http, cluster.cluster_id)) == reference_order("created_at", "desc")
    assert names(ok_list(http, cluster.cluster_id, {"sort": {"field": "created_at"}})) == reference_order(
        "created_at", "desc"
    )
    upper = ok_list(http, cluster.cluster_id, {"sort": {"field": "num_points", "direction": "ASC"}})
    assert names(upper) == reference_order("num_points", "asc")


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_nulls_sort_last_in_both_directions(http, session_factory, direction):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    got = names(
        ok_list(http, cluster.cluster_id, {"sort": {"field": "metrics.silhouette_score", "direction": direction}})
    )
    assert got[:2] == (["alpha", "bravo"] if direction == "desc" else ["bravo", "alpha"])
    assert set(got[2:]) == set(ZOO) - {"alpha", "bravo"}
    got = names(ok_list(http, cluster.cluster_id, {"sort": {"field": "completed_at", "direction": direction}}))
    assert set(got[-2:]) == {"echo", "foxtrot"}


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_ties_are_broken_by_run_id_without_repeats_or_skips(http, session_factory, direction):
    cluster = make_cluster(session_factory)
    # 23 runs sharing created_at, num_points and num_clusters; a few lack a silhouette score
    run_ids = make_history(session_factory, cluster, 23, created_at=BASE_TIME, num_points=500, num_clusters=4)
    nulls = make_runs(
        session_factory,
        cluster,
        [completed_fields(0, created_at=BASE_TIME, num_points=500, num_clusters=4, metrics={}) for _ in range(5)],
    )
    everything = run_ids + nulls
    for field in ("created_at", "num_points", "num_clusters"):
        body = {"sort": {"field": field, "direction": direction}}
        expected = sorted(everything, reverse=direction == "desc")
        for walk in (walk_by_page, walk_by_cursor):
            got = walk(http, cluster.cluster_id, body, 4)
            assert got == expected, (field, walk.__name__)
    # a nullable field with ties among the nulls too
    body = {"sort": {"field": "metrics.silhouette_score", "direction": direction}}
    for walk in (walk_by_page, walk_by_cursor):
        got = walk(http, cluster.cluster_id, body, 4)
        assert len(got) == len(set(got)) == len(everything)
        assert sorted(got[-5:], reverse=direction == "desc") == got[-5:]
        assert set(got[-5:]) == set(nulls)


def test_sort_errors_name_the_accepted_fields(http, session_factory):
    cluster = make_cluster(session_factory)
    response = post_list(http, cluster.cluster_id, {"sort": {"field": "centroids"}})
    assert_invalid(
        response, "sort.field", "'centroids'", "created_at", "metrics.silhouette_score", "duration", code="invalid_sort"
    )
    response = post_list(http, cluster.cluster_id, {"sort": {"field": "created_at", "direction": "sideways"}})
    assert_invalid(response, "sort.direction", "asc", "desc", code="validation_error")
    response = post_list(http, cluster.cluster_id, {"sort": {"field": "created_at", "order": "asc"}})
    assert_invalid(response, "sort.order", code="validation_error")
    response = post_list(http, cluster.cluster_id, {"sort": {"direction": "asc"}})
    assert_invalid(response, "sort.field", code="validation_error")


# --------------------------------------------------------------------------- search


def test_search_is_case_insensitive_partial_and_terms_are_anded(http, session_factory):
    cluster = make_cluster(session_factory)
    make_zoo(session_factory, cluster)
    cases = {
        "billing": {"alpha"},  # centroid label
        "BILLING": {"alpha"},
        "Bil": {"alpha"},
        "refund": {"alpha", "hotel"},  # alpha: keyword and summary; hotel: label
        "refund login": {"alpha"},  # AND-ed
        "  Refund   LOGIN  ": {"alpha"},
        "refund shipping": set(),
        "parcels": {"bravo"},  # summary
        "courier": {"bravo"},  # keyword
        "2fa": {"alpha"},
        "memory": {"charlie"},  # error message
        "out of memory": {"charlie"},
        "heartbeat lost": {"delta"},
        "alpha01": {"alpha"},  # run id
        "RUN_golf": {"golf"},
        "run_": set(ZOO),
        "nowhere": set(),
    }
    wrong = []
    for term, expected in cases.items():
        data = ok_list(http, cluster.cluster_id, {"search": term}, page_size=100)
        if set(names(data)) != expected or data["total_count"] != len(expected):
            wrong.append((term, sorted(expected), names(data)))
    assert not wrong, wrong
    both = ok_list(http, cluster.cluster_id, {"search": "refund", "filters": {"status": "completed"}, "sort": {
        "field": "num_points", "direction": "asc"}})  # fmt: skip
    assert names(both) == ["alpha", "hotel"]
    assert names(ok_list(http, cluster.cluster_id, {"search": ""})) == reference_order("created_at", "desc")
    assert names(ok_list(http, cluster.cluster_id, {"search": None})) == reference_order("created_at", "desc")


SPECIAL = {
    "percent": "Disk at 100% capacity",
    "percent_decoy": "Disk at 1000 capacity",
    "underscore": "bad key a_b in params",
    "underscore_decoy": "bad key axb in params",
    "star": "glob a*b failed",
    "star_decoy": "glob axxb failed",
    "question": "what? why",
    "bracket": "index [x] missing",
    "bracket_decoy": "index x missing",
    "double_quote": 'label "hi" rejected',
    "single_quote": "it's broken",
    "backslash": "path C:\\temp\\data unreadable",
    "backslash_decoy": "path C:/temp/data unreadable",
    "injection": "user typed ' OR 1=1-- here",
}


def test_search_matches_special_characters_literally(http, session_factory):
    cluster = make_cluster(session_factory)
    specs = [
        {"status": "failed", "error_message": message, "created_at": BASE_TIME + timedelta(minutes=i)}
        for i, message in enumerate(SPECIAL.values())
    ]
    run_ids = dict(zip(SPECIAL, make_runs(session_factory, cluster, specs), strict=True))
    name_of = {v: k for k, v in run_ids.items()}
    cases = {
        "100%": {"percent"},
        "%": {"percent"},
        "a_b": {"underscore"},
        "_": set(SPECIAL),  # every run id is run_…
        "a*b": {"star"},
        "*": {"star"},
        "?": {"question"},
        "[x]": {"bracket"},
        "[": {"bracket"},
        '"hi"': {"double_quote"},
        '"': {"double_quote"},
        "it's": {"single_quote"},
        "'": {"single_quote", "injection"},
        "c:\\temp": {"backslash"},
        "\\": {"backslash"},
        "' OR 1=1--": {"injection"},
        "1=1--": {"injection"},
        "'; DROP TABLE executions; --": set(),
        "%' OR '1'='1": set(),
    }
    wrong = []
    for term, expected in cases.items():
        data = ok_list(http, cluster.cluster_id, {"search": term}, page_size=100)
        got = {name_of[r] for r in ids(data)}
        if got != expected or data["total_count"] != len(expected):
            wrong.append((term, sorted(expected), sorted(got)))
    assert not wrong, wrong
    # the history is untouched by any of it
    assert ok_list(http, cluster.cluster_id)["total_count"] == len(SPECIAL)


def test_search_sees_rows_created_through_every_path(http, session_factory):
    """Bulk-inserted and singly-inserted runs are both searchable (the index is kept in step)."""
    from tests.factories import make_execution

    cluster = make_cluster(session_factory)
    bulk = make_history(session_factory, cluster, 3)
    single = make_execution(session_factory, cluster, status="failed", error_message="Zebra stampede")
    data = ok_list(http, cluster.cluster_id, {"search": "zebra"})
    assert ids(data) == [single.run_id]
    data = ok_list(http, cluster.cluster_id, {"search": "invoices"})
    assert set(ids(data)) == set(bulk)
    data = ok_list(http, cluster.cluster_id, {"search": bulk[1][-8:]})
    assert ids(data) == [bulk[1]]


def test_search_limits(http, session_factory):
    cluster = make_cluster(session_factory)
    assert_invalid(post_list(http, cluster.cluster_id, {"search": "x" * 501}), "search", "500")
    # refused by the whole-body storable check (models/base.py::StorableBody), which names the place in its message
    assert_invalid(post_list(http, cluster.cluster_id, {"search": "a\x00b"}), "body", "search:", "NUL")
    assert_invalid(post_list(http, cluster.cluster_id, {"search": ["billing"]}), "search")
