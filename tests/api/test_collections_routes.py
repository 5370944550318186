"""Collections and documents over real HTTP on SQLite and PostgreSQL: every route, its 404/409/422/413
answers and their messages, all-or-nothing uploads, and the X-Namespace boundary."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from clusterbook.settings import Settings
from tests.api.helpers import assert_invalid, assert_problem

UPLOAD_LIMIT = 3_000_000


@pytest.fixture
def server_settings(db_url: str) -> Settings:
    """A small upload limit, so the 413 paths are cheap to reach."""
    return Settings(database_url=db_url, secret_key="test-signing-key", max_upload_bytes=UPLOAD_LIMIT)


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def upload(http, collection: str, documents: list[dict[str, Any]], **kwargs: Any):
    return http.post(f"/v1/collections/{collection}/documents", json={"documents": documents}, **kwargs)


def doc_ids(body: dict[str, Any]) -> list[str]:
    return [d["document_id"] for d in body["results"]]


def count(http, collection: str, **kwargs: Any) -> int:
    return int(ok(http.get(f"/v1/collections/{collection}", **kwargs))["document_count"])


# ---------------------------------------------------------------- collections


def test_create_read_and_list_collections(http):
    created = ok(http.post("/v1/collections", json={"collection_name": "news", "description": "Wire stories"}), 201)
    assert re.fullmatch(r"col_[A-Za-z0-9]{20}", created["collection_id"])
    assert created["collection_name"] == "news" and created["namespace_id"] == "ns_default"
    assert (created["vector_dimension"], created["document_count"]) == (None, 0)
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    assert ok(http.get(f"/v1/collections/{created['collection_id']}")) == created
    assert ok(http.get("/v1/collections/news")) == created
    for i in range(3):
        ok(http.post("/v1/collections", json={"collection_name": f"extra-{i}"}), 201)
    page = ok(http.post("/v1/collections/list", json={}, params={"page_size": 2}))
    assert set(page) >= {"results", "pagination", "total_count"} and page["total_count"] == 4
    assert [c["collection_name"] for c in page["results"]] == ["extra-2", "extra-1"]
    rest = ok(http.post("/v1/collections/list", json={}, params={"cursor": page["pagination"]["next_cursor"]}))
    assert [c["collection_name"] for c in rest["results"]] == ["extra-0", "news"]
    found = ok(http.post("/v1/collections/list", json={"search": "WIRE"}))
    assert [c["collection_name"] for c in found["results"]] == ["news"]
    by_name = ok(http.post("/v1/collections/list", json={"filters": {"collection_name": {"starts_with": "extra"}},
                                                          "sort": {"field": "collection_name", "direction": "asc"}}))  # fmt: skip
    assert [c["collection_name"] for c in by_name["results"]] == ["extra-0", "extra-1", "extra-2"]
    assert ok(http.post("/v1/collections/list"))["total_count"] == 4  # the body is optional
    assert_invalid(http.post("/v1/collections/list", json={"sort": {"field": "document_count"}}), "sort.field")


def test_create_collection_problems(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    dupe = assert_problem(http.post("/v1/collections", json={"collection_name": "news"}), 409, "conflict")
    assert "'news' already exists" in dupe["detail"] and "choose another collection_name" in dupe["detail"]
    assert_invalid(http.post("/v1/collections", json={}), "collection_name", code="validation_error")
    assert_invalid(http.post("/v1/collections", json={"collection_name": "a/b"}), "collection_name")
    assert_invalid(http.post("/v1/collections", json={"collection_name": "col_x"}), "collection_name", "'col_'")
    assert_invalid(
        http.post("/v1/collections", json={"collection_name": "x", "size": 3}),
        "body", "unknown request body key 'size'", "accepted keys: collection_name, description",
    )  # fmt: skip
    assert_invalid(http.post("/v1/collections", json={"collection_name": "x", "description": "a\x00"}), "body", "NUL")
    missing = assert_problem(http.get("/v1/collections/ghost"), 404, "not_found")
    assert "collection 'ghost' not found" in missing["detail"] and "POST /v1/collections" in missing["detail"]
    assert_problem(http.get("/v1/collections/x%00"), 404, "not_found")
    assert ok(http.post("/v1/collections/list", json={}))["total_count"] == 1


def test_delete_collection_is_refused_while_a_cluster_uses_it(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    ok(upload(http, "news", [{"document_id": "a", "text": "x"}]))
    cluster = ok(http.post("/v1/clusters", json={"cluster_name": "topics", "collection_ids": ["news"]}), 201)
    refused = assert_problem(http.delete("/v1/collections/news"), 409, "conflict")
    assert "'news' is used by cluster 'topics'" in refused["detail"]
    assert "collection_ids" in refused["detail"] and "PATCH /v1/clusters" in refused["detail"]
    assert count(http, "news") == 1
    ok(http.patch(f"/v1/clusters/{cluster['cluster_id']}", json={"collection_ids": []}))
    response = http.delete("/v1/collections/news")
    assert response.status_code == 204 and response.content == b""
    assert_problem(http.get("/v1/collections/news"), 404)
    assert_problem(http.delete("/v1/collections/news"), 404)
    assert_problem(upload(http, "news", [{"document_id": "a", "text": "x"}]), 404)
    again = ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)  # the name is free again
    assert again["document_count"] == 0


# ---------------------------------------------------------------- documents


def test_upsert_creates_then_updates(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    docs = [{"document_id": f"d{i}", "text": f"story {i}", "metadata": {"year": 2020 + i}, "vector": [i, 1.5, -2]}
            for i in range(3)]  # fmt: skip
    first = ok(upload(http, "news", docs))
    assert (first["upserted"], first["created"], first["updated"]) == (3, 3, 0)
    assert first["collection"]["vector_dimension"] == 3 and first["collection"]["document_count"] == 3
    second = ok(upload(http, "news", [{"document_id": "d0", "text": "rewritten"}, {"document_id": "d9", "text": "x"}]))
    assert (second["upserted"], second["created"], second["updated"]) == (2, 1, 1)
    d0 = ok(http.get("/v1/collections/news/documents/d0", params={"include_vectors": True}))
    assert d0["text"] == "rewritten" and d0["metadata"] == {} and d0["vector"] is None  # replaced whole
    d1 = ok(http.get("/v1/collections/news/documents/d1"))
    assert set(d1) == {"document_id", "text", "metadata", "created_at", "updated_at"}  # no vector unless asked
    assert d1["metadata"] == {"year": 2021}
    with_vector = ok(http.get("/v1/collections/news/documents/d1", params={"include_vectors": "true"}))
    assert with_vector["vector"] == [1.0, 1.5, -2.0]


def test_vectors_come_back_as_their_float32_values(http):
    ok(http.post("/v1/collections", json={"collection_name": "v"}), 201)
    sent = [0.1, 1 / 3, 1e-30, -123456.789, 3.4e38]
    ok(upload(http, "v", [{"document_id": "a", "vector": sent}]))
    got = ok(http.get("/v1/collections/v/documents/a", params={"include_vectors": True}))["vector"]
    import numpy as np

    assert got == [float(np.float32(x)) for x in sent]
    assert all(math.isclose(g, s, rel_tol=1e-7) for g, s in zip(got, sent, strict=True))


def test_upload_validation_names_the_document_and_writes_nothing(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    ok(upload(http, "news", [{"document_id": "seed", "vector": [0.0] * 4}]))
    good = {"document_id": "good", "text": "fine"}
    cases = [
        ({"document_id": "x"}, "documents[1]", "needs text or a vector"),
        ({"document_id": "x", "text": "t", "colour": "red"}, "documents[1]", "accepted keys: document_id, text, metadata, vector"),
        ({"document_id": "", "text": "t"}, "documents[1].document_id", "at least 1"),
        ({"document_id": "x" * 257, "text": "t"}, "documents[1].document_id", "at most 256"),
        ({"document_id": "a\x00b", "text": "t"}, "documents[1].document_id", "NUL"),
        ({"document_id": "x", "text": "a\x00b"}, "documents[1].text", "NUL"),
        ({"document_id": "x", "text": "t", "metadata": {"k": "a\x00"}}, "documents[1].metadata", "NUL"),
        ({"document_id": "x", "text": "t", "metadata": [1, 2]}, "documents[1].metadata", "dictionary"),
        ({"document_id": "x", "vector": []}, "documents[1].vector", "at least 1"),
        ({"document_id": "x", "vector": [0.0] * 4097}, "documents[1].vector", "at most 4096"),
        ({"document_id": "x", "vector": [1, "2", 3, 4]}, "documents[1].vector[1]", "valid number"),
        ({"document_id": "x", "vector": [1, True, 3, 4]}, "documents[1].vector[1]", "valid number"),
        ({"document_id": "x", "vector": "1,2,3,4"}, "documents[1].vector", "list"),
        ({"document_id": "x", "vector": [1.0, 2.0]}, "documents[1].vector",
         "has dimension 2 but collection 'news' holds 4-dimensional vectors"),
        ({"document_id": "good", "text": "again"}, "documents[1].document_id", "repeats documents[0].document_id"),
    ]  # fmt: skip
    for bad, loc, fragment in cases:
        response = upload(http, "news", [good, bad])
        body = assert_invalid(response, loc, fragment, sent=json.dumps(bad))
        assert loc in body["detail"], body["detail"]
    assert count(http, "news") == 1  # none of the good documents got in either
    assert_invalid(http.post("/v1/collections/news/documents", json={"documents": []}), "documents", "at least 1")
    too_many = {"documents": [{"document_id": str(i), "text": "t"} for i in range(10_001)]}
    assert_invalid(http.post("/v1/collections/news/documents", json=too_many), "documents", "at most 10000")
    assert_invalid(http.post("/v1/collections/news/documents", json={"docs": []}), "body", "accepted keys: documents")


def test_non_finite_numbers_are_refused(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    path = "/v1/collections/news/documents"
    headers = {"content-type": "application/json"}
    for body, loc in (
        ('{"documents": [{"document_id": "a", "vector": [1.0, NaN]}]}', "documents[0].vector[1]"),
        ('{"documents": [{"document_id": "a", "vector": [1e400]}]}', "documents[0].vector[0]"),
        ('{"documents": [{"document_id": "a", "text": "t", "metadata": {"x": Infinity}}]}', "documents[0].metadata"),
    ):
        response = http.post(path, content=body, headers=headers)
        assert_invalid(response, loc, "finite")
    assert count(http, "news") == 0


def test_uploads_have_their_own_size_limit(http):
    ok(http.post("/v1/collections", json={"collection_name": "big"}), 201)
    text = "x" * 1000
    fits = [{"document_id": f"d{i}", "text": text} for i in range(2000)]  # ~2 MB: above the 1 MiB body limit
    assert ok(upload(http, "big", fits))["created"] == 2000
    too_big = [{"document_id": f"d{i}", "text": text} for i in range(3200)]
    refused = assert_problem(upload(http, "big", too_big), 413, "payload_too_large")
    assert str(UPLOAD_LIMIT) in refused["detail"] and "CLUSTERBOOK_MAX_UPLOAD_BYTES" in refused["detail"]
    assert "fewer documents" in refused["detail"]
    assert count(http, "big") == 2000
    # every other route keeps the small limit, including the document listing of the same collection
    body = {"filters": {"document_id": {"in": [text] * 1100}}}
    small = assert_problem(http.post("/v1/collections/big/documents/list", json=body), 413, "payload_too_large")
    assert "1048576" in small["detail"] and "CLUSTERBOOK_MAX_BODY_BYTES" in small["detail"]


def test_list_documents_filters_sorts_searches_and_pages(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    docs = [
        {"document_id": "a", "text": "Election night", "metadata": {"year": 2024, "topic": "politics", "hot": True}},
        {"document_id": "b", "text": "Cup final", "metadata": {"year": 2023, "topic": "Sports", "hot": False}},
        {"document_id": "c", "text": "Budget vote", "metadata": {"year": "2024", "topic": "politics"}},
        {"document_id": "d", "text": "Transfer news", "metadata": {"topic": "sports", "author": {"name": "Ann"}}},
    ]
    ok(upload(http, "news", docs, params={}))

    def listed(body: dict[str, Any], **params: Any) -> list[str]:
        return doc_ids(ok(http.post("/v1/collections/news/documents/list", json=body, params=params)))

    asc = {"sort": {"field": "document_id", "direction": "asc"}}
    assert listed({"filters": {"metadata.year": {"gte": 2024}}, **asc}) == ["a"]
    assert listed({"filters": {"metadata.year": "2024"}, **asc}) == ["c"]
    assert listed({"filters": {"metadata.topic": "SPORTS"}, **asc}) == ["b", "d"]
    assert listed({"filters": {"metadata.hot": True}}) == ["a"]
    assert listed({"filters": {"metadata.year": {"exists": False}}}) == ["d"]
    assert listed({"filters": {"metadata.author.name": "ann"}}) == ["d"]
    assert listed({"filters": {"operator": "OR", "conditions": [
        {"field": "metadata.hot", "operator": "==", "value": False},
        {"field": "document_id", "operator": "eq", "value": "c"}]}, **asc}) == ["b", "c"]  # fmt: skip
    assert listed({"search": "NEWS"}) == ["d"]
    assert listed({"search": "vote budget"}) == ["c"]
    assert listed({"sort": {"field": "document_id", "direction": "desc"}}) == ["d", "c", "b", "a"]

    page = ok(http.post("/v1/collections/news/documents/list", json=asc, params={"page_size": 3}))
    assert page["total_count"] == 4 and doc_ids(page) == ["a", "b", "c"]
    assert all("vector" not in d for d in page["results"])
    rest = ok(
        http.post("/v1/collections/news/documents/list", json=asc, params={"cursor": page["pagination"]["next_cursor"]})
    )
    assert doc_ids(rest) == ["d"] and rest["pagination"]["next_cursor"] is None
    with_vectors = ok(http.post("/v1/collections/news/documents/list", json={"include_vectors": True}))
    assert all(d["vector"] is None for d in with_vectors["results"])  # asked for, none stored

    bad_key = http.post("/v1/collections/news/documents/list", json={"filters": {"metadata.a b": 1}})
    assert_invalid(bad_key, "filters.metadata.a b", "letters, digits", code="invalid_filter")
    bad_op = http.post("/v1/collections/news/documents/list", json={"filters": {"metadata.hot": {"gt": True}}})
    assert_invalid(bad_op, "filters.metadata.hot.gt", "only with eq or ne", code="invalid_filter")
    assert_invalid(
        http.post("/v1/collections/news/documents/list", json={"filters": {"year": 1}}),
        "filters.year", "accepted: created_at, updated_at, document_id, metadata.<key>",
    )  # fmt: skip
    assert_invalid(
        http.post("/v1/collections/news/documents/list", json={"sort": {"field": "metadata.year"}}),
        "sort.field", "accepted: created_at, updated_at, document_id", code="invalid_sort",
    )  # fmt: skip
    assert_invalid(http.post("/v1/collections/news/documents/list", json={"vectors": True}), "body", "include_vectors")
    assert_problem(http.post("/v1/collections/ghost/documents/list", json={}), 404)


def test_read_and_delete_single_documents(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    odd = "https://example.com/a b?c=1#frag%20"
    ok(upload(http, "news", [{"document_id": odd, "text": "url id"}, {"document_id": "plain", "text": "p"},
                             {"document_id": "list", "text": "named like a route"}]))  # fmt: skip
    assert ok(http.get(f"/v1/collections/news/documents/{quote(odd, safe='')}"))["document_id"] == odd
    assert ok(http.get("/v1/collections/news/documents/list"))["text"] == "named like a route"
    missing = assert_problem(http.get("/v1/collections/news/documents/nope"), 404, "not_found")
    assert missing["detail"] == "document 'nope' not found in collection 'news'"
    assert_problem(http.get("/v1/collections/ghost/documents/plain"), 404)
    assert_problem(http.get("/v1/collections/news/documents/a%00b"), 404)
    response = http.delete(f"/v1/collections/news/documents/{quote(odd, safe='')}")
    assert response.status_code == 204 and response.content == b""
    assert_problem(http.delete(f"/v1/collections/news/documents/{quote(odd, safe='')}"), 404)
    assert count(http, "news") == 2


def test_delete_documents_in_bulk(http):
    ok(http.post("/v1/collections", json={"collection_name": "news"}), 201)
    ok(upload(http, "news", [{"document_id": f"d{i}", "vector": [1.0, float(i)]} for i in range(5)]))
    result = ok(http.post("/v1/collections/news/documents/delete", json={"document_ids": ["d1", "d3", "d3", "zz"]}))
    assert result["deleted"] == 2 and result["collection"]["document_count"] == 3
    everything = ok(http.post("/v1/collections/news/documents/delete", json={"document_ids": ["d0", "d2", "d4"]}))
    assert everything["collection"]["document_count"] == 0
    assert everything["collection"]["vector_dimension"] is None  # the last vector went
    assert_invalid(http.post("/v1/collections/news/documents/delete", json={"document_ids": []}), "document_ids")
    assert_invalid(http.post("/v1/collections/news/documents/delete", json={"ids": ["a"]}), "body", "document_ids")


# ---------------------------------------------------------------- namespaces


def test_another_namespace_can_neither_see_nor_write_a_collection(http):
    ok(http.post("/v1/namespaces", json={"namespace_name": "team-x"}), 201)
    team = {"X-Namespace": "team-x"}
    private = ok(http.post("/v1/collections", json={"collection_name": "private"}, headers=team), 201)
    assert private["namespace_id"] != "ns_default"
    ok(upload(http, "private", [{"document_id": "secret", "text": "s"}], headers=team))
    cid = private["collection_id"]
    for ref in ("private", cid):
        assert_problem(http.get(f"/v1/collections/{ref}"), 404)
        assert_problem(upload(http, ref, [{"document_id": "intruder", "text": "x"}]), 404)
        assert_problem(http.post(f"/v1/collections/{ref}/documents/list", json={}), 404)
        assert_problem(http.get(f"/v1/collections/{ref}/documents/secret"), 404)
        assert_problem(http.delete(f"/v1/collections/{ref}/documents/secret"), 404)
        assert_problem(http.post(f"/v1/collections/{ref}/documents/delete", json={"document_ids": ["secret"]}), 404)
        assert_problem(http.delete(f"/v1/collections/{ref}"), 404)
    assert ok(http.post("/v1/collections/list", json={}))["total_count"] == 0
    assert ok(http.post("/v1/collections/list", json={}, headers=team))["total_count"] == 1
    refused = http.post("/v1/clusters", json={"cluster_name": "spy", "collection_ids": [cid]})
    assert_invalid(refused, "collection_ids[0]", cid)
    assert count(http, "private", headers=team) == 1
    assert ok(http.get("/v1/collections/private/documents/secret", headers=team))["text"] == "s"
    # the same name is free in the default namespace
    ok(http.post("/v1/collections", json={"collection_name": "private"}), 201)
    assert_problem(http.post("/v1/collections", json={"collection_name": "x"}, headers={"X-Namespace": "ghost"}), 404)


def test_the_routes_are_in_the_openapi_schema(http):
    paths = ok(http.get("/openapi.json"))["paths"]
    expected = {
        "/v1/collections": {"post"},
        "/v1/collections/list": {"post"},
        "/v1/collections/{collection_id}": {"get", "delete"},
        "/v1/collections/{collection_id}/documents": {"post"},
        "/v1/collections/{collection_id}/documents/list": {"post"},
        "/v1/collections/{collection_id}/documents/delete": {"post"},
        "/v1/collections/{collection_id}/documents/{document_id}": {"get", "delete"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
