"""``clusterbook import``: stream a JSONL, CSV or Parquet file into a collection over HTTP.

Rows are read one at a time (Parquet in record batches) and sent in batches; a bad row (unparsable,
no id, neither text nor vector, a bad vector, or refused by the server) is reported with its line
(row, for Parquet) and skipped while the good rows are kept. Exit code 0 when every row was
imported, 1 when some were bad, 2 on a fatal error (server unreachable, unreadable file, …).

A row's ``metadata`` object, when it has one, is the document's metadata (the shape ``clusterbook
export`` and ``POST …/documents/export`` write), so an export imports back unchanged.

Each row is checked against the wire model first (what the server would refuse, or what could not
even be encoded, such as a lone surrogate), so most bad rows never travel. The HTTP calls go through
the Python SDK (``clusterbook.client``), in :class:`ImportClient` alone.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from clusterbook.errors import ErrorLocation

console = Console(stderr=True)

DEFAULT_URL = "http://127.0.0.1:8000"
MAX_VECTOR_DIMENSION = 4096
SHOWN_BAD_ROWS = 100
"""Bad rows listed one per line; the summary counts them all."""
DOCUMENT_LOC = re.compile(r"documents\[(\d+)\]\.?(.*)")
METADATA_KEY = "metadata"
"""A row's field holding an object is the document's metadata itself (other leftover fields join it)."""


class ImportFailed(Exception):
    """A fatal problem: the import stops (exit code 2) with this one-line message."""


class BatchRejected(Exception):
    """The server refused part of a batch because of some of its documents: the first ``written``
    documents were upserted; ``bad`` holds the indexes (counted from there) and reasons of the refused."""

    def __init__(self, written: int, bad: dict[int, str]) -> None:
        super().__init__(f"{len(bad)} documents refused")
        self.written = written
        self.bad = bad


class FileFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


FORMAT_BY_SUFFIX = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


# ---------------------------------------------------------------- HTTP (through clusterbook.client)


class ImportClient:
    """The server calls an import needs, through the SDK: find or create the collection, upsert a
    batch. Errors are told apart by their code (the SDK's exception class), never by message text."""

    def __init__(
        self, base_url: str, namespace: str | None = None, *, api_key: str | None = None, timeout: float = 300.0
    ) -> None:
        from clusterbook.client import Client

        self.base_url = base_url.rstrip("/")
        self._client = Client(self.base_url, api_key=api_key, namespace=namespace, timeout=timeout, backoff=0.25)

    def __enter__(self) -> ImportClient:
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()

    def _unreachable(self, exc: Exception) -> ImportFailed:
        return ImportFailed(f"cannot reach clusterbook at {self.base_url} ({exc}); start it with "
                            "`clusterbook serve` or point --url (CLUSTERBOOK_URL) at it")  # fmt: skip

    def ensure_collection(self, name: str) -> tuple[dict[str, Any], bool]:
        """The collection called ``name`` and whether this call created it."""
        from clusterbook.client import ConnectionFailed
        from clusterbook.errors import ClusterbookError, Conflict, NotFound

        try:
            for _ in range(2):
                try:
                    return self._client.collections.get(name).to_dict(), False
                except NotFound:
                    pass  # or the namespace is missing: creating says which
                except ConnectionFailed:
                    raise
                except ClusterbookError as exc:
                    raise ImportFailed(f"cannot read collection {name!r}: {exc}") from None
                try:
                    return self._client.collections.create(name).to_dict(), True
                except Conflict:
                    continue  # created meanwhile by someone else; read it again
                except ConnectionFailed:
                    raise
                except ClusterbookError as exc:
                    raise ImportFailed(f"cannot create collection {name!r}: {exc}") from None
        except ConnectionFailed as exc:
            raise self._unreachable(exc) from None
        raise ImportFailed(f"collection {name!r} keeps disappearing; is another process deleting it?")

    def upsert(self, collection_id: str, documents: list[dict[str, Any]]) -> None:
        """Upsert one batch; raises BatchRejected when the server names the documents at fault."""
        from clusterbook.client import ConnectionFailed
        from clusterbook.errors import ClusterbookError, PayloadTooLarge, ValidationFailed

        try:
            self._client.documents.upsert(collection_id, documents, batch_size=len(documents))
        except ConnectionFailed as exc:
            raise self._unreachable(exc) from None
        except PayloadTooLarge as exc:
            raise ImportFailed(f"the server refused a batch of {len(documents):,} documents as too large "
                               f"({exc}); use a smaller --batch-size") from None  # fmt: skip
        except ClusterbookError as exc:
            bad = _documents_at_fault(exc.errors) if exc.code == ValidationFailed.code else {}
            if bad:
                # The SDK may have split the batch into several requests; those before the refused one are written.
                raise BatchRejected(int(exc.extra.get("documents_upserted", 0)), bad) from None
            raise ImportFailed(f"the server refused a batch: {exc}") from None


def _documents_at_fault(errors: list[ErrorLocation]) -> dict[int, str]:
    """{index: reason} when every error of a refusal points into ``documents[i]``, else {}."""
    bad: dict[int, list[str]] = {}
    for error in errors:
        match = DOCUMENT_LOC.fullmatch(error.loc)
        if match is None:
            return {}
        where = match.group(2)
        bad.setdefault(int(match.group(1)), []).append(f"{where}: {error.message}" if where else error.message)
    return {index: "; ".join(reasons) for index, reasons in bad.items()}


# ---------------------------------------------------------------- reading rows


@dataclass(frozen=True)
class Fields:
    """Which field of a row is the id, the text and the vector; which go into metadata (None: all others)."""

    id: str = "id"
    text: str = "text"
    vector: str = "vector"
    metadata: tuple[str, ...] | None = None


@dataclass
class Row:
    where: str
    """'line 17' or 'row 17' (or 'rows 11-20' for an unreadable stretch): how the report names it."""
    document: dict[str, Any] | None = None
    problem: str | None = None
    count: int = 1
    """Rows this stands for (more than one only for an unreadable stretch of a Parquet file)."""


def _jsonable(value: Any) -> Any:
    """A metadata value as JSON: timestamps as ISO text, decimals as numbers, NaN/Infinity as null."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _jsonable(float(value))
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _vector(raw: Any) -> list[float]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError("is not a JSON array of numbers") from None
    if hasattr(raw, "tolist"):  # numpy arrays
        raw = raw.tolist()
    if not isinstance(raw, list) or not raw:
        raise ValueError("must be a non-empty list of numbers")
    if len(raw) > MAX_VECTOR_DIMENSION:
        raise ValueError(f"has {len(raw)} numbers; at most {MAX_VECTOR_DIMENSION}")
    for i, item in enumerate(raw):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"[{i}] is {type(item).__name__}, not a number")
        if not math.isfinite(item):
            raise ValueError(f"[{i}] is not finite")
    return raw


def to_document(record: dict[str, Any], fields: Fields) -> tuple[dict[str, Any] | None, str | None]:
    """A row as an upsert document, or the reason it cannot be one."""
    raw_id = record.get(fields.id)
    if raw_id is None or raw_id == "":
        return None, f"missing id (field {fields.id!r})"
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        return None, f"id (field {fields.id!r}) must be text or an integer, not {type(raw_id).__name__}"
    text = record.get(fields.text)
    if text is not None and not isinstance(text, str):
        text = str(text)
    document: dict[str, Any] = {"document_id": str(raw_id)}
    if text:
        document["text"] = text
    raw_vector = record.get(fields.vector)
    if raw_vector is not None and raw_vector != "":
        try:
            document["vector"] = _vector(raw_vector)
        except ValueError as exc:
            return None, f"vector (field {fields.vector!r}) {exc}"
    if "text" not in document and "vector" not in document:
        return None, f"neither text (field {fields.text!r}) nor a vector (field {fields.vector!r})"
    if fields.metadata is None:
        skip = {fields.id, fields.text, fields.vector}
        nested = record.get(METADATA_KEY)
        if isinstance(nested, dict):  # the shape `clusterbook export` writes: metadata as one object
            skip.add(METADATA_KEY)
        metadata = {k: _jsonable(v) for k, v in record.items() if k not in skip}
        if isinstance(nested, dict):
            metadata = {**{str(k): _jsonable(v) for k, v in nested.items()}, **metadata}
    else:
        metadata = {k: _jsonable(record[k]) for k in fields.metadata if k in record}
    if metadata:
        document["metadata"] = metadata
    refusal = _refusal(document)
    return (None, refusal) if refusal else (document, None)


def _refusal(document: dict[str, Any]) -> str | None:
    """What the wire model (so the server) refuses in a document, said the way the server says it."""
    from pydantic import ValidationError

    from clusterbook.models.collections import DocumentIn

    try:
        DocumentIn.model_validate(document)
    except ValidationError as exc:
        reasons = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            reasons.append(f"{where}: {message}" if where else message)
        return "; ".join(reasons)
    return None


def _row(where: str, record: Any, fields: Fields) -> Row:
    if not isinstance(record, dict):
        return Row(where, problem=f"is a JSON {type(record).__name__}, not an object")
    try:
        document, problem = to_document(record, fields)
    except RecursionError:
        return Row(where, problem="is nested too deeply to import")
    return Row(where, document, problem)


ProgressFn = Callable[[int], None]


def read_jsonl(path: Path, fields: Fields, progress: ProgressFn) -> Iterator[Row]:
    """One JSON object per line; blank lines are skipped. Progress in bytes."""
    done = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            done += len(raw)
            progress(done)
            if not raw.strip():
                continue
            where = f"line {number}"
            try:
                record = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            except UnicodeDecodeError:
                yield Row(where, problem="is not UTF-8 text")
                continue
            except RecursionError:
                yield Row(where, problem="is nested too deeply to read")
                continue
            except ValueError as exc:
                yield Row(where, problem=f"is not valid JSON ({exc})")
                continue
            yield _row(where, record, fields)


def _check_columns(path: Path, columns: list[str], fields: Fields) -> None:
    shown = ", ".join(columns[:30]) or "(none)"
    if fields.id not in columns:
        raise ImportFailed(f"{path.name} has no column {fields.id!r} for the ids (columns: {shown}); "
                           "name the id column with --id-field")  # fmt: skip
    if fields.text not in columns and fields.vector not in columns:
        raise ImportFailed(f"{path.name} has neither a {fields.text!r} nor a {fields.vector!r} column (columns: "
                           f"{shown}); name them with --text-field / --vector-field")  # fmt: skip
    missing = [name for name in fields.metadata or () if name not in columns]
    if missing:
        raise ImportFailed(f"{path.name} has no column {missing[0]!r} (--metadata-field); columns: {shown}")


def read_csv(path: Path, fields: Fields, progress: ProgressFn) -> Iterator[Row]:
    """A header line, then one record per row (quoted fields may span lines; a row is named by the
    line it starts on). Every value is text; empty cells are left out; the vector is a JSON array.
    A row on a line that is not UTF-8 is a bad row (the header must be UTF-8)."""
    position = {"line": 0, "bytes": 0}
    not_utf8: set[int] = set()

    def lines() -> Iterator[str]:
        with path.open("rb") as handle:
            for raw in handle:
                position["line"] += 1
                position["bytes"] += len(raw)
                try:
                    yield raw.decode("utf-8-sig" if position["line"] == 1 else "utf-8")
                except UnicodeDecodeError:
                    if position["line"] == 1:
                        raise ImportFailed(f"{path.name} line 1 (the header) is not UTF-8 text") from None
                    not_utf8.add(position["line"])
                    yield raw.decode("utf-8", "replace")

    reader = csv.reader(lines())
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ImportFailed(f"{path.name} has an unreadable header: {exc}") from None
    _check_columns(path, header, fields)
    while True:
        start = position["line"] + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(f"line {start}", problem=f"is not valid CSV ({exc})")
            continue
        progress(position["bytes"])
        if not values:
            continue
        if not_utf8.intersection(range(start, position["line"] + 1)):
            yield Row(f"line {start}", problem="is not UTF-8 text")
            continue
        if len(values) != len(header):
            yield Row(f"line {start}", problem=f"has {len(values)} fields but the header has {len(header)}")
            continue
        yield _row(f"line {start}", {k: v for k, v in zip(header, values, strict=True) if v != ""}, fields)


def read_parquet(path: Path, fields: Fields, progress: ProgressFn, batch_size: int) -> Iterator[Row]:
    """Record batches streamed from the file (never the whole table), one row group at a time, so a
    corrupt page costs only the rest of its row group (reported as one bad stretch); progress in rows."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for an unreadable file
        raise ImportFailed(f"{path.name} is not a readable Parquet file: {exc}") from None
    _check_columns(path, list(parquet.schema_arrow.names), fields)
    number = 0
    for group in range(parquet.metadata.num_row_groups):
        end = number + parquet.metadata.row_group(group).num_rows
        try:
            for batch in parquet.iter_batches(batch_size=max(1, min(batch_size, 10_000)), row_groups=[group]):
                for record in batch.to_pylist():
                    number += 1
                    yield _row(f"row {number}", record, fields)
                progress(number)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a corrupt page
            if end > number:
                where = f"row {end}" if end == number + 1 else f"rows {number + 1}-{end}"
                reason = " ".join(str(exc).split())[:300] or type(exc).__name__
                yield Row(where, problem=f"cannot be read ({reason})", count=end - number)
            number = end
            progress(number)


def parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # noqa: BLE001 - reported properly when the rows are read
        return 0


# ---------------------------------------------------------------- the import


@dataclass
class Report:
    collection: dict[str, Any]
    on_bad: Callable[[str, str], None] = lambda where, why: None
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)

    def bad_row(self, row: Row, why: str) -> None:
        self.skipped += row.count
        self.bad.append((row.where, why))
        self.on_bad(row.where, why)


