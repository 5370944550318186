"""Reading a document upload without holding several copies of it.

``POST /v1/collections/{c}/documents`` takes two formats, chosen by ``Content-Type``:

- ``application/json``: ``{"documents": [...]}``, each vector a list of numbers or ``vector_b64``
  (base64 of little-endian float32). The body is parsed one document at a time (ijson's C
  backend), and each vector becomes float32 bytes at once, so the Python objects of one document
  are alive at a time, never those of the whole body (a 61 MiB body of 7,800 × 4,096 numbers is
  about 1 GB as Python floats).
- ``application/vnd.apache.arrow.stream``: an Arrow IPC stream with columns ``document_id``
  (string), ``text`` (string, optional), ``metadata`` (JSON text, optional) and ``vector``
  (``fixed_size_list<float32>``, optional); vectors are read straight from the body's buffer.

Both yield :class:`~clusterbook.store.documents.DocumentRow` lazily; bad documents are collected and
reported together (nothing is written: the request's transaction rolls back).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ijson
import numpy as np
import pyarrow as pa
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request

from clusterbook.api.limits import UPLOAD_BODY_KEY
from clusterbook.api.problems import validation_locations
from clusterbook.errors import ErrorLocation, InvalidJson, InvalidRequest, ValidationFailed
from clusterbook.models.collections import (
    MAX_DOCUMENTS_PER_REQUEST,
    MAX_VECTOR_DIMENSION,
    DocumentFields,
    DocumentIn,
    DocumentsUpsert,
    vector_b64_bytes,
)
from clusterbook.store.documents import MAX_REPORTED, DocumentRow
from clusterbook.store.vectors import VECTOR_DTYPE, first_nonfinite, float32_bytes, nonfinite_message

JSON_TYPE = "application/json"
ARROW_TYPE = "application/vnd.apache.arrow.stream"
ARROW_COLUMNS = ("document_id", "text", "metadata", "vector")
UPLOAD_DESCRIPTION = (
    'Send JSON (`application/json`: `{"documents": [...]}`, each vector a list of numbers or `vector_b64`, '
    "base64 of little-endian float32) or an Arrow IPC stream (`application/vnd.apache.arrow.stream`: columns "
    "`document_id` string, `text` string, `metadata` JSON text, `vector` fixed_size_list<float32>). Vectors are "
    "stored as float32: a component float32 cannot hold (NaN, infinite, or beyond ±3.4e38) is a 422 naming "
    "`documents[i].vector[j]`. Large uploads share a byte budget; one that cannot start in time gets a 503 "
    "with Retry-After."
)
UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON_TYPE: {"schema": {"$ref": "#/components/schemas/DocumentsUpsert"}},
            ARROW_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
"""The route reads its body itself (to stream it), so its request body is declared here."""
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass
class Upload:
    """A document upload's raw body and its format; ``documents()`` parses it lazily."""

    body: bytes | bytearray
    media_type: str

    def documents(self) -> Iterator[DocumentRow]:
        if self.media_type == ARROW_TYPE:
            return _Parse().arrow(self.body)
        return _Parse().json(self.body)


def document_upload_body(app: FastAPI) -> None:
    """Put the JSON upload's models into the OpenAPI components that ``UPLOAD_OPENAPI`` refers to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "DocumentsUpsert" not in components:
            upload = DocumentsUpsert.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(upload.pop("$defs", {}))
            components["DocumentsUpsert"] = upload
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def read_upload(request: Request) -> Upload:
    """The body of a document upload, as :class:`~clusterbook.api.limits.UploadGate` read it (whole,
    before any transaction began), handed over once."""
    media_type = request.headers.get("content-type", JSON_TYPE).split(";")[0].strip().lower()
    if media_type not in (JSON_TYPE, ARROW_TYPE) and not media_type.endswith("+json"):
        raise InvalidRequest(
            f"Content-Type {media_type!r} is not an upload format; send {JSON_TYPE} "
            f'({{"documents": [...]}}) or {ARROW_TYPE} (an Arrow IPC stream)'
        )
    body = request.scope.pop(UPLOAD_BODY_KEY, None)
    if body is None:  # an app without the gate
        chunks = [chunk async for chunk in request.stream()]
        body = b"".join(chunks)
        del chunks
    return Upload(body, ARROW_TYPE if media_type == ARROW_TYPE else JSON_TYPE)


def _too_many() -> ValidationFailed:
    message = (
        f"at most {MAX_DOCUMENTS_PER_REQUEST} documents per request, and this body holds more; send the rest "
        "in further requests (the SDK's upsert batches for you)"
    )
    return ValidationFailed(f"documents {message}", errors=[ErrorLocation("documents", message, "too_long")])


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate (half of a pair, or a lone one)."""


