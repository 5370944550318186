"""The catalogue of hostile input: one table, each request with the answer it must get, on SQLite and
PostgreSQL. Every error is the one problem-details shape (``assert_problem``: application/problem+json,
a stable code, no stack trace, no SQL).

Kept elsewhere, not repeated here: malformed JSON variants, wrong JSON types, unknown body keys,
bad ``page``/``offset``/``limit`` values, garbage cursors and SQL-looking sort/filter fields
(``test_bad_input.py``); NUL in path ids and in cluster bodies, NaN/Infinity, value floods, Unicode
case folding (``test_hostile_input.py``). The schemathesis fuzz covers every operation
(``test_schema_fuzz.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_problem, ids, list_path
from tests.factories import BASE_TIME, make_cluster, make_runs

Context = dict[str, Any]


def run(name: str, minute: int, *, label: str = "plain", error: str | None = None) -> dict[str, Any]:
    created = BASE_TIME + timedelta(minutes=minute)
    return {
        "status": "failed" if error else "completed",
        "created_at": created,
        "completed_at": created + timedelta(seconds=1),
        "num_clusters": 1,
        "num_points": 10 + minute,
        "error_message": error,
        "centroids": None if error else [{"cluster_id": "cl_0", "num_members": 10, "label": label}],
        "run_name": name,
    }


# Runs whose labels (and one error message) hold the characters that SQL, LIKE, GLOB and FTS5 treat
# as syntax; "showcase" and "globe" are what those characters would match as wildcards.
RUNS = {
    "sql": run("sql", 0, error="quote' OR 1=1-- here"),
    "percent": run("percent", 1, label="100%"),
    "underscore": run("underscore", 2, label="snake_case"),
    "quote": run("quote", 3, label='say "hi"'),
    "star": run("star", 4, label="glob*"),
    "near": run("near", 5, label="NEAR/3 proximity"),
    "backslash": run("backslash", 6, label="back\\slash"),
    "showcase": run("showcase", 7, label="showcase"),
    "globe": run("globe", 8, label="globe"),
}


@pytest.fixture
def ctx(http, session_factory) -> Context:
    """Clusters A (the runs above) and B in the default namespace, and a namespace 'other' with one
    cluster; next cursors issued for A's history and for the default namespace's cluster list."""
    a = make_cluster(session_factory, cluster_name="a")
    b = make_cluster(session_factory, cluster_name="b")
    run_ids = make_runs(session_factory, a, list(RUNS.values()))
    make_runs(session_factory, b, [run("b0", 0), run("b1", 1), run("b2", 2)])
    other = make_cluster(session_factory, namespace="other", cluster_name="c")
    cursor = http.post(list_path(a.cluster_id), json={}, params={"page_size": 2}).json()["pagination"]["next_cursor"]
    cluster_cursor = http.post("/v1/clusters/list", json={}, params={"page_size": 1}).json()["pagination"]
    assert cursor and cluster_cursor["next_cursor"]
    return {
        "a": a.cluster_id,
        "b": b.cluster_id,
        "c": other.cluster_id,
        "names": dict(zip(run_ids, RUNS, strict=True)),
        "cursor": cursor,
        "cluster_cursor": cluster_cursor["next_cursor"],
    }


def flip(text: str, index: int) -> str:
    """``text`` with one base64url character changed at ``index``."""
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


Value = Any | Callable[[Context], Any]


@dataclass(frozen=True)
class Hostile:
    """One request and the answer it must get: a status, and for errors the problem ``code`` and a
    fragment of its detail; for a search, exactly which runs match."""

    id: str
    body: Any = None
    status: int = 422
    code: str | None = None
    fragment: str = ""
    path: str = "/v1/clusters/{a}/executions/list"
    method: str = "POST"
    content: bytes | None = None
    params: dict[str, Value] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    matches: tuple[str, ...] | None = None


def not_chain(depth: int) -> bytes:
    """A NOT chain as JSON text: built as a string so nothing recurses while building it."""
    return ('{"filters": ' + '{"NOT": [' * depth + '{"status": "failed"}' + "]}" * depth + "}").encode()


def search(term: str, *matches: str) -> Hostile:
    return Hostile(f"search {term!r}", {"search": term}, 200, matches=matches)


CATALOGUE = [
    # --- filter trees: deep, malformed, unknown, wrongly typed
    Hostile("10,000-deep NOT chain", content=not_chain(10_000), code="validation_error", fragment="8 levels"),
    Hostile(
        "8 NOTs under the root: 9 levels", content=not_chain(8), code="invalid_filter", fragment="deeper than 8 levels"
    ),  # fmt: skip
    Hostile("7 NOTs under the root: 8 levels is fine", content=not_chain(7), status=200),
    Hostile("group without a list", {"filters": {"AND": {"status": "failed"}}}, code="invalid_filter", fragment="list"),
    Hostile("condition that is a list", {"filters": {"OR": [["status"]]}}, code="invalid_filter", fragment="object"),
    Hostile("group operator XOR", {"filters": {"operator": "XOR", "conditions": []}}, code="invalid_filter"),
    Hostile(
        "condition without value",
        {"filters": {"operator": "AND", "conditions": [{"field": "status"}]}},
        code="invalid_filter",
        fragment="needs a value",
    ),  # fmt: skip
    Hostile("empty operator object", {"filters": {"status": {}}}, code="invalid_filter", fragment="empty operator"),
    Hostile("unknown field", {"filters": {"password": "x"}}, code="invalid_filter", fragment="password"),
    Hostile("unknown nested field", {"filters": {"metrics.secret": 1}}, code="invalid_filter"),
    Hostile(
        "unknown operator", {"filters": {"status": {"like": "%"}}}, code="invalid_filter", fragment="unknown operator"
    ),  # fmt: skip
    Hostile(
        "operator as SQL",
        {"filters": {"num_points": {"> 0 OR 1=1 --": 1}}},
        code="invalid_filter",
        fragment="unknown operator",
    ),  # fmt: skip
    Hostile("contains on a number", {"filters": {"num_points": {"contains": "1"}}}, code="invalid_filter"),
    Hostile("text for a number", {"filters": {"num_points": {"gt": "ten"}}}, code="invalid_filter", fragment="numeric"),
    Hostile("boolean for a number", {"filters": {"num_points": {"gt": True}}}, code="invalid_filter"),
    Hostile(
        "text for a timestamp",
        {"filters": {"created_at": {"gt": "yesterday"}}},
        code="invalid_filter",
        fragment="ISO 8601",
    ),  # fmt: skip
    Hostile("number for text", {"filters": {"error_message": {"contains": 5}}}, code="invalid_filter", fragment="text"),
    Hostile("unknown status", {"filters": {"status": "exploded"}}, code="invalid_filter", fragment="completed"),
    Hostile("in without a list", {"filters": {"status": {"in": "failed"}}}, code="invalid_filter", fragment="list"),
    Hostile(
        "exists with a string",
        {"filters": {"error_message": {"exists": "yes"}}},
        code="invalid_filter",
        fragment="true or false",
    ),  # fmt: skip
    Hostile("sort by a secret", {"sort": {"field": "search_text"}}, code="invalid_sort"),
    # --- page sizes
    Hostile("page_size 0", {}, params={"page_size": 0}, code="invalid_pagination", fragment="between 1 and"),
    Hostile("page_size -1", {}, params={"page_size": -1}, code="invalid_pagination", fragment="between 1 and"),
    Hostile("page_size 10**9", {}, params={"page_size": 10**9}, code="invalid_pagination", fragment="between 1 and"),
    Hostile("page_size 10**30", {}, params={"page_size": 10**30}, code="invalid_pagination"),
    # --- search strings are data: exactly the runs holding those characters match
    search("' OR 1=1--", "sql"),
    search("'", "sql"),
    search("%", "percent"),
    search("0%", "percent"),
    search("_case", "underscore"),
    search('"', "quote"),
    search('"hi"', "quote"),
    search("*", "star"),
    search("glob*", "star"),
    search("NEAR", "near"),
    search("NEAR/3", "near"),
    search("\\", "backslash"),
    search("k\\s", "backslash"),
    search("case", "underscore", "showcase"),
    search("glob", "star", "globe"),
    search("\"'%_*\\"),
    Hostile("NUL in search", {"search": "a\u0000b"}, code="validation_error", fragment="NUL"),
    Hostile(
        "NUL in a filter value",
        {"filters": {"error_message": {"contains": "\u0000"}}},
        code="invalid_filter",
        fragment="NUL",
    ),  # fmt: skip
    # --- cursors are signed over namespace, cluster and query
    Hostile(
        "cursor of cluster A on cluster B",
        {},
        path="/v1/clusters/{b}/executions/list",
        params={"cursor": lambda c: c["cursor"]},
        status=400,
        code="invalid_cursor",
        fragment="different query",
    ),  # fmt: skip
    Hostile(
        "cursor of cluster A with another filter",
        {"filters": {"status": "completed"}},
        params={"cursor": lambda c: c["cursor"]},
        status=400,
        code="invalid_cursor",
        fragment="different query",
    ),  # fmt: skip
    Hostile(
        "cursor of cluster A with another sort",
        {"sort": {"field": "num_points"}},
        params={"cursor": lambda c: c["cursor"]},
        status=400,
        code="invalid_cursor",
    ),  # fmt: skip
    Hostile(
        "cursor of cluster A with a search",
        {"search": "glob"},
        params={"cursor": lambda c: c["cursor"]},
        status=400,
        code="invalid_cursor",
    ),  # fmt: skip
    Hostile(
        "cursor of cluster A with another page size",
        {},
        params={"cursor": lambda c: c["cursor"], "page_size": 3},
        status=400,
        code="invalid_cursor",
    ),  # fmt: skip
    Hostile(
        "cursor of a history on the cluster list",
        {},
        path="/v1/clusters/list",
        params={"cursor": lambda c: c["cursor"]},
        status=400,
        code="invalid_cursor",
    ),  # fmt: skip
    Hostile(
        "cursor of the default namespace in another",
        {},
        path="/v1/clusters/list",
        headers={"X-Namespace": "other"},
        params={"cursor": lambda c: c["cluster_cursor"]},
        status=400,
        code="invalid_cursor",
        fragment="different query",
    ),  # fmt: skip
    Hostile(
        "cursor with a flipped signature byte",
        {},
        params={"cursor": lambda c: flip(c["cursor"], -3)},
        status=400,
        code="invalid_cursor",
        fragment="altered",
    ),  # fmt: skip
    Hostile(
        "cursor with a flipped payload byte",
        {},
        params={"cursor": lambda c: flip(c["cursor"], 5)},
        status=400,
        code="invalid_cursor",
    ),  # fmt: skip
    Hostile(
        "cursor without its signature",
        {},
        params={"cursor": lambda c: c["cursor"].split(".")[0]},
        status=400,
        code="invalid_cursor",
        fragment="malformed",
    ),  # fmt: skip
    Hostile("cursor cut short", {}, params={"cursor": lambda c: c["cursor"][:-1]}, status=400, code="invalid_cursor"),
    Hostile("cursor over 4096 characters", {}, params={"cursor": "x" * 5000}, code="validation_error"),
    Hostile("cursor of cluster A still works on A", {}, params={"cursor": lambda c: c["cursor"]}, status=200),
    # --- bodies: encoding, NUL, size
    Hostile(
        "Latin-1 body",
        content='{"search": "café"}'.encode("latin-1"),
        status=400,
        code="invalid_json",
        fragment="UTF-8",
    ),  # fmt: skip
    # JSON's own rule (RFC 8259 §8.1): a parser may read UTF-16/32 text; it is decoded, not misread
    Hostile(
        "UTF-16 body with a BOM", content='{"search": "glob"}'.encode("utf-16"), status=200, matches=("star", "globe")
    ),  # fmt: skip
    Hostile(
        "Latin-1 cluster body",
        path="/v1/clusters",
        content='{"cluster_name": "é"}'.encode("latin-1"),
        status=400,
        code="invalid_json",
        fragment="UTF-8",
    ),  # fmt: skip
    Hostile(
        "Latin-1 document upload",
        path="/v1/collections/{col}/documents",
        content='{"documents": [{"document_id": "é", "text": "x"}]}'.encode("latin-1"),
        status=400,
        code="invalid_json",
        fragment="UTF-8",
    ),  # fmt: skip
    Hostile("NUL in a cluster name", {"cluster_name": "a\u0000b"}, path="/v1/clusters", fragment="NUL"),
    Hostile(
        "NUL in a document",
        {"documents": [{"document_id": "d", "text": "a\u0000"}]},
        path="/v1/collections/{col}/documents",
        fragment="NUL",
    ),  # fmt: skip
    Hostile(
        "NUL in metadata keys",
        {"documents": [{"document_id": "d", "text": "a", "metadata": {"k\u0000": 1}}]},
        path="/v1/collections/{col}/documents",
        fragment="NUL",
    ),  # fmt: skip
    Hostile("NUL in a namespace name", {"namespace_name": "a\u0000"}, path="/v1/namespaces"),
    Hostile(
        "2 MB of garbage is refused before parsing",
        content=b"{" + b"\xff" * 2_000_000,
        status=413,
        code="payload_too_large",
        fragment="at most",
    ),  # fmt: skip
    Hostile(
        "2 MB of garbage, streamed without a length",
        content=b"stream:" + b"x" * 2_000_000,
        status=413,
        code="payload_too_large",
    ),  # fmt: skip
    # --- X-Namespace
    Hostile("no X-Namespace means default", {}, status=200),
    Hostile("X-Namespace of another namespace", {}, headers={"X-Namespace": "other"}, status=404, code="not_found"),
    Hostile(
        "X-Namespace unknown",
        {},
        headers={"X-Namespace": "nope"},
        status=404,
        code="not_found",
        fragment="'nope' not found",
    ),  # fmt: skip
    Hostile(
        "X-Namespace empty", {}, headers={"X-Namespace": ""}, status=400, code="invalid_request", fragment="X-Namespace"
    ),  # fmt: skip
    Hostile(
        "X-Namespace 65 characters",
        {},
        headers={"X-Namespace": "n" * 65},
        status=400,
        code="invalid_request",
        fragment="1-64",
    ),  # fmt: skip
    Hostile(
        "X-Namespace 10,000 characters",
        {},
        headers={"X-Namespace": "n" * 10_000},
        code="validation_error",
        fragment="200",
    ),  # fmt: skip
    Hostile("X-Namespace with SQL", {}, headers={"X-Namespace": "x' OR '1'='1"}, status=400, code="invalid_request"),
    Hostile(
        "X-Namespace path traversal", {}, headers={"X-Namespace": "../default"}, status=400, code="invalid_request"
    ),  # fmt: skip
    Hostile("X-Namespace control character", {}, headers={"X-Namespace": "a\tb"}, status=400, code="invalid_request"),
    Hostile("X-Namespace non-ASCII", {}, headers={"X-Namespace": "caf\u00e9"}, status=400, code="invalid_request"),
]


def send(http: httpx.Client, case: Hostile, ctx: Context, collection: str) -> httpx.Response:
    path = case.path.format(a=ctx["a"], b=ctx["b"], col=collection)
    params = {k: (v(ctx) if callable(v) else v) for k, v in case.params.items()}
    headers = {k: v.encode() if not v.isascii() else v for k, v in case.headers.items()}
    if case.content is not None and case.content.startswith(b"stream:"):
        body = case.content

        def chunks() -> Any:  # no Content-Length: the limit must hold while the body streams in
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]

        return http.request(case.method, path, content=chunks(), params=params,
                            headers={**headers, "content-type": "application/json"})  # fmt: skip
    if case.content is not None:
        return http.request(case.method, path, content=case.content, params=params,
                            headers={**headers, "content-type": "application/json"})  # fmt: skip
    return http.request(case.method, path, json=case.body, params=params, headers=headers)


@pytest.fixture
def collection(http) -> str:
    response = http.post("/v1/collections", json={"collection_name": "docs"})
    assert response.status_code == 201, response.text
    return str(response.json()["collection_id"])


def test_catalogue_ids_are_unique():
    assert len({case.id for case in CATALOGUE}) == len(CATALOGUE)


def check(http: httpx.Client, case: Hostile, ctx: Context, collection: str) -> None:
    response = send(http, case, ctx, collection)
    if case.status >= 400:
        body = assert_problem(response, case.status, case.code, sent=str(case.body or ""))
        assert case.fragment in body["detail"], body
    else:
        assert response.status_code == case.status, response.text
    if case.matches is not None:
        assert sorted(ctx["names"][run_id] for run_id in ids(response.json())) == sorted(case.matches)
    # whatever was sent, the history is intact and the server still answers
    after = http.post(list_path(ctx["a"]), json={})
    assert after.status_code == 200 and after.json()["total_count"] == len(RUNS)


def test_every_hostile_request_gets_its_answer(http, ctx, collection):
    """One server per database for the whole table (a test per row would start ~80 servers); every
    row is checked and every failing row reported."""
    failures = []
    for case in CATALOGUE:
        try:
            check(http, case, ctx, collection)
        except AssertionError as exc:
            failures.append(f"{case.id}: {str(exc)[:2000]}")
    assert not failures, f"{len(failures)} of {len(CATALOGUE)} rows failed:\n" + "\n\n".join(failures)