def send(client: ImportClient, collection_id: str, batch: list[Row], report: Report) -> None:
    """Upsert a batch; rows the server refuses are reported and the rest sent again without them."""
    while batch:
        try:
            client.upsert(collection_id, [row.document for row in batch if row.document is not None])
        except BatchRejected as exc:
            report.imported += exc.written
            batch = batch[exc.written :]
            if not exc.bad or max(exc.bad) >= len(batch):
                raise ImportFailed("the server refused a batch without saying which documents were bad") from None
            for i, reason in sorted(exc.bad.items()):
                report.bad_row(batch[i], reason)
            batch = [row for i, row in enumerate(batch) if i not in exc.bad]
            continue
        report.imported += len(batch)
        return


def run_import(
    client: ImportClient,
    rows: Iterator[Row],
    collection_name: str,
    batch_size: int,
    on_bad: Callable[[str, str], None] = lambda where, why: None,
) -> Report:
    first = next(rows, None)  # opens the file and checks its columns before anything is created
    collection, _ = client.ensure_collection(collection_name)
    report = Report(collection, on_bad)
    batch: list[Row] = []
    ids: set[str] = set()

    def flush() -> None:
        nonlocal batch
        send(client, collection["collection_id"], batch, report)
        batch = []
        ids.clear()

    for row in itertools.chain([] if first is None else [first], rows):
        report.rows += row.count
        if row.document is None:
            report.bad_row(row, row.problem or "unreadable")
            continue
        if row.document["document_id"] in ids:
            flush()  # a later row with the same id replaces the earlier one, as across batches
        batch.append(row)
        ids.add(row.document["document_id"])
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def summary(report: Report, name: str) -> str:
    """One line: imported and skipped counts, and the first few bad rows."""
    text = f"imported {report.imported:,} of {report.rows:,} rows into {name!r}"
    if report.skipped:
        shown = "; ".join(f"{where}: {why}" for where, why in report.bad[:3])
        more = f"; … and {len(report.bad) - 3:,} more" if len(report.bad) > 3 else ""
        text += f", skipped {report.skipped:,} bad row{'s' if report.skipped > 1 else ''}: {shown}{more}"
    return text