class _Parse:
    """One parse of one body: yields good rows until the first bad document, then only collects errors."""

    def __init__(self) -> None:
        self.errors: list[ErrorLocation] = []
        self.bad = 0

    def _fail(self, found: list[ErrorLocation]) -> None:
        self.bad += 1
        self.errors.extend(found[: max(0, MAX_REPORTED - len(self.errors))])

    def _raise_collected(self) -> None:
        if self.errors:
            more = f" ({self.bad} documents in all; nothing was written)" if self.bad > 1 else " (nothing was written)"
            first = self.errors[0]
            raise ValidationFailed(f"{first.loc}: {first.message}{more}", errors=self.errors)

    # ---------------------------------------------------------------- JSON

    def json(self, body: bytes | bytearray) -> Iterator[DocumentRow]:
        body = _as_utf8(body)
        if SURROGATE_ESCAPE.search(body):
            # yajl turns a lone surrogate escape into "?" — a value the client never sent. Python's
            # parser keeps it, so the models refuse it by name (and join real pairs into one character).
            yield from self._whole(body, skip=0, python_parser=True)
            self._raise_collected()
            return
        streamed = yielded = 0
        try:
            for i, raw in enumerate(ijson.items(_Reader(body), "documents.item", use_float=True)):
                streamed = i + 1
                if streamed > MAX_DOCUMENTS_PER_REQUEST:
                    raise _too_many()
                try:
                    doc = DocumentIn.model_validate(raw)
                except ValidationError as exc:
                    self._fail(validation_locations(exc.errors(), f"documents[{i}]"))
                    continue
                row = self._json_row(doc, i)
                if row is not None and not self.errors:
                    yielded += 1
                    yield row
        except ijson.JSONError:
            streamed = 0
        if not streamed:
            # Nothing streamed: no "documents" array, or JSON that yajl refuses but Python's parser reads
            # (NaN, Infinity, 1e400), which the models then refuse by name. The body is parsed whole, as
            # before streaming; the documents already passed on are not passed again.
            self.errors, self.bad = [], 0
            yield from self._whole(body, skip=yielded)
        self._raise_collected()

    def _whole(self, body: bytes | bytearray, *, skip: int, python_parser: bool = False) -> Iterator[DocumentRow]:
        """The body parsed as a whole, as the models parse any request: exact messages for odd bodies.
        ``python_parser``: parse with Python's ``json`` (as every other route's body is), which keeps a
        lone surrogate for the models to refuse by name; pydantic's parser calls it malformed JSON."""
        try:
            if python_parser:
                try:
                    parsed = json.loads(body)
                except ValueError as exc:
                    raise _invalid_json(body, exc) from exc
                upload = DocumentsUpsert.model_validate(parsed)
            else:
                upload = DocumentsUpsert.model_validate_json(body)
        except ValidationError as exc:
            raw = exc.errors()
            if any(e.get("type") == "json_invalid" for e in raw):
                raise _invalid_json(body, exc) from exc
            errors = [
                ErrorLocation(e.loc.removeprefix("body."), e.message, e.type) for e in validation_locations(raw, "body")
            ]
            raise ValidationFailed("; ".join(f"{e.loc}: {e.message}" for e in errors[:5]), errors=errors) from exc
        for i, doc in enumerate(upload.documents[skip:], start=skip):
            row = self._json_row(doc, i)
            if row is not None and not self.errors:
                yield row

    def _json_row(self, doc: DocumentIn, i: int) -> DocumentRow | None:
        vector: bytes | None = None
        if doc.vector is not None:
            vector, bad = float32_bytes(doc.vector)
            if bad is not None:
                self._fail([ErrorLocation(f"documents[{i}].vector[{bad}]", nonfinite_message(doc.vector[bad]))])
                return None
        elif doc.vector_b64 is not None:
            vector = vector_b64_bytes(doc.vector_b64)
            values = np.frombuffer(vector, dtype=VECTOR_DTYPE)
            bad = first_nonfinite(values)
            if bad is not None:
                self._fail([ErrorLocation(f"documents[{i}].vector[{bad}]", nonfinite_message(float(values[bad])))])
                return None
        return DocumentRow(doc.document_id, doc.text, doc.metadata, vector)

    # ---------------------------------------------------------------- Arrow

    def arrow(self, body: bytes | bytearray) -> Iterator[DocumentRow]:
        try:
            reader = pa.ipc.open_stream(pa.py_buffer(body))
        except (pa.ArrowInvalid, OSError) as exc:
            raise InvalidRequest(f"the request body is not an Arrow IPC stream ({ARROW_TYPE}): {exc}") from exc
        dimension = _check_arrow_schema(reader.schema)
        start = 0
        try:
            for batch in reader:
                if start + batch.num_rows > MAX_DOCUMENTS_PER_REQUEST:
                    raise _too_many()
                yield from self._arrow_batch(batch, start, dimension)
                start += batch.num_rows
        except pa.ArrowInvalid as exc:
            raise InvalidRequest(f"the Arrow stream is damaged after {start} rows: {exc}") from exc
        if start == 0:
            message = "holds no rows; send at least one document"
            raise ValidationFailed(f"documents {message}", errors=[ErrorLocation("documents", message, "too_short")])
        self._raise_collected()

    def _arrow_batch(self, batch: pa.RecordBatch, start: int, dimension: int | None) -> Iterator[DocumentRow]:
        names = batch.schema.names
        ids = batch.column("document_id").to_pylist()
        texts = batch.column("text").to_pylist() if "text" in names else [None] * batch.num_rows
        metas = batch.column("metadata").to_pylist() if "metadata" in names else [None] * batch.num_rows
        vectors: np.ndarray | None = None
        present: np.ndarray | None = None
        if dimension is not None:
            column = batch.column("vector")
            child = column.values.slice(column.offset * dimension, len(column) * dimension)
            vectors = child.to_numpy(zero_copy_only=False).reshape(len(column), dimension)
            present = column.is_valid().to_numpy(zero_copy_only=False)
        for k in range(batch.num_rows):
            i = start + k
            fields: dict[str, Any] = {"document_id": ids[k], "text": texts[k]}
            meta = metas[k]
            if meta is not None:
                try:
                    fields["metadata"] = json.loads(meta)
                except ValueError as exc:
                    self._fail([ErrorLocation(f"documents[{i}].metadata", f"is not JSON text ({exc})")])
                    continue
            try:
                doc = DocumentFields.model_validate(fields)
            except ValidationError as exc:
                self._fail(validation_locations(exc.errors(), f"documents[{i}]"))
                continue
            vector: bytes | None = None
            if vectors is not None and present is not None and present[k]:
                values = vectors[k]
                bad = first_nonfinite(values)
                if bad is not None:
                    self._fail([ErrorLocation(f"documents[{i}].vector[{bad}]", nonfinite_message(float(values[bad])))])
                    continue
                vector = values.astype(VECTOR_DTYPE, copy=False).tobytes()
            if vector is None and doc.text is None:
                self._fail([ErrorLocation(f"documents[{i}]", "a document needs text or a vector (or both)")])
                continue
            if not self.errors:
                yield DocumentRow(doc.document_id, doc.text, doc.metadata, vector)


