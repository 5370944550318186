"""``clusterbook import`` refuses a vector component float32 cannot hold (the server names it), reporting
the row by line, and imports the rest: a real subprocess against a live server, both databases."""

from __future__ import annotations

import json

from tests.cli.test_import import documents, run, write_jsonl


def test_a_vector_beyond_float32_is_a_bad_row_naming_the_component(live_server, http, tmp_path):
    rows = [{"id": f"d{i}", "vector": [1.0, 2.0, 3.0]} for i in range(4)]
    rows[2]["vector"] = [1.0, 1e300, 3.0]  # finite as a double, infinity as float32
    path = write_jsonl(tmp_path / "vectors.jsonl", [json.dumps(row) for row in rows])
    done = run(live_server.url, str(path), "--collection", "vecs")
    assert done.returncode != 2, done.stderr
    assert "imported 3 of 4 rows into 'vecs'" in done.stderr
    assert "line 3: vector[1]: is 1e+300, outside float32's range" in done.stderr
    stored = documents(http, "vecs")
    assert sorted(stored) == ["d0", "d1", "d3"]
