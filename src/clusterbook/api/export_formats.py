"""Encoders of the streamed exports: each turns one batch of rows into the bytes to send next.

* CSV: a header of the declared columns (``models/exports.py``), then one line per row; nulls are
  empty cells, timestamps ISO 8601, lists/objects/booleans JSON (``csv_cell``).
* NDJSON: one JSON document per line, already serialised by the caller (the listing's wire rows).
* Parquet: pyarrow's ``ParquetWriter`` writing into a sink that is drained after every batch, so each
  batch becomes one row group on the wire and the footer comes last. Columns keep their types:
  strings, int64, float64, timestamps in UTC (microseconds); a ``json`` column (algorithm parameters,
  metadata values, whose type may differ from row to row) holds each value's JSON text.

An encoder never holds more than the batch it was given.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from clusterbook.models.exports import ColumnKind, ExportColumn, csv_cell

ARROW_TYPES: dict[ColumnKind, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}


class CsvEncoder:
    def __init__(self, columns: Sequence[ExportColumn]) -> None:
        self.names = [c.name for c in columns]
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text.encode("utf-8")

    def start(self) -> bytes:
        self._writer.writerow(self.names)
        return self._take()

    def batch(self, records: Sequence[dict[str, Any]]) -> bytes:
        names = self.names
        self._writer.writerows([csv_cell(record.get(name)) for name in names] for record in records)
        return self._take()

    def finish(self) -> bytes:
        return b""


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each write of the Parquet writer."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks = []
        return out


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ParquetEncoder:
    def __init__(self, columns: Sequence[ExportColumn]) -> None:
        self.columns = list(columns)
        self.schema = pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in self.columns])
        self._sink = _Drain()
        self._writer: pq.ParquetWriter | None = None

    def start(self) -> bytes:
        self._writer = pq.ParquetWriter(self._sink, self.schema, compression="zstd")
        return self._sink.take()

    def batch(self, records: Sequence[dict[str, Any]]) -> bytes:
        assert self._writer is not None, "start() first"
        arrays = []
        for column in self.columns:
            values = [record.get(column.name) for record in records]
            if column.kind == "json":
                values = [_json_text(v) for v in values]
            arrays.append(pa.array(values, type=ARROW_TYPES[column.kind]))
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self.schema))
        return self._sink.take()

    def finish(self) -> bytes:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return self._sink.take()


class NdjsonEncoder:
    """Lines serialised by the caller (``model_dump_json``), joined with newlines."""

    def start(self) -> bytes:
        return b""

    def batch(self, lines: Sequence[str]) -> bytes:
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""

    def finish(self) -> bytes:
        return b""