def _check_arrow_schema(schema: pa.Schema) -> int | None:
    """The vector column's dimension (``None`` without one); InvalidRequest names a column that is wrong."""
    found: list[ErrorLocation] = []
    names = schema.names
    for name in names:
        if name not in ARROW_COLUMNS:
            found.append(
                ErrorLocation(f"columns.{name}", f"is not an upload column; accepted: {', '.join(ARROW_COLUMNS)}")
            )
    if len(set(names)) != len(names):
        found.append(ErrorLocation("columns", "name each column once"))
    if "document_id" not in names:
        found.append(ErrorLocation("columns.document_id", "is missing; every row needs a document_id (string)"))
    if "text" not in names and "vector" not in names:
        found.append(ErrorLocation("columns", "need a text or a vector column (or both)"))
    for name in ("document_id", "text", "metadata"):
        if name in names and not (
            pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type)
        ):
            found.append(
                ErrorLocation(f"columns.{name}", f"has type {schema.field(name).type}; it must be string (utf8)")
            )
    dimension: int | None = None
    if "vector" in names:
        kind = schema.field("vector").type
        if not (pa.types.is_fixed_size_list(kind) and pa.types.is_float32(kind.value_type)):
            found.append(ErrorLocation(
                "columns.vector", f"has type {kind}; it must be fixed_size_list<float32> (pa.list_(pa.float32(), d))"
            ))  # fmt: skip
        elif not 1 <= kind.list_size <= MAX_VECTOR_DIMENSION:
            found.append(
                ErrorLocation("columns.vector", f"has {kind.list_size} components; 1 to {MAX_VECTOR_DIMENSION}")
            )
        else:
            dimension = kind.list_size
    if found:
        first = found[0]
        raise InvalidRequest(f"the Arrow schema is not an upload's: {first.loc} {first.message}", errors=found)
    return dimension


# ---------------------------------------------------------------- JSON helpers


class _Reader:
    """A file-like view of the body for ijson (which takes bytes or a reader, not a bytearray), so the
    buffer is read in place instead of copied to bytes first."""

    def __init__(self, body: bytes | bytearray) -> None:
        self.view = memoryview(body)
        self.at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.view) if size < 0 else self.at + size
        piece = bytes(self.view[self.at : end])
        self.at += len(piece)
        return piece


def _as_utf8(body: bytes | bytearray) -> bytes | bytearray:
    """UTF-8 as it is; UTF-16/32 (or UTF-8) with a byte-order mark re-encoded (RFC 8259 lets a parser)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            try:
                return body.decode(encoding).encode("utf-8")
            except UnicodeDecodeError:
                break
    return body


def _invalid_json(body: bytes | bytearray, exc: Exception) -> InvalidJson:
    try:
        codecs.decode(body, "utf-8")
    except UnicodeDecodeError:
        reason = "the request body is not valid UTF-8; send JSON text encoded as UTF-8"
    else:
        reason = f"the request body is not valid JSON: {exc}"
    return InvalidJson(reason)
