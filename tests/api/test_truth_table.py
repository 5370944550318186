"""The shared truth table (``tests/truth_table.py``) over real HTTP, on SQLite and PostgreSQL: the
listing route answers every filter, sort and search row with the runs the store returns."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import ids, make_zoo, ok_list
from tests.factories import make_cluster
from tests.truth_table import group_mismatches, load_history, mismatches, zoo_mismatches


def test_truth_table_over_http(http, session_factory) -> None:
    history, zoo = load_history(session_factory), make_cluster(session_factory)
    make_zoo(session_factory, zoo)

    def lister(cluster_id: str):
        def list_runs(body: dict[str, Any]) -> list[str]:
            data = ok_list(http, cluster_id, body, page_size=100)
            assert data["total_count"] == len(data["results"])
            return ids(data)

        return list_runs

    failures = mismatches(lister(history.cluster_id)) + zoo_mismatches(lister(zoo.cluster_id))
    assert not failures, "\n".join(failures)


def test_group_table_over_http(http, session_factory) -> None:
    history = load_history(session_factory)

    def group_runs(body: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        data = ok_list(http, history.cluster_id, body)
        return [(g["key"], g["stats"]) for g in data["groups"]]

    failures = group_mismatches(group_runs)
    assert not failures, "\n".join(failures)
