"""Input that once broke stored data for good: metadata nested too deep or too big to read back, lone
UTF-16 surrogates anywhere text enters, and non-ASCII cursors. Each is refused with a clear 4xx before
anything is written, and the collection keeps answering, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from clusterbook.models.storable import MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEY_LENGTH
from tests.api.helpers import assert_invalid, assert_problem
from tests.factories import make_cluster, make_history

SURROGATE = "\\ud800"
"""A lone surrogate as JSON spells it; Python's json.dumps writes it the same way."""


def raw_post(http: httpx.Client, path: str, raw: str, method: str = "POST") -> httpx.Response:
    """Send JSON text exactly as written (json= would refuse to encode a lone surrogate)."""
    return http.request(method, path, content=raw.encode(), headers={"content-type": "application/json"})


def nested(levels: int) -> dict[str, Any]:
    """Metadata of exactly ``levels`` nested objects (the metadata object itself is the first)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def upsert(http: httpx.Client, *documents: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/collections/docs/documents", json={"documents": list(documents)})


def stored_ids(http: httpx.Client) -> list[str]:
    listing = http.post("/v1/collections/docs/documents/list", json={}, params={"page_size": 100})
    assert listing.status_code == 200, listing.text
    return sorted(d["document_id"] for d in listing.json()["results"])


@pytest.fixture
def collection(http):
    response = http.post("/v1/collections", json={"collection_name": "docs"})
    assert response.status_code == 201, response.text
    return response.json()


# --------------------------------------------------------------------------- metadata bounds


def test_metadata_at_the_depth_bound_is_stored_and_read_back(http, collection):
    deepest = nested(MAX_METADATA_DEPTH)
    assert upsert(http, {"document_id": "deep", "text": "t", "metadata": deepest}).status_code == 200
    one = http.get("/v1/collections/docs/documents/deep")
    assert one.status_code == 200, one.text
    assert one.json()["metadata"] == deepest
    assert stored_ids(http) == ["deep"]


def test_metadata_one_level_too_deep_is_refused_naming_the_document_and_the_bound(http, collection):
    good = {"document_id": "ok", "text": "t"}
    response = upsert(http, good, {"document_id": "deep", "text": "t", "metadata": nested(MAX_METADATA_DEPTH + 1)})
    assert_invalid(response, "documents[1].metadata", f"nested at most {MAX_METADATA_DEPTH} levels")
    assert stored_ids(http) == []  # nothing of the batch was written


def test_arrays_count_as_levels_of_nesting(http, collection):
    value: Any = 1
    for _ in range(MAX_METADATA_DEPTH):
        value = [value]
    response = upsert(http, {"document_id": "a", "text": "t", "metadata": {"list": value}})
    assert_invalid(response, "documents[0].metadata", f"nested at most {MAX_METADATA_DEPTH} levels")
    assert upsert(http, {"document_id": "a", "text": "t", "metadata": {"list": value[0]}}).status_code == 200


def test_metadata_hundreds_deep_is_a_422_and_the_collection_keeps_answering(http, collection):
    raw = '{"documents": [{"document_id": "d", "text": "t", "metadata": ' + '{"a": ' * 256 + "1" + "}" * 257 + "]}"
    response = raw_post(http, "/v1/collections/docs/documents", raw)
    assert_invalid(response, "documents[0].metadata", f"nested at most {MAX_METADATA_DEPTH} levels")
    assert http.get("/v1/collections/docs/documents/d").status_code == 404
    assert stored_ids(http) == []


def metadata_of_size(size: int) -> dict[str, str]:
    """Metadata whose compact UTF-8 JSON is exactly ``size`` bytes, with multi-byte characters in it."""
    base = {"note": "é"}  # {"note":"é"} is 13 bytes; each further "x" adds one
    metadata = {"note": "é" + "x" * (size - len(json.dumps(base, ensure_ascii=False, separators=(",", ":")).encode()))}
    assert len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode()) == size
    return metadata


def test_metadata_size_is_bounded_exactly(http, collection):
    at_bound = metadata_of_size(MAX_METADATA_BYTES)
    assert upsert(http, {"document_id": "big", "text": "t", "metadata": at_bound}).status_code == 200
    assert http.get("/v1/collections/docs/documents/big").json()["metadata"] == at_bound
    over = metadata_of_size(MAX_METADATA_BYTES + 1)
    response = upsert(http, {"document_id": "bigger", "text": "t", "metadata": over})
    assert_invalid(response, "documents[0].metadata", f"at most {MAX_METADATA_BYTES} bytes")
    assert stored_ids(http) == ["big"]


def test_metadata_key_length_is_bounded_exactly(http, collection):
    at_bound = {"outer": {"k" * MAX_METADATA_KEY_LENGTH: 1}}
    assert upsert(http, {"document_id": "keys", "text": "t", "metadata": at_bound}).status_code == 200
    assert http.get("/v1/collections/docs/documents/keys").json()["metadata"] == at_bound
    over = {"outer": {"k" * (MAX_METADATA_KEY_LENGTH + 1): 1}}
    response = upsert(http, {"document_id": "keys2", "text": "t", "metadata": over})
    assert_invalid(response, "documents[0].metadata", f"at most {MAX_METADATA_KEY_LENGTH} characters")
    assert stored_ids(http) == ["keys"]


# --------------------------------------------------------------------------- lone surrogates


DOCUMENT_BODIES = {
    "text": '{"documents": [{"document_id": "ok", "text": "fine"}, {"document_id": "d", "text": "a%sb"}]}',
    "document_id": '{"documents": [{"document_id": "ok", "text": "fine"}, {"document_id": "d%s", "text": "t"}]}',
    "metadata value": '{"documents": [{"document_id": "ok", "text": "fine"}, '
    '{"document_id": "d", "text": "t", "metadata": {"tag": ["x", "%s"]}}]}',
    "metadata key": '{"documents": [{"document_id": "ok", "text": "fine"}, '
    '{"document_id": "d", "text": "t", "metadata": {"nested": {"k%s": 1}}}]}',
}


@pytest.mark.parametrize("where", list(DOCUMENT_BODIES))
def test_a_lone_surrogate_in_a_document_is_refused_and_nothing_is_written(http, collection, where):
    response = raw_post(http, "/v1/collections/docs/documents", DOCUMENT_BODIES[where] % SURROGATE)
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["loc"].startswith("documents[1]"), body
    assert "surrogate" in body["detail"], body
    assert stored_ids(http) == []
    assert http.post("/v1/collections/list", json={}).status_code == 200


def test_low_surrogates_and_reversed_pairs_are_refused_but_real_astral_characters_are_kept(http, collection):
    for text in ("\\udfff", "\\udc00\\ud800"):
        raw = '{"documents": [{"document_id": "d", "text": "' + text + '"}]}'
        assert_problem(raw_post(http, "/v1/collections/docs/documents", raw), 422, "validation_error")
    paired = '{"documents": [{"document_id": "d", "text": "\\ud83d\\ude00", "metadata": {"\\ud83d\\ude00": "é"}}]}'
    assert raw_post(http, "/v1/collections/docs/documents", paired).status_code == 200
    stored = http.get("/v1/collections/docs/documents/d").json()
    assert stored["text"] == "\N{GRINNING FACE}" and stored["metadata"] == {"\N{GRINNING FACE}": "é"}


def listing_paths(http: httpx.Client, session_factory) -> dict[str, str]:
    """Every listing route, with the objects it needs."""
    cluster = make_cluster(session_factory)
    run_id = make_history(session_factory, cluster, 2)[0]
    return {
        "executions": f"/v1/clusters/{cluster.cluster_id}/executions/list",
        "clusters": "/v1/clusters/list",
        "collections": "/v1/collections/list",
        "documents": "/v1/collections/docs/documents/list",
        "members": f"/v1/clusters/{cluster.cluster_id}/executions/{run_id}/members/list",
        "trends": f"/v1/clusters/{cluster.cluster_id}/executions/trends",
    }


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"filters": {"metadata.tag": "%s"}}', "invalid_filter"),
        ('{"filters": {"operator": "OR", "conditions": [{"field": "x%s", "operator": "eq", "value": 1}]}}',
         "invalid_filter"),
        ('{"filters": {"document_id": {"in": ["a", "b%s"]}}}', "invalid_filter"),
        ('{"search": "refund %s"}', "validation_error"),
        ('{"sort": {"field": "created_at%s"}}', "validation_error"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_in_a_listing_request_is_a_422_on_every_listing(http, session_factory, collection, body, code):
    for name, path in listing_paths(http, session_factory).items():
        if name == "trends" and "sort" in body:
            continue  # the trends request has no sort
        response = raw_post(http, path, body % SURROGATE)
        problem = assert_problem(response, 422, code)
        assert "surrogate" in problem["detail"], (name, problem)


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/v1/collections", '{"collection_name": "c%s"}'),
        ("POST", "/v1/collections", '{"collection_name": "c", "description": "%s"}'),
        ("POST", "/v1/clusters", '{"cluster_name": "n%s"}'),
        ("POST", "/v1/clusters", '{"cluster_name": "n", "description": "%s"}'),
        ("POST", "/v1/clusters", '{"cluster_name": "n", "vector_config": {"algorithm_params": {"k%s": 1}}}'),
        ("POST", "/v1/clusters", '{"cluster_name": "n", "filters": {"metadata.tag": "%s"}}'),
        ("POST", "/v1/clusters", '{"cluster_name": "n", "collection_ids": ["%s"]}'),
        ("POST", "/v1/namespaces", '{"namespace_name": "team%s"}'),
        ("POST", "/v1/collections/docs/documents/delete", '{"document_ids": ["%s"]}'),
        ("POST", "/v1/clusters/overview", '{"cluster_ids": ["%s"]}'),
    ],
)
def test_a_lone_surrogate_in_any_other_body_is_a_422_and_nothing_is_created(http, collection, method, path, raw):
    response = raw_post(http, path, raw % SURROGATE, method)
    problem = assert_problem(response, 422, "validation_error")
    assert "surrogate" in problem["detail"], problem
    assert http.post("/v1/clusters/list", json={}).json()["total_count"] == 0
    assert http.post("/v1/collections/list", json={}).json()["total_count"] == 1
    assert http.get("/v1/namespaces").status_code == 200


def test_a_lone_surrogate_in_a_cluster_update_or_an_execute_body_changes_nothing(http, session_factory):
    cluster = make_cluster(session_factory, description="before")
    path = f"/v1/clusters/{cluster.cluster_id}"
    for raw in ('{"description": "%s"}', '{"filters": {"tag": "%s"}}', '{"cluster_name": "x%s"}'):
        assert_problem(raw_post(http, path, raw % SURROGATE, "PATCH"), 422, "validation_error")
    for raw in ('{"run_name": "r%s"}', '{"algorithm_params": {"n_clusters": "%s"}}'):
        assert_problem(raw_post(http, f"{path}/execute", raw % SURROGATE), 422, "validation_error")
    assert http.get(path).json()["description"] == "before"
    assert http.post(f"{path}/executions/list", json={}).json()["total_count"] == 0


def test_surrogate_bytes_in_a_path_id_are_simply_not_found(http, collection):
    # CESU-8 bytes of U+D800: not UTF-8, so they can never name a stored document or collection.
    for path in ("/v1/collections/docs/documents/a%ED%A0%80", "/v1/collections/c%ED%A0%80", "/v1/clusters/c%ED%A0%80"):
        assert_problem(http.get(path), 404, "not_found")


# --------------------------------------------------------------------------- cursors


@pytest.mark.parametrize("cursor", [".%C3%A9", "%C3%A9.%C3%A9", "eyJxIjoxfQ.%E2%9C%93", "%F0%9F%98%80"])
def test_a_non_ascii_cursor_is_invalid_cursor_on_every_listing_route(http, session_factory, collection, cursor):
    paths = listing_paths(http, session_factory)
    del paths["trends"]  # not paginated
    for name, path in paths.items():
        response = http.post(f"{path}?cursor={cursor}", json={})
        problem = assert_problem(response, 400, "invalid_cursor")
        assert "cursor" in problem["detail"], (name, problem)
    assert http.post(paths["documents"], json={}).status_code == 200  # the connection and the server live on
