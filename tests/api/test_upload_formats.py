"""Document uploads in every format, over real HTTP on SQLite and PostgreSQL: JSON lists, JSON with
``vector_b64`` and Arrow IPC round-trip float32 vectors exactly; bad ones are refused by place and
write nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from clusterbook.api.uploads import ARROW_TYPE
from clusterbook.models.collections import MAX_DOCUMENTS_PER_REQUEST
from clusterbook.settings import Settings
from clusterbook.store.documents import WRITE_CHUNK
from tests.api.helpers import assert_invalid, assert_problem

PATH = "/v1/collections/{}/documents"


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def count(http, collection: str) -> int:
    return int(ok(http.get(f"/v1/collections/{collection}"))["document_count"])


def vectors_of(http, collection: str) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    cursor = None
    while True:
        params = {"page_size": 100, **({"cursor": cursor} if cursor else {})}
        page = ok(
            http.post(f"/v1/collections/{collection}/documents/list", json={"include_vectors": True}, params=params)
        )
        for doc in page["results"]:
            found[doc["document_id"]] = np.asarray(doc["vector"], dtype=np.float32)
        cursor = page["pagination"].get("next_cursor")
        if not cursor:
            return found


def b64(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


def arrow_body(ids: list[str], vectors: np.ndarray | None = None, *, texts=None, metadata=None, schema=None) -> bytes:
    columns: dict[str, pa.Array] = {"document_id": pa.array(ids, pa.string())}
    if texts is not None:
        columns["text"] = pa.array(texts, pa.string())
    if metadata is not None:
        columns["metadata"] = pa.array([None if m is None else json.dumps(m) for m in metadata], pa.string())
    if vectors is not None:
        flat = pa.array(np.asarray(vectors, dtype=np.float32).reshape(-1), pa.float32())
        columns["vector"] = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
    table = pa.table(columns) if schema is None else pa.table(columns, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=7):  # several record batches
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def post_arrow(http, collection: str, body: bytes):
    return http.post(PATH.format(collection), content=body, headers={"content-type": ARROW_TYPE})


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


@pytest.fixture
def col(http) -> str:
    ok(http.post("/v1/collections", json={"collection_name": "vecs"}), 201)
    return "vecs"


def test_every_format_round_trips_float32_exactly(http, rng):
    sent = rng.standard_normal((30, 16)).astype(np.float32) * np.float32(1e3)
    sent[0, 0] = np.float32(3.4028235e38)  # float32's largest, and its smallest subnormal
    sent[0, 1] = np.float32(1.4e-45)
    ids = [f"d{i:02}" for i in range(30)]
    for name in ("lists", "b64", "arrow"):
        ok(http.post("/v1/collections", json={"collection_name": name}), 201)
    lists = [{"document_id": i, "vector": [float(x) for x in v]} for i, v in zip(ids, sent, strict=True)]
    ok(http.post(PATH.format("lists"), json={"documents": lists}))
    coded = [{"document_id": i, "vector_b64": b64(v), "text": "t"} for i, v in zip(ids, sent, strict=True)]
    ok(http.post(PATH.format("b64"), json={"documents": coded}))
    result = ok(post_arrow(http, "arrow", arrow_body(ids, sent, texts=["t"] * 30, metadata=[{"k": 1}] * 30)))
    assert (result["created"], result["collection"]["vector_dimension"]) == (30, 16)
    for name in ("lists", "b64", "arrow"):
        got = vectors_of(http, name)
        assert sorted(got) == ids
        assert np.array_equal(np.stack([got[i] for i in ids]), sent), name
    doc = ok(http.get("/v1/collections/arrow/documents/d03"))
    assert (doc["text"], doc["metadata"]) == ("t", {"k": 1})


def test_arrow_rows_may_lack_a_vector_or_text(http, col):
    vectors = np.ones((2, 3), dtype=np.float32)
    ok(post_arrow(http, col, arrow_body(["a", "b"], vectors, texts=["x", None])), 200)
    vector = pa.FixedSizeListArray.from_arrays(pa.array([1, 2, 3, 4, 5, 6], pa.float32()), 3)
    with_null = pa.array([vector[0].as_py(), None], pa.list_(pa.float32(), 3))
    table = pa.table({"document_id": ["c", "d"], "text": ["x", None], "vector": with_null})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    body = assert_invalid(post_arrow(http, col, sink.getvalue().to_pybytes()), "documents[1]", "text or a vector")
    assert "nothing was written" in body["detail"]
    assert count(http, col) == 2


def test_wrong_dimension_is_refused_in_every_format_and_writes_nothing(http, col):
    ok(http.post(PATH.format(col), json={"documents": [{"document_id": "first", "vector": [1.0, 2.0, 3.0]}]}))
    four = np.ones(4, dtype=np.float32)
    assert_invalid(
        http.post(PATH.format(col), json={"documents": [{"document_id": "a", "vector_b64": b64(four)}]}),
        "documents[0].vector", "has dimension 4", "3-dimensional",
    )  # fmt: skip
    assert_invalid(post_arrow(http, col, arrow_body(["a", "b"], np.ones((2, 4)))), "documents[0].vector", "dimension 4")
    assert count(http, col) == 1


def test_a_bad_document_after_written_chunks_leaves_nothing_written(http, col):
    """Rows go to the database in chunks; a bad one late in the body still undoes them all."""
    n = WRITE_CHUNK * 2 + 10
    docs = [{"document_id": f"d{i}", "vector_b64": b64(np.full(2, i))} for i in range(n)]
    docs[-1] = {"document_id": "last", "vector_b64": b64(np.ones(3))}
    assert_invalid(http.post(PATH.format(col), json={"documents": docs}), f"documents[{n - 1}].vector", "dimension 3")
    repeated = docs[:-1] + [{"document_id": "d0", "text": "again"}]
    assert_invalid(
        http.post(PATH.format(col), json={"documents": repeated}), f"documents[{n - 1}].document_id", "repeats"
    )
    ids = [f"d{i}" for i in range(n)]
    vectors = np.ones((n, 2))
    vectors[-1, 1] = np.nan
    assert_invalid(post_arrow(http, col, arrow_body(ids, vectors)), f"documents[{n - 1}].vector[1]", "NaN")
    assert count(http, col) == 0
    assert ok(http.get(f"/v1/collections/{col}"))["vector_dimension"] is None


def test_float32_overflow_is_refused_naming_the_component(http, col):
    """1e300 is a finite JSON number but infinity as float32: refused at write, never stored as inf."""
    lists = {"documents": [{"document_id": "ok", "text": "t"}, {"document_id": "big", "vector": [0.5, 1e300, 2.0]}]}
    body = assert_invalid(http.post(PATH.format(col), json=lists), "documents[1].vector[1]", "1e+300", "float32")
    assert "nothing was written" in body["detail"]
    assert_invalid(
        http.post(PATH.format(col), json={"documents": [{"document_id": "n", "vector": [-3.5e38]}]}),
        "documents[0].vector[0]", "float32",
    )  # fmt: skip
    bad = np.array([1.0, 2.0, np.inf], dtype=np.float32)
    assert_invalid(
        http.post(PATH.format(col), json={"documents": [{"document_id": "i", "vector_b64": b64(bad)}]}),
        "documents[0].vector[2]", "infinite",
    )  # fmt: skip
    assert_invalid(
        post_arrow(http, col, arrow_body(["a", "b"], np.array([[1, 2], [np.inf, 0]]))), "documents[1].vector[0]"
    )
    assert count(http, col) == 0
    assert ok(http.get(f"/v1/collections/{col}"))["vector_dimension"] is None


def test_bad_base64_is_refused(http, col):
    for value, fragment in (
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"12345").decode(), "5 bytes"),
        ("", "0 bytes"),
    ):
        body = {"documents": [{"document_id": "a", "text": "t"}, {"document_id": "b", "vector_b64": value}]}
        assert_invalid(http.post(PATH.format(col), json=body), "documents[1].vector_b64", fragment)
    too_long = b64(np.ones(4097))
    assert_invalid(
        http.post(PATH.format(col), json={"documents": [{"document_id": "b", "vector_b64": too_long}]}),
        "documents[0].vector_b64", "at most 4096",
    )  # fmt: skip
    both = {"document_id": "b", "vector": [1.0], "vector_b64": b64(np.ones(1))}
    assert_invalid(http.post(PATH.format(col), json={"documents": [both]}), "documents[0]", "either vector")
    assert count(http, col) == 0


@pytest.mark.parametrize(
    ("schema_columns", "loc", "fragment"),
    [
        (
            {"document_id": pa.array(["a"]), "vector": pa.array([[1.0]], pa.list_(pa.float64(), 1))},
            "columns.vector",
            "float32",
        ),
        (
            {"document_id": pa.array(["a"]), "vector": pa.array([[1.0]], pa.list_(pa.float32()))},
            "columns.vector",
            "fixed_size_list",
        ),
        ({"document_id": pa.array([1]), "text": pa.array(["t"])}, "columns.document_id", "string"),
        ({"text": pa.array(["t"])}, "columns.document_id", "missing"),
        (
            {"document_id": pa.array(["a"]), "text": pa.array(["t"]), "colour": pa.array(["red"])},
            "columns.colour",
            "accepted",
        ),
        (
            {"document_id": pa.array(["a"]), "vector": pa.array([[1.0] * 4097], pa.list_(pa.float32(), 4097))},
            "columns.vector",
            "4096",
        ),
    ],
)
def test_bad_arrow_schema_is_refused_naming_the_column(http, col, schema_columns, loc, fragment):
    table = pa.table(schema_columns)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    body = assert_problem(post_arrow(http, col, sink.getvalue().to_pybytes()), 400, "invalid_request")
    assert body["errors"][0]["loc"] == loc, body
    assert fragment in body["errors"][0]["message"], body
    assert count(http, col) == 0


def test_not_arrow_or_unknown_media_type_is_a_clear_400(http, col):
    body = assert_problem(post_arrow(http, col, b"\x00\x01 not arrow"), 400, "invalid_request")
    assert "Arrow IPC stream" in body["detail"]
    body = assert_problem(http.post(PATH.format(col), content=b"a,b", headers={"content-type": "text/csv"}), 400)
    assert "application/json" in body["detail"] and ARROW_TYPE in body["detail"]
    assert count(http, col) == 0


def test_arrow_rows_are_validated_like_json_documents(http, col):
    ids = ["a", "b", "c", "a"]
    body = arrow_body(ids, texts=["x", "y\u0000", "z", "w"], metadata=[None, None, "not an object", None])
    found = assert_invalid(post_arrow(http, col, body), "documents[1].text", "NUL")
    assert [e["loc"] for e in found["errors"]] == ["documents[1].text", "documents[2].metadata"]
    bad_json = pa.table({"document_id": ["a"], "text": ["t"], "metadata": ["{not json"]})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, bad_json.schema) as writer:
        writer.write_table(bad_json)
    assert_invalid(post_arrow(http, col, sink.getvalue().to_pybytes()), "documents[0].metadata", "not JSON")
    assert_invalid(
        post_arrow(http, col, arrow_body(["a", "b", "a"], texts=["t"] * 3)), "documents[2].document_id", "repeats"
    )
    assert count(http, col) == 0


def test_too_many_documents_in_any_format(http, col):
    n = MAX_DOCUMENTS_PER_REQUEST + 1
    docs = [{"document_id": str(i), "vector_b64": b64(np.ones(1))} for i in range(n)]
    assert_invalid(http.post(PATH.format(col), json={"documents": docs}), "documents", "at most 10000")
    ids = [str(i) for i in range(n)]
    assert_invalid(post_arrow(http, col, arrow_body(ids, np.ones((n, 1)))), "documents", "at most 10000")
    empty = pa.table({"document_id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, empty.schema) as writer:
        writer.write_table(empty)
    assert_invalid(post_arrow(http, col, sink.getvalue().to_pybytes()), "documents", "at least one")
    assert count(http, col) == 0


class TestSmallUploadLimit:
    @pytest.fixture
    def server_settings(self, db_url: str) -> Settings:
        return Settings(database_url=db_url, secret_key="test-signing-key", max_upload_bytes=200_000)

    def test_an_oversized_arrow_upload_is_a_413(self, http, col):
        body = arrow_body([f"d{i}" for i in range(100)], np.ones((100, 1000)))
        assert len(body) > 200_000
        assert_problem(post_arrow(http, col, body), 413, "payload_too_large")
        streamed = http.post(PATH.format(col), content=iter([body]), headers={"content-type": ARROW_TYPE})
        assert_problem(streamed, 413, "payload_too_large")
        assert count(http, col) == 0
