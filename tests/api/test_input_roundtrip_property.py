"""A property over the real HTTP API, on SQLite and PostgreSQL: any document (random Unicode, lone
surrogates and NUL, nesting, huge and non-finite numbers, vectors) and any filter value is either
refused with a 4xx problem, leaving nothing behind, or stored and read back identically (GET of the
document and the documents listing), and the collection's listing keeps answering 200.

Derandomized and bounded, so it runs the same examples every time in a few seconds per database.
Vector components are float32 values, since vectors are stored as float32 (range checks on vector
values are a separate concern)."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROBLEM = "application/problem+json"
HOSTILE_CHARS = ["\x00", "\ud800", "\udfff", "\ufffd", "\uffff", "é", "\N{GRINNING FACE}", "'", '"', "\\", "%", "_"]

any_char = st.characters(exclude_categories=())  # () lets lone surrogates in too
texts = st.builds(
    lambda base, extra, at: base[:at] + extra + base[at:] if extra else base,
    st.text(alphabet=any_char, max_size=10),
    st.none() | st.sampled_from(HOSTILE_CHARS),  # a hostile character in about half the strings
    st.integers(min_value=0, max_value=10),
)
id_suffixes = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=8)  # hostile ids: elsewhere
numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 2**53 + 1])
)
scalars = st.none() | st.booleans() | numbers | texts


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": levels}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


metadata = (
    st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8
    ).map(lambda value: {"value": value})
    | st.dictionaries(texts, scalars, max_size=4)
    | st.integers(min_value=28, max_value=36).map(deep)
)
float32s = st.floats(width=32, allow_nan=False, allow_infinity=False)
vectors = st.lists(float32s, min_size=3, max_size=3) | st.lists(float32s, min_size=1, max_size=5)
documents = st.fixed_dictionaries(
    {"suffix": id_suffixes},
    optional={"text": texts, "metadata": metadata, "vector": vectors | st.just([math.nan, 1.0, 2.0])},
)

COUNTER = itertools.count()


def unstorable(value: Any) -> bool:
    """The reference: text a database cannot keep (NUL, a lone surrogate) or a non-finite number."""
    if isinstance(value, str):
        return any(ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(unstorable(v) for v in value)
    return False


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def same(sent: Any, got: Any) -> bool:
    """Equal with the same JSON types all the way down (1 is not 1.0, True is not 1)."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and sent.keys() == got.keys() and all(same(v, got[k]) for k, v in sent.items())
    if isinstance(sent, list):
        return isinstance(got, list) and len(sent) == len(got) and all(map(same, sent, got))
    return type(sent) is type(got) and sent == got


def post(http: httpx.Client, path: str, body: Any) -> httpx.Response:
    # json.dumps escapes surrogates as \ud800 and writes NaN/Infinity, as a careless client would.
    return http.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def assert_refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"]


def listed(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = post(http, "/v1/collections/prop/documents/list", {**body, "include_vectors": True})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


@settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=documents, filter_value=scalars, search=texts)
def test_every_document_is_refused_whole_or_read_back_identically(http, document, filter_value, search):
    if http.get("/v1/collections/prop").status_code == 404:
        assert http.post("/v1/collections", json={"collection_name": "prop"}).status_code == 201
    before = listed(http, {})["total_count"]
    sent = {k: v for k, v in document.items() if k != "suffix"}
    sent["document_id"] = f"d{next(COUNTER)}-{document['suffix']}"
    must_refuse = (
        unstorable(sent)
        or ("text" not in sent and "vector" not in sent)
        or ("metadata" in sent and depth(sent["metadata"]) > 32)
    )

    response = post(http, "/v1/collections/prop/documents", {"documents": [sent]})
    if response.status_code != 200:
        assert_refused(response)
        assert listed(http, {})["total_count"] == before  # nothing of it was written
    else:
        assert not must_refuse, sent
        one = http.get(f"/v1/collections/prop/documents/{quote(sent['document_id'], safe='')}",
                       params={"include_vectors": "true"})  # fmt: skip
        assert one.status_code == 200, one.text
        exact = {"document_id": sent["document_id"], "case_sensitive": True}  # case folding is not this test's concern
        by_list = listed(http, {"filters": exact})["results"]
        assert [d["document_id"] for d in by_list] == [sent["document_id"]]
        for stored in (one.json(), by_list[0]):
            assert stored["text"] == sent.get("text")
            assert same(sent.get("metadata", {}), stored["metadata"]), (sent, stored)
            assert stored["vector"] == sent.get("vector")  # float32 values come back exactly
        assert listed(http, {})["total_count"] == before + 1  # ids are unique per example

    filtered = post(http, "/v1/collections/prop/documents/list", {"filters": {"metadata.value": filter_value}})
    if filtered.status_code != 200:
        assert_refused(filtered)
    else:
        assert not unstorable(filter_value), filter_value
    searched = post(http, "/v1/collections/prop/documents/list", {"search": search})
    if searched.status_code != 200:
        assert_refused(searched)
    else:
        assert not unstorable(search), search
    assert listed(http, {})["results"] is not None  # the whole collection still lists (200)