def import_command(
    file: Annotated[Path, typer.Argument(help="A .jsonl, .csv or .parquet file.", show_default=False)],
    collection: Annotated[str, typer.Option("--collection", help="Collection to fill (created if missing).")],
    text_field: Annotated[str, typer.Option("--text-field", help="Field holding the text.")] = "text",
    vector_field: Annotated[str, typer.Option("--vector-field", help="Field holding the vector.")] = "vector",
    id_field: Annotated[str, typer.Option("--id-field", help="Field holding the document id.")] = "id",
    metadata_field: Annotated[
        list[str] | None,
        typer.Option("--metadata-field", help="Field to keep as metadata (repeatable; default: every other field)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=10_000, help="Documents per request.")] = 1000,
    file_format: Annotated[
        FileFormat | None, typer.Option("--format", help="File format (default: from the extension).")
    ] = None,
    url: Annotated[str, typer.Option("--url", envvar="CLUSTERBOOK_URL", help="The clusterbook server.")] = DEFAULT_URL,
    namespace: Annotated[
        str | None, typer.Option("--namespace", envvar="CLUSTERBOOK_NAMESPACE", help="Namespace (default: default).")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="CLUSTERBOOK_API_KEY", help="API key (sent as a Bearer token).")
    ] = None,
) -> None:
    """Import documents from a JSONL, CSV or Parquet file into a collection (upserting by id).

    Bad rows are listed by line (row, for Parquet) and skipped. Prints the collection id on stdout.
    Exit code: 0 all rows imported, 1 some rows bad, 2 failed.
    """
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    fields = Fields(id_field, text_field, vector_field, tuple(metadata_field) if metadata_field else None)
    try:
        if not file.is_file():
            raise ImportFailed(f"no such file: {file}")
        kind = file_format.value if file_format else FORMAT_BY_SUFFIX.get(file.suffix.lower())
        if kind is None:
            raise ImportFailed(f"cannot tell the format of {file.name} from its extension; pass --format "
                               "jsonl, csv or parquet")  # fmt: skip
        total = parquet_rows(file) if kind == "parquet" else file.stat().st_size
        with (
            ImportClient(url, namespace, api_key=api_key) as client,
            Progress(
                TextColumn(f"importing {escape(file.name)}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                console=console, transient=True, disable=not console.is_terminal,
            ) as progress,
        ):  # fmt: skip
            task = progress.add_task("import", total=total or None)

            def advance(done: int) -> None:
                progress.update(task, completed=done)

            def on_bad(where: str, why: str) -> None:
                shown[0] += 1
                if shown[0] <= SHOWN_BAD_ROWS:
                    progress.console.print(
                        f"[yellow]bad row[/] {escape(where)}: {escape(why)}", highlight=False, soft_wrap=True
                    )

            shown = [0]
            if kind == "jsonl":
                rows = read_jsonl(file, fields, advance)
            elif kind == "csv":
                rows = read_csv(file, fields, advance)
            else:
                rows = read_parquet(file, fields, advance, batch_size)
            report = run_import(client, rows, collection, batch_size, on_bad)
    except ImportFailed as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(summary(report, collection), highlight=False, markup=False, soft_wrap=True)
    typer.echo(report.collection["collection_id"])
    raise typer.Exit(1 if report.bad else 0)
