"""``clusterbook import`` as a user runs it: a real subprocess talking HTTP to a live server (SQLite and
PostgreSQL behind it), with JSONL, CSV and Parquet files written in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

CLI = [sys.executable, "-m", "clusterbook.cli", "import"]


def run(server_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--url", server_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def documents(http: httpx.Client, collection: str, **headers: str) -> dict[str, dict[str, Any]]:
    body = {"include_vectors": True, "sort": {"field": "document_id", "direction": "asc"}}
    response = http.post(f"/v1/collections/{collection}/documents/list", json=body, params={"page_size": 100},
                         headers=headers)  # fmt: skip
    assert response.status_code == 200, response.text
    return {d["document_id"]: d for d in response.json()["results"]}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_jsonl_import_keeps_every_other_field_as_metadata_and_reimports_as_upserts(live_server, http, tmp_path):
    rows = [{"id": f"d{i:02d}", "text": f"story {i}", "vector": [i, 0.5, -1], "year": 2000 + i, "hot": i % 2 == 0,
             "tags": ["a", "b"], "source": {"name": "wire"}} for i in range(25)]  # fmt: skip
    path = write_jsonl(tmp_path / "news.jsonl", rows)
    done = run(live_server.url, str(path), "--collection", "news", "--batch-size", "10")
    assert done.returncode == 0, done.stderr
    collection = http.get("/v1/collections/news").json()
    assert done.stdout == collection["collection_id"] + "\n"  # nothing else on stdout
    assert "imported 25 of 25 rows into 'news'" in done.stderr
    assert collection["document_count"] == 25 and collection["vector_dimension"] == 3
    stored = documents(http, "news")
    assert stored["d03"]["text"] == "story 3"
    assert stored["d03"]["metadata"] == {"year": 2003, "hot": False, "tags": ["a", "b"], "source": {"name": "wire"}}
    assert stored["d03"]["vector"] == [3.0, 0.5, -1.0]

    rows[3]["text"] = "rewritten"
    write_jsonl(path, rows)
    again = run(live_server.url, str(path), "--collection", "news", "--batch-size", "7")
    assert again.returncode == 0, again.stderr
    assert again.stdout == done.stdout
    assert http.get("/v1/collections/news").json()["document_count"] == 25
    assert documents(http, "news")["d03"]["text"] == "rewritten"


def test_bad_jsonl_rows_are_reported_by_line_and_the_rest_imported(live_server, http, tmp_path):
    http.post("/v1/collections", json={"collection_name": "news"})
    http.post("/v1/collections/news/documents", json={"documents": [{"document_id": "seed", "vector": [1.0, 2.0]}]})
    rows: list[Any] = [{"id": f"ok{i}", "text": "fine", "vector": [1.0, float(i)]} for i in range(12)]
    rows[1] = "{not json"
    rows[2] = {"text": "no id"}
    rows[3] = {"id": "x3", "year": 1}
    rows[4] = {"id": "x4", "text": "t", "vector": [1.0, "two"]}
    rows[6] = {"id": "x6", "text": "t", "vector": [1.0, 2.0, 3.0]}  # the server refuses: the collection holds 2-d
    rows[8] = {"id": "x8", "text": "NUL \u0000 inside"}  # the server refuses: NUL
    rows[9] = [1, 2]
    rows.insert(5, "")  # a blank line is no row
    path = write_jsonl(tmp_path / "mixed.jsonl", rows)
    done = run(live_server.url, str(path), "--collection", "news", "--batch-size", "4")
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip().startswith("col_")
    lines = done.stderr.splitlines()
    expected = {
        "line 2": "is not valid JSON",
        "line 3": "missing id (field 'id')",
        "line 4": "neither text (field 'text') nor a vector (field 'vector')",
        "line 5": "vector (field 'vector') [1] is str, not a number",
        "line 8": "vector: has dimension 3 but collection 'news' holds 2-dimensional vectors",
        "line 10": "text: text may not contain NUL characters",
        "line 11": "is a JSON list, not an object",
    }
    for where, reason in expected.items():
        assert any(line.startswith(f"bad row {where}: ") and reason in line for line in lines), (where, done.stderr)
    assert sum(line.startswith("bad row") for line in lines) == len(expected)
    summary = lines[-1]
    assert summary.startswith("imported 5 of 12 rows into 'news', skipped 7 bad rows: line 2: is not valid JSON"), (
        summary
    )
    assert "Traceback" not in done.stderr
    assert set(documents(http, "news")) == {"seed", "ok0", "ok5", "ok7", "ok10", "ok11"}


def test_csv_import_with_quoted_multiline_text_and_vector_strings(live_server, http, tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text(
        "id,text,vector,lang,year\n"
        'a,"first, with a comma","[1.0, 2.0]",en,2020\n'
        'b,"spans\ntwo lines","[3, 4]",de,\n'
        ',no id,"[5, 6]",en,2021\n'
        'c,bad vector,"[5, oops]",en,2021\n'
        "d,too,many,fields,here,now\n"
        'e,,"[7, 8]",fr,1999\n'
        "f,,,en,2000\n",
        encoding="utf-8",
    )
    done = run(live_server.url, str(path), "--collection", "sheet")
    assert done.returncode == 1, done.stderr
    assert "bad row line 5: missing id (field 'id')" in done.stderr  # b's text spans lines 3-4
    assert "bad row line 6: vector (field 'vector') is not a JSON array of numbers" in done.stderr
    assert "bad row line 7: has 6 fields but the header has 5" in done.stderr
    assert "bad row line 9: neither text" in done.stderr
    assert "imported 3 of 7 rows into 'sheet', skipped 4 bad rows" in done.stderr
    stored = documents(http, "sheet")
    assert set(stored) == {"a", "b", "e"}
    assert stored["a"]["text"] == "first, with a comma" and stored["a"]["vector"] == [1.0, 2.0]
    assert stored["a"]["metadata"] == {"lang": "en", "year": "2020"}  # CSV values are text
    assert stored["b"]["text"] == "spans\ntwo lines" and stored["b"]["metadata"] == {
        "lang": "de"
    }  # empty cells left out
    assert stored["e"]["text"] is None and stored["e"]["vector"] == [7.0, 8.0]


def test_parquet_import_streams_batches_with_custom_fields(live_server, http, tmp_path):
    n = 23
    table = pa.table({
        "doc": [f"p{i:02d}" if i != 4 else None for i in range(n)],
        "body": [f"text {i}" for i in range(n)],
        "emb": pa.array([[float(i), 1.0] for i in range(n)], type=pa.list_(pa.float32())),
        "published": [datetime(2024, 1, 1 + i, tzinfo=UTC) for i in range(n)],
        "score": [i / 2 for i in range(n)],
        "ignored": ["x"] * n,
    })  # fmt: skip
    path = tmp_path / "docs.parquet"
    pq.write_table(table, path, row_group_size=5)
    done = run(live_server.url, str(path), "--collection", "pq", "--id-field", "doc", "--text-field", "body",
               "--vector-field", "emb", "--metadata-field", "published", "--metadata-field", "score",
               "--batch-size", "6")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "bad row row 5: missing id (field 'doc')" in done.stderr
    assert "imported 22 of 23 rows into 'pq', skipped 1 bad row: row 5: missing id" in done.stderr
    stored = documents(http, "pq")
    assert len(stored) == 22
    assert stored["p07"]["text"] == "text 7" and stored["p07"]["vector"] == [7.0, 1.0]
    assert stored["p07"]["metadata"] == {"published": "2024-01-08T00:00:00+00:00", "score": 3.5}
    filtered = http.post("/v1/collections/pq/documents/list", json={"filters": {"metadata.score": {"gte": 10}}})
    assert filtered.json()["total_count"] == 3


def test_format_option_namespace_and_env_url(live_server, http, tmp_path):
    http.post("/v1/namespaces", json={"namespace_name": "team-x"})
    path = write_jsonl(tmp_path / "data.txt", [{"id": "a", "text": "hello"}])
    unknown = run(live_server.url, str(path), "--collection", "c")
    assert unknown.returncode == 2 and "pass --format" in unknown.stderr
    done = subprocess.run(
        [*CLI, str(path), "--collection", "c", "--format", "jsonl", "--namespace", "team-x"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CLUSTERBOOK_URL": live_server.url},
    )
    assert done.returncode == 0, done.stderr
    assert http.get("/v1/collections/c").status_code == 404  # not in the default namespace
    assert set(documents(http, "c", **{"X-Namespace": "team-x"})) == {"a"}


def test_a_repeated_id_keeps_the_last_row(live_server, http, tmp_path):
    rows = [{"id": "a", "text": "first"}, {"id": "b", "text": "b"}, {"id": "a", "text": "second"}]
    done = run(live_server.url, str(write_jsonl(tmp_path / "r.jsonl", rows)), "--collection", "r")
    assert done.returncode == 0, done.stderr
    assert "imported 3 of 3 rows" in done.stderr
    assert documents(http, "r")["a"]["text"] == "second"


def test_fatal_errors_are_one_line_with_exit_code_2(live_server, tmp_path):
    jsonl = write_jsonl(tmp_path / "ok.jsonl", [{"id": "a", "text": "x"}])
    csv_path = tmp_path / "noid.csv"
    csv_path.write_text("key,text\n1,hello\n")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    cases = [
        ([str(jsonl), "--collection", "c"], "http://127.0.0.1:9", "cannot reach clusterbook at http://127.0.0.1:9"),
        ([str(tmp_path / "missing.jsonl"), "--collection", "c"], live_server.url, "no such file"),
        ([str(csv_path), "--collection", "c"], live_server.url, "has no column 'id' for the ids (columns: key, text)"),
        ([str(broken), "--collection", "c"], live_server.url, "is not a readable Parquet file"),
        ([str(jsonl), "--collection", "c", "--namespace", "ghost"], live_server.url, "namespace 'ghost' not found"),
        ([str(jsonl), "--collection", "col_x"], live_server.url, "cannot create collection 'col_x'"),
    ]
    for args, url, message in cases:
        done = subprocess.run([*CLI, *args, "--url", url], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stdout == "" and "Traceback" not in done.stderr


def test_progress_goes_to_stderr_only(live_server, http, tmp_path):
    rows = [{"id": f"d{i}", "text": "t" * 200} for i in range(300)]
    path = write_jsonl(tmp_path / "p.jsonl", rows)
    done = run(live_server.url, str(path), "--collection", "p", "--batch-size", "50", env={"TTY_COMPATIBLE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == http.get("/v1/collections/p").json()["collection_id"] + "\n"
    assert "imported 300 of 300 rows" in done.stderr


def test_rows_the_server_could_not_store_are_skipped_by_line_without_a_traceback(live_server, http, tmp_path):
    deep_metadata = '{"id": "deep", "text": "t", "meta": ' + '{"a": ' * 40 + "1" + "}" * 41
    lines = [
        '{"id": "ok1", "text": "fine"}',
        '{"id": "sur", "text": "lone \\ud800 surrogate"}',
        '{"id": "key", "text": "t", "\\udfff": 1}',
        deep_metadata,
        "[" * 100_000 + "]" * 100_000,  # deeper than Python's JSON parser goes
        '{"id": "ok2", "text": "fine", "tags": ["\\ud83d\\ude00"]}',
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "latin", "text": "caf\xe9"}\n')
    done = run(live_server.url, str(path), "--collection", "hostile", "--batch-size", "2")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    expected = {
        "line 2": "text: text may not contain lone UTF-16 surrogates",
        "line 3": "metadata: metadata: keys may not contain lone UTF-16 surrogates",
        "line 4": "metadata: metadata.meta.a.a",
        "line 5": "is nested too deeply to read",
        "line 7": "is not UTF-8 text",
    }
    bad = [line for line in done.stderr.splitlines() if line.startswith("bad row")]
    for where, reason in expected.items():
        assert any(line.startswith(f"bad row {where}: ") and reason in line for line in bad), (where, done.stderr)
    assert len(bad) == len(expected)
    assert "nested at most 32 levels" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("imported 2 of 7 rows into 'hostile', skipped 5 bad rows: line 2")
    stored = documents(http, "hostile")
    assert set(stored) == {"ok1", "ok2"}
    assert stored["ok2"]["metadata"] == {"tags": ["\N{GRINNING FACE}"]}


def test_a_csv_line_that_is_not_utf8_is_one_bad_row(live_server, http, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"id,text\na,first\nb,caf\xe9 latin-1\nc,third\n")
    done = run(live_server.url, str(path), "--collection", "sheet")
    assert done.returncode == 1, done.stderr
    assert "bad row line 3: is not UTF-8 text" in done.stderr
    assert "imported 2 of 3 rows into 'sheet', skipped 1 bad row" in done.stderr
    assert set(documents(http, "sheet")) == {"a", "c"}


def corrupt_parquet(path: Path, rows: int = 30, group: int = 10) -> Path:
    """A Parquet file of ``rows`` rows in row groups of ``group``, whose second row group has a garbled page header."""
    table = pa.table({"id": [f"p{i:02d}" for i in range(rows)], "text": [f"text number {i}" for i in range(rows)]})
    pq.write_table(table, path, row_group_size=group, compression="none")
    column = pq.ParquetFile(path).metadata.row_group(1).column(1)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start : start + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    return path


def test_a_corrupt_parquet_page_skips_its_row_group_and_keeps_the_rest(live_server, http, tmp_path):
    path = corrupt_parquet(tmp_path / "corrupt.parquet")
    done = run(live_server.url, str(path), "--collection", "pq", "--batch-size", "4")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "bad row rows 11-20: cannot be read (" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("imported 20 of 30 rows into 'pq', skipped 10 bad rows: rows 11-20")
    assert set(documents(http, "pq")) == {f"p{i:02d}" for i in (*range(10), *range(20, 30))}


def test_a_truncated_parquet_file_is_one_line_and_exit_code_2(live_server, http, tmp_path):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x", "y"]}), whole)
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    done = run(live_server.url, str(truncated), "--collection", "pq")
    assert done.returncode == 2, done.stderr
    assert "truncated.parquet is not a readable Parquet file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert http.get("/v1/collections/pq").status_code == 404  # nothing created before the file was found unreadable
