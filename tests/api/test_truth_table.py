"""The shared truth table (``tests/truth_table.py``) over real HTTP, on SQLite and PostgreSQL: the
listing route answers every filter, sort and search row with the runs the store returns."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import ids, ok_list
from tests.truth_table import load_history, mismatches


def test_truth_table_over_http(http, session_factory) -> None:
    cluster = load_history(session_factory)

    def list_runs(body: dict[str, Any]) -> list[str]:
        data = ok_list(http, cluster.cluster_id, body, page_size=100)
        assert data["total_count"] == len(data["results"])
        return ids(data)

    failures = mismatches(list_runs)
    assert not failures, "\n".join(failures)
