"""The SDK-style methods of the wire models: from_json / to_json / to_dict / from_dict.

The contract (seed) shows ``ListClusterExecutionsResponse.from_json(json)``, ``.to_json()``,
``.to_dict()`` and ``.from_dict(d)``. Round trips must be exact for what the server produces;
``to_dict`` leaves out optional fields that were never set and keeps explicit nulls.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from clusterbook.models import (
    ClusterExecutionCentroid,
    ClusterExecutionListStats,
    ClusterExecutionMetrics,
    ClusterExecutionResult,
    ListClusterExecutionsRequest,
    ListClusterExecutionsResponse,
    PaginationResponse,
)

BASE_URL = "http://127.0.0.1:8000/v1/clusters/clust_4kQ9x2LmN8pR7tZ1vB3c/executions/list"

# What the server answers for page 1 of a 23-run history with page_size=2: every result field is
# present (nulls included), timestamps are UTC with a "Z", and the pagination links are absolute.
SERVER_JSON = json.dumps(
    {
        "results": [
            {
                "run_id": "run_8Fh2kLm9QpZx4Rt7Wv1A",
                "cluster_id": "clust_4kQ9x2LmN8pR7tZ1vB3c",
                "status": "completed",
                "num_clusters": 2,
                "num_points": 1284,
                "created_at": "2026-02-11T09:30:00.125000Z",
                "metrics": {
                    "silhouette_score": 0.71,
                    "davies_bouldin_index": 0.48,
                    "calinski_harabasz_score": 1532.9,
                },
                "centroids": [
                    {
                        "cluster_id": "cl_0",
                        "num_members": 802,
                        "label": "Billing questions",
                        "summary": "Invoices, refunds and failed card payments.",
                        "keywords": ["invoice", "refund", "card"],
                    },
                    {
                        "cluster_id": "cl_1",
                        "num_members": 482,
                        "label": "Login trouble",
                        "summary": None,
                        "keywords": None,
                    },
                ],
                "completed_at": "2026-02-11T09:30:04.625000Z",
                "error_message": None,
                "llm_labeling_errors": None,
                "run_name": "nightly",
                "algorithm": "kmeans",
                "started_at": "2026-02-11T09:30:00.500000Z",
                "duration_ms": 4500.0,
                "error_traceback": None,
            },
            {
                "run_id": "run_2Bc7dE9fGh1JkL3mNp5Q",
                "cluster_id": "clust_4kQ9x2LmN8pR7tZ1vB3c",
                "status": "failed",
                "num_clusters": 0,
                "num_points": 0,
                "created_at": "2026-02-10T23:00:00Z",
                "metrics": None,
                "centroids": None,
                "completed_at": "2026-02-10T23:00:01.250000Z",
                "error_message": "Embedding service timed out after 30s",
                "llm_labeling_errors": ["cl_3: rate limited"],
                "run_name": None,
                "algorithm": "hdbscan",
                "started_at": None,
                "duration_ms": 1250.0,
                "error_traceback": None,
            },
        ],
        "pagination": {
            "total": 23,
            "page": 1,
            "page_size": 2,
            "total_pages": 12,
            "next_page": f"{BASE_URL}?page_size=2&page=2",
            "previous_page": None,
            "next_cursor": "eyJxIjoiYWJjIiwiayI6WyIyMDI2LTAyLTEwVDIzOjAwOjAwKzAwOjAwIiwicnVuXzIiXX0.c2lnbmF0dXJl",
        },
        "total_count": 23,
        "stats": {
            "total_executions": 2,
            "executions_by_status": {"completed": 1, "failed": 1},
            "avg_execution_time_ms": 2875.0,
            "total_documents_clustered": 1284,
            "avg_num_clusters": 1.0,
        },
    }
)


def minimal_result(**extra: Any) -> ClusterExecutionResult:
    fields: dict[str, Any] = {
        "run_id": "run_a",
        "cluster_id": "clust_a",
        "status": "pending",
        "num_clusters": 0,
        "num_points": 0,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        **extra,
    }
    return ClusterExecutionResult(**fields)


# ---------------------------------------------------------------- the listing response


def test_response_from_server_json_round_trips_exactly() -> None:
    response = ListClusterExecutionsResponse.from_json(SERVER_JSON)
    assert response is not None
    assert response.to_dict() == json.loads(SERVER_JSON)
    assert json.loads(response.to_json()) == json.loads(SERVER_JSON)
    again = ListClusterExecutionsResponse.from_dict(response.to_dict())
    assert again == response
    assert again is not None and again.to_json() == response.to_json()


def test_response_fields_are_typed() -> None:
    response = ListClusterExecutionsResponse.from_json(SERVER_JSON)
    assert response is not None
    first, second = response.results
    assert isinstance(first, ClusterExecutionResult)
    assert first.status == "completed"
    assert first.created_at == datetime(2026, 2, 11, 9, 30, 0, 125000, tzinfo=UTC)
    assert first.created_at.utcoffset() == timedelta(0)
    assert isinstance(first.metrics, ClusterExecutionMetrics)
    assert first.metrics.silhouette_score == 0.71
    assert first.centroids is not None and isinstance(first.centroids[0], ClusterExecutionCentroid)
    assert first.centroids[0].keywords == ["invoice", "refund", "card"]
    assert first.centroids[1].summary is None
    assert second.metrics is None and second.centroids is None
    assert second.error_message == "Embedding service timed out after 30s"
    assert isinstance(response.pagination, PaginationResponse)
    assert response.pagination.total_pages == 12 and response.pagination.previous_page is None
    assert isinstance(response.stats, ClusterExecutionListStats)
    assert response.stats.executions_by_status == {"completed": 1, "failed": 1}
    assert response.total_count == response.pagination.total == 23


def test_stats_are_optional_and_an_explicit_null_survives() -> None:
    document = json.loads(SERVER_JSON)
    document["stats"] = None
    with_null = ListClusterExecutionsResponse.from_dict(document)
    assert with_null is not None and with_null.stats is None
    assert with_null.to_dict() == document

    del document["stats"]
    absent = ListClusterExecutionsResponse.from_dict(document)
    assert absent is not None and absent.stats is None
    assert "stats" not in absent.to_dict()
    assert absent.to_dict() == document


def test_empty_page_round_trips() -> None:
    document = {
        "results": [],
        "pagination": {
            "total": 0,
            "page": 3,
            "page_size": 10,
            "total_pages": 0,
            "next_page": None,
            "previous_page": f"{BASE_URL}?page=2",
            "next_cursor": None,
        },
        "total_count": 0,
        "stats": {
            "total_executions": 0,
            "executions_by_status": {},
            "avg_execution_time_ms": 0.0,
            "total_documents_clustered": 0,
            "avg_num_clusters": 0.0,
        },
    }
    response = ListClusterExecutionsResponse.from_dict(copy.deepcopy(document))
    assert response is not None
    assert response.to_dict() == document
    assert ListClusterExecutionsResponse.from_json(response.to_json()) == response


def test_missing_required_fields_are_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        ListClusterExecutionsResponse.from_json("{}")
    missing = {error["loc"][0] for error in caught.value.errors()}
    assert missing == {"results", "pagination", "total_count"}


def test_none_in_none_out() -> None:
    assert ListClusterExecutionsResponse.from_dict(None) is None
    assert ClusterExecutionResult.from_json("null") is None


def test_a_wrongly_typed_field_is_rejected() -> None:
    document = json.loads(SERVER_JSON)
    document["results"][0]["status"] = "finished"
    with pytest.raises(ValidationError):
        ListClusterExecutionsResponse.from_dict(document)
    document["results"][0]["status"] = "completed"
    document["results"][0]["num_points"] = "many"
    with pytest.raises(ValidationError):
        ListClusterExecutionsResponse.from_dict(document)


# ---------------------------------------------------------------- unset vs explicit null


def test_to_dict_omits_unset_optional_fields() -> None:
    assert minimal_result().to_dict() == {
        "run_id": "run_a",
        "cluster_id": "clust_a",
        "status": "pending",
        "num_clusters": 0,
        "num_points": 0,
        "created_at": "2026-01-01T00:00:00Z",
    }
    assert ClusterExecutionMetrics(silhouette_score=0.5).to_dict() == {"silhouette_score": 0.5}
    assert ClusterExecutionCentroid(cluster_id="cl_0", num_members=3).to_dict() == {
        "cluster_id": "cl_0",
        "num_members": 3,
    }


def test_to_dict_keeps_explicit_nulls() -> None:
    result = minimal_result(metrics=None, completed_at=None, error_message=None)
    assert result.to_dict() == {
        **minimal_result().to_dict(),
        "metrics": None,
        "completed_at": None,
        "error_message": None,
    }
    metrics = ClusterExecutionMetrics(silhouette_score=None, davies_bouldin_index=1.5)
    assert metrics.to_dict() == {"silhouette_score": None, "davies_bouldin_index": 1.5}


@pytest.mark.parametrize(
    "document",
    [
        {"silhouette_score": 0.1},
        {"silhouette_score": None, "calinski_harabasz_score": 12.5},
        {},
    ],
)
def test_from_dict_to_dict_is_exact_for_partial_documents(document: dict[str, Any]) -> None:
    model = ClusterExecutionMetrics.from_dict(document)
    assert model is not None and model.to_dict() == document


def test_round_trip_of_a_full_result() -> None:
    document = json.loads(SERVER_JSON)["results"][0]
    result = ClusterExecutionResult.from_dict(document)
    assert result is not None
    assert result.to_dict() == document
    assert ClusterExecutionResult.from_json(result.to_json()) == result
    assert json.loads(result.to_str()) == document


# ---------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00Z"),
        (datetime(2026, 1, 1, 8, 5, 3, 7, tzinfo=UTC), "2026-01-01T08:05:03.000007Z"),
        (datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=2))), "2026-01-01T09:00:00+02:00"),
    ],
)
def test_datetimes_serialise_as_iso_8601_with_a_zone(moment: datetime, text: str) -> None:
    result = minimal_result(created_at=moment, completed_at=moment)
    assert result.to_dict()["created_at"] == text
    assert json.loads(result.to_json())["completed_at"] == text
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None and parsed == moment
    back = ClusterExecutionResult.from_json(result.to_json())
    assert back is not None and back.created_at == moment and back.created_at.utcoffset() == moment.utcoffset()


def test_datetime_strings_with_offsets_parse_to_the_same_instant() -> None:
    a = ClusterExecutionResult.from_dict({**minimal_result().to_dict(), "created_at": "2026-01-01T00:00:00Z"})
    b = ClusterExecutionResult.from_dict({**minimal_result().to_dict(), "created_at": "2025-12-31T19:00:00-05:00"})
    assert a is not None and b is not None
    assert a.created_at == b.created_at


# ---------------------------------------------------------------- the request body


def test_request_round_trips_and_defaults_stay_out() -> None:
    document = {
        "filters": {"operator": "AND", "conditions": [{"field": "status", "operator": "eq", "value": "completed"}]},
        "sort": {"field": "metrics.silhouette_score", "direction": "asc"},
        "search": "billing refund",
        "stats_scope": "all",
    }
    request = ListClusterExecutionsRequest.from_dict(document)
    assert request is not None
    assert request.to_dict() == document
    assert ListClusterExecutionsRequest.from_json(request.to_json()) == request
    assert ListClusterExecutionsRequest.from_dict({}).to_dict() == {}  # type: ignore[union-attr]


def test_request_normalises_direction_and_splits_search() -> None:
    request = ListClusterExecutionsRequest.from_dict(
        {"sort": {"field": "created_at", "direction": "ASC"}, "search": " Bill  Refund "}
    )
    assert request is not None
    assert request.sort is not None and request.sort.direction == "asc"
    assert request.search_terms() == ["bill", "refund"]
    assert request.to_dict()["sort"] == {"field": "created_at", "direction": "asc"}


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"filter": {}}, "accepted keys: filters, sort, search, stats_scope"),
        ({"sort": {"field": "created_at", "direction": "sideways"}}, "direction"),
        ({"sort": {"field": "created_at", "order": "asc"}}, "order"),
        ({"search": "a\x00b"}, "NUL"),
        ({"search": "x" * 501}, "500"),
        ({"stats_scope": "everything"}, "stats_scope"),
    ],
)
def test_request_rejects_bad_bodies(document: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ListClusterExecutionsRequest.from_dict(document)
    assert fragment in str(caught.value)


def test_a_timestamp_without_zone_is_read_as_utc_and_written_with_one() -> None:
    result = ClusterExecutionResult.from_dict({**minimal_result().to_dict(), "created_at": "2026-01-01T00:00:00"})
    assert result is not None
    assert result.created_at.utcoffset() == timedelta(0)
    assert result.to_dict()["created_at"] == "2026-01-01T00:00:00Z"
