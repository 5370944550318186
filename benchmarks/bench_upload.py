"""Memory of a large document upload: the server process's RSS before, at its peak during, and after.

Starts a real server process per measurement (a fresh SQLite file, or ``--database-url``), uploads
N × d vectors (default 7,800 × 4,096, small integers, so the JSON-list body is about 61 MiB as in issue
10) in one request, and samples the server's RSS from /proc every 5 ms (plus the kernel's own
high-water mark, VmHWM, reset just before the upload). Formats, interleaved per repeat:

    json-old   the pre-streaming path: the whole body parsed by pydantic into DocumentIn objects
               (Python floats), then stored — a route the benchmark adds to its server for comparison
    json       the upload route, JSON lists, parsed one document at a time
    json-b64   the upload route, JSON with vector_b64 (base64 of little-endian float32)
    arrow      the upload route, an Arrow IPC stream (fixed_size_list<float32>)

It prints, per format, medians over repeats of: body MiB, baseline / peak / after MiB, and the peak's
growth over the baseline divided by the body's bytes (the goal for the upload route: at most 3×), and
the upload's seconds. Figures are printed, never asserted.

Usage::

    python benchmarks/bench_upload.py                        # 7,800 × 4,096, every format, once
    python benchmarks/bench_upload.py --docs 2000 --dims 1024 --repeat 3 --formats json,arrow
    python benchmarks/bench_upload.py --formats json --no-trim   # "after" without malloc_trim(0)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from clusterbook.api.uploads import ARROW_TYPE

FORMATS = ("json-old", "json", "json-b64", "arrow")
MiB = 1024 * 1024

SERVER = r"""
import sys
import uvicorn
from fastapi import Request
from clusterbook.api.app import create_app
from clusterbook.models.collections import DocumentsUpsert
from clusterbook.settings import Settings
from clusterbook.store import documents as docs
from clusterbook.store.collections import read_collection
from clusterbook.store.db import transaction

settings = Settings(database_url=sys.argv[1], port=int(sys.argv[2]), workers=0, secret_key="bench",
                    max_body_bytes=256 * 1024 * 1024, max_upload_bytes=256 * 1024 * 1024,
                    upload_budget_bytes=256 * 1024 * 1024)
app = create_app(settings)
if sys.argv[3] == "no-trim":  # to measure what malloc_trim gives back
    import clusterbook.api.limits as limits
    limits._TRIM = None

@app.post("/bench/old-upload/{namespace_id}/{collection}")
async def old_upload(namespace_id: str, collection: str, request: Request) -> dict:
    # What FastAPI did before streaming: the whole body to Python objects, validated as DocumentIn.
    data = DocumentsUpsert.model_validate_json(await request.body())
    def write() -> int:
        with transaction(app.state.write_sessionmaker) as session:
            found = read_collection(session, namespace_id=namespace_id, collection_ref=collection)
            return docs.upsert_documents(session, collection=found, docs=data.documents).created
    import anyio
    return {"created": await anyio.to_thread.run_sync(write)}

uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.005)


def bodies(n: int, d: int, seed: int = 0) -> dict[str, tuple[bytes, str]]:
    """Each format's body for the same documents: vectors of small integers (so JSON lists stay short)."""
    vectors = np.random.default_rng(seed).integers(0, 10, size=(n, d)).astype(np.float32)
    ids = [f"doc-{i:05}" for i in range(n)]
    lists = {
        "documents": [{"document_id": i, "vector": v.astype(int).tolist()} for i, v in zip(ids, vectors, strict=True)]
    }
    as_json = json.dumps(lists, separators=(",", ":")).encode()
    coded = [
        {"document_id": i, "vector_b64": base64.b64encode(v.tobytes()).decode()}
        for i, v in zip(ids, vectors, strict=True)
    ]
    as_b64 = json.dumps({"documents": coded}, separators=(",", ":")).encode()
    table = pa.table(
        {"document_id": ids, "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), d)}
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=1000)
    as_arrow = sink.getvalue().to_pybytes()
    return {
        "json-old": (as_json, "application/json"),
        "json": (as_json, "application/json"),
        "json-b64": (as_b64, "application/json"),
        "arrow": (as_arrow, ARROW_TYPE),
    }


@dataclass
class Figures:
    body: float
    baseline: float
    peak: float
    after: float
    seconds: float

    @property
    def ratio(self) -> float:
        return (self.peak - self.baseline) / self.body


def measure(fmt: str, body: bytes, content_type: str, database_url: str | None, trim: bool = True) -> Figures:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        port = free_port()
        env = {**os.environ, "CLUSTERBOOK_LOG_LEVEL": "warning"}
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, url, str(port), "trim" if trim else "no-trim"], env=env
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=600) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not start")
                    time.sleep(0.1)
                name = f"bench{int(time.time() * 1000)}"
                created = http.post("/v1/collections", json={"collection_name": name}).raise_for_status().json()
                old = f"/bench/old-upload/{created['namespace_id']}/{name}"
                path = old if fmt == "json-old" else f"/v1/collections/{name}/documents"
                warm = {"documents": [{"document_id": "warm", "vector": [0] * 4}]}
                http.post(path, json=warm).raise_for_status()  # imports and first-use costs out of the baseline
                http.post(f"/v1/collections/{name}/documents/delete", json={"document_ids": ["warm"]})
                time.sleep(0.5)
                baseline = rss_mib(server.pid)
                hwm = reset_peak(server.pid)
                sampler = Sampler(server.pid)
                sampler.start()
                started = time.perf_counter()
                response = http.post(path, content=body, headers={"content-type": content_type})
                seconds = time.perf_counter() - started
                sampler.stop.set()
                sampler.join()
                response.raise_for_status()
                peak = max(sampler.peak, rss_mib(server.pid, "VmHWM") if hwm else 0.0)
                time.sleep(1.0)
                after = rss_mib(server.pid)
                if database_url:
                    http.delete(f"/v1/collections/{name}")
        finally:
            server.terminate()
            server.wait(30)
    return Figures(len(body) / MiB, baseline, peak, after, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=7800)
    parser.add_argument("--dims", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file per measurement")
    parser.add_argument(
        "--no-trim", action="store_true", help="skip malloc_trim after uploads (to see what it returns)"
    )
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown formats {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    made = bodies(args.docs, args.dims)
    print(f"{args.docs:,} × {args.dims:,} vectors; float32 payload {args.docs * args.dims * 4 / MiB:.1f} MiB")
    results: dict[str, list[Figures]] = {f: [] for f in formats}
    for _ in range(args.repeat):
        for fmt in formats:  # interleaved: each repeat runs every format once
            body, content_type = made[fmt]
            results[fmt].append(measure(fmt, body, content_type, args.database_url, trim=not args.no_trim))
    print(
        f"{'format':<10} {'body MiB':>9} {'base MiB':>9} {'peak MiB':>9} {'after MiB':>10} {'peak growth / body':>19} {'seconds':>8}"
    )
    for fmt, runs in results.items():
        med = {
            k: statistics.median(getattr(r, k) for r in runs) for k in ("body", "baseline", "peak", "after", "seconds")
        }
        ratio = statistics.median(r.ratio for r in runs)
        print(
            f"{fmt:<10} {med['body']:>9.1f} {med['baseline']:>9.0f} {med['peak']:>9.0f} {med['after']:>10.0f} "
            f"{ratio:>18.2f}× {med['seconds']:>8.1f}"
        )
    print("goal for the upload route: peak growth ≤ 3× the body's bytes (json-old is the path before streaming)")


if __name__ == "__main__":
    main()
