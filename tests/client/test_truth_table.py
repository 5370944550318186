"""The SDK's truth tables: the shared one (``tests/truth_table.py``) through ``client.executions.list``,
and the builder's own: the same filter built with ``F`` and written as raw JSON (in another of the
accepted spellings) selects exactly the same runs of the zoo, and those are the runs expected by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from clusterbook.client import Client, F, Filter
from clusterbook.models.clusters import Cluster
from tests.api.helpers import NAME_OF, T
from tests.truth_table import Lister, group_mismatches, load_history, mismatches, zoo_mismatches

ISO = "%Y-%m-%dT%H:%M:%SZ"

CASES: list[tuple[str, Filter, dict[str, Any], set[str]]] = [
    ("status eq", F.status == "failed", {"status": "failed"}, {"charlie", "delta"}),
    (
        "status in",
        F.status.in_(["failed", "canceled"]),
        {"status": ["failed", "canceled"]},
        {"charlie", "delta", "golf"},
    ),
    (
        "metric and time",
        (F.metric("silhouette_score") > 0.1) & F.created_at.after(T + timedelta(seconds=30)),
        {
            "AND": [
                {"metrics.silhouette_score": {"gt": 0.1}},
                {"created_at": {"gt": (T + timedelta(seconds=30)).strftime(ISO)}},
            ]
        },
        {"bravo"},
    ),
    (
        "or",
        (F.status == "completed") | (F.num_points >= 1000),
        {"OR": [{"status": "completed"}, {"num_points": {">=": 1000}}]},
        {"alpha", "bravo", "hotel", "delta"},
    ),
    (
        "not",
        ~(F.status == "completed"),
        {"NOT": [{"status": "completed"}]},
        {"charlie", "delta", "echo", "foxtrot", "golf"},
    ),
    (
        "contains, case-insensitive",
        F.error_message.contains("MEMORY"),
        {"error_message": {"contains": "memory"}},
        {"charlie"},
    ),
    (
        "contains, case-sensitive",
        F.error_message.contains("Memory", case_sensitive=True),
        {"error_message": {"contains": "Memory"}, "case_sensitive": True},
        set(),
    ),
    ("is null", F.completed_at == None, {"completed_at": None}, {"echo", "foxtrot"}),  # noqa: E711
    (
        "exists",
        F.silhouette_score.exists(),
        {"metrics.silhouette_score": {"exists": True}},
        {"alpha", "bravo"},
    ),
    (
        "between",
        F.duration.between(2000, 5000),
        {"duration_ms": {"gte": 2000, "lte": 5000}},
        {"alpha", "golf", "hotel"},
    ),
    (
        "nin and lt",
        F.status.not_in(["completed", "failed"]) & (F.num_points < 250),
        {
            "operator": "AND",
            "conditions": [
                {"field": "status", "operator": "not_in", "value": ["completed", "failed"]},
                {"field": "num_points", "operator": "<", "value": 250},
            ],
        },
        {"echo", "foxtrot"},
    ),
    ("starts_with", F.run_id.starts_with("run_d"), {"run_id": {"starts_with": "RUN_D"}}, {"delta"}),
    (
        "and not",
        (F.davies_bouldin_index <= 1.5) & ~(F.calinski_harabasz_score < 150),
        {"metrics.davies_bouldin_index": {"lte": 1.5}, "NOT": [{"metrics.calinski_harabasz_score": {"lt": 150}}]},
        {"alpha"},
    ),
    (
        "time window",
        F.created_at.since(T + timedelta(minutes=3)) & F.created_at.before(T + timedelta(minutes=6)),
        {
            "created_at": {
                "gte": (T + timedelta(minutes=3)).strftime(ISO),
                "lt": (T + timedelta(minutes=6)).strftime(ISO),
            }
        },
        {"delta", "echo", "foxtrot"},
    ),
    (
        "any",
        F.any(F.num_clusters > 4, F.error_message.ends_with("times")),
        {"OR": [{"num_clusters": {"gt": 4}}, {"error_message": {"ends_with": "TIMES"}}]},
        {"bravo", "delta"},
    ),
]


def _names(client: Client, cluster: str, filters: Any) -> set[str]:
    page = client.executions.list(cluster, filters=filters, page_size=100)
    assert page.total_count == len(page.results)
    return {NAME_OF[run.run_id] for run in page.results}


def test_builder_and_raw_json_select_the_same_runs(client: Client, zoo: Cluster) -> None:
    for name, expr, raw, expected in CASES:
        built = _names(client, zoo.cluster_name, expr)
        written = _names(client, zoo.cluster_name, raw)
        assert built == written == expected, (name, expr.to_dict(), raw, built, written)
    # a raw dict and an expression combine into one request, too
    mixed = _names(client, zoo.cluster_name, {"status": "failed"} & (F.num_points > 600))
    assert mixed == {"delta"}


def test_shared_truth_table_through_the_sdk(
    client: Client, session_factory: sessionmaker[Session], zoo: Cluster
) -> None:
    """Every row of the shared tables (``tests/truth_table.py``) through ``client.executions.list``."""
    history = load_history(session_factory)

    def lister(cluster_id: str) -> Lister:
        def list_runs(body: dict[str, Any]) -> list[str]:
            page = client.executions.list(
                cluster_id,
                filters=body.get("filters"),
                sort=body.get("sort"),
                search=body.get("search"),
                page_size=100,
            )
            assert page.total_count == len(page.results)
            return [run.run_id for run in page.results]

        return list_runs

    failures = mismatches(lister(history.cluster_id)) + zoo_mismatches(lister(zoo.cluster_id))
    assert not failures, "\n".join(failures)


def test_shared_group_table_through_the_sdk(client: Client, session_factory: sessionmaker[Session]) -> None:
    """Every ``group_by`` row of the shared table through ``client.executions.list``."""
    history = load_history(session_factory)

    def group_runs(body: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
        page = client.executions.list(
            history.cluster_id, filters=body.get("filters"), stats_scope="all", group_by=body["group_by"]
        )
        return [(g.key, g.stats.model_dump()) for g in page.groups or []]

    failures = group_mismatches(group_runs)
    assert not failures, "\n".join(failures)


def test_config_builder_selects_what_the_raw_fields_select(
    client: Client, session_factory: sessionmaker[Session]
) -> None:
    """``F.config``/``F.param`` name the ``config.*`` fields of the shared history (``CONFIGS``)."""
    history = load_history(session_factory)

    def letters(filters: Any) -> str:
        page = client.executions.list(history.cluster_id, filters=filters, page_size=100)
        return "".join(sorted(run.run_id.removeprefix("run_") for run in page.results))

    assert letters(F.param("n_clusters") >= 5) == letters({"config.params.n_clusters": {"gte": 5}}) == "cef"
    assert letters((F.config("embedder") == "hashing") | (F.config("params.eps") < 1)) == "cg"
    assert letters(F.config("config.random_state").in_([7, 42]) & ~F.param("init").exists()) == "b"
    try:
        F.config("paramz.n_clusters")
    except ValueError as exc:
        assert "config.params.<name>" in str(exc)
    else:
        raise AssertionError("an undeclared config field must raise")


def test_group_by_and_percentiles_through_the_sdk(client: Client, session_factory: sessionmaker[Session]) -> None:
    """The SDK sends group_by and percentiles and reads the separate members back (HISTORY, CONFIGS)."""
    history = load_history(session_factory)
    page = client.executions.list(
        history.cluster_id,
        stats_scope="all",
        group_by="config.params.n_clusters",
        percentiles=[50],
        filters=F.param("n_clusters").exists(),
    )
    assert page.groups is not None and [g.key for g in page.groups] == [3, 4, 5, 8, 12]
    assert sum(g.stats.total_executions for g in page.groups) == page.stats.total_executions == 5
    assert page.percentiles is not None
    assert page.percentiles["execution_time_ms"]["50"] == 2000.0  # a 2000, c 1000, h 10000 (e, f unfinished)
