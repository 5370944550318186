"""Memory and speed of a full history export: the server's resident memory must stay flat.

Seeds N runs (default 1,000,000, all in ONE cluster) with ``clusterbook.store.seed`` into SQLite
and/or PostgreSQL (``bench_list``'s targets, reusable with ``--reuse``), starts ``clusterbook serve``
as a subprocess on a free port of its own, warms it up (a listing and a small export), then exports
the whole cluster once per format through the SDK (``client.executions.export``, streamed to a temp
file) while a thread samples the server's VmRSS every 20 ms. Prints per format: rows, bytes,
seconds, rows/s, the server's RSS before, its peak during the export and the growth (goal: a few
tens of MB at most, whatever N), and the growth per million rows.

Usage::

    python benchmarks/bench_export.py                                   # 1M runs, both databases
    python benchmarks/bench_export.py --executions 100000 --databases sqlite
    python benchmarks/bench_export.py --reuse --formats csv,parquet,ndjson

Figures are printed, never asserted: this is a benchmark, not a test. On a loaded machine the
rows/s drop; the memory growth should not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_list import DEFAULT_POSTGRES_URL, Target, prepare, targets_of  # noqa: E402

from clusterbook.api.background import free_port  # noqa: E402
from clusterbook.client import Client  # noqa: E402

MB = 1024 * 1024


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (``VmRSS``), or one part of it (``RssAnon``: heap and stacks;
    ``RssFile``: mapped files such as libraries)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for process {pid}")


class Sampler:
    """The peak VmRSS of a process while the block runs, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self.peak_anon = max(self.peak_anon, rss_bytes(self.pid, "RssAnon"))
            time.sleep(self.interval)

    def __enter__(self) -> Sampler:
        self.peak = rss_bytes(self.pid)
        self.peak_anon = rss_bytes(self.pid, "RssAnon")
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CLUSTERBOOK_SECRET_KEY": "bench-export"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clusterbook.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
            "--workers",
            "0",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 120 s")


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with path.open("rb") as handle:
        lines = sum(1 for _ in handle)
    return lines - 1 if fmt == "csv" else lines


def measure(target: Target, cluster_id: str, formats: list[str], port: int, repeat: int) -> None:
    server = serve(target.url, port)
    try:
        with Client(f"http://127.0.0.1:{port}", timeout=600) as client, tempfile.TemporaryDirectory() as folder:
            # warm up: imports, the first connections, pyarrow, a small export of each format
            client.executions.list(cluster_id, page_size=100)
            recent = {"field": "created_at", "operator": "gte", "value": "2100-01-01T00:00:00Z"}
            for fmt in formats:
                client.executions.export(cluster_id, to=Path(folder) / f"warm.{fmt}", format=fmt, filters=recent)  # type: ignore[arg-type]
            print(f"  {'format':8} {'rows':>10} {'MB':>8} {'seconds':>8} {'rows/s':>9} {'RSS before':>11} "
                  f"{'RSS peak':>9} {'growth MB':>10} {'heap growth':>12} {'after':>8}")  # fmt: skip
            for fmt in [f for f in formats for _ in range(repeat)]:
                path = Path(folder) / f"runs.{fmt}"
                before = rss_bytes(server.pid)
                before_anon = rss_bytes(server.pid, "RssAnon")
                started = time.perf_counter()
                with Sampler(server.pid) as sampler:
                    written = client.executions.export(cluster_id, to=path, format=fmt)  # type: ignore[arg-type]
                seconds = time.perf_counter() - started
                rows = count_rows(path, fmt)
                growth = max(0, sampler.peak - before)
                heap = max(0, sampler.peak_anon - before_anon)
                print(
                    f"  {fmt:8} {rows:>10,} {written / MB:>8.1f} {seconds:>8.1f} {rows / seconds:>9,.0f} "
                    f"{before / MB:>10.1f}M {sampler.peak / MB:>8.1f}M {growth / MB:>10.1f} {heap / MB:>12.1f} "
                    f"{rss_bytes(server.pid) / MB:>7.1f}M",
                    flush=True,
                )
                path.unlink()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000, help="runs to seed (default 1,000,000)")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--sqlite-path", type=Path, default=None, help="SQLite file (default: in the temp dir)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help=f"default {DEFAULT_POSTGRES_URL}")
    parser.add_argument(
        "--postgres-schema", default="bench_export", help="schema to seed into (dropped unless --reuse)"
    )
    parser.add_argument("--reuse", action="store_true", help="skip seeding when the database already holds the rows")
    parser.add_argument("--formats", default="csv,parquet", help="comma-separated: csv, parquet, ndjson")
    parser.add_argument("--port", type=int, default=None, help="the server's port (default: a free one)")
    parser.add_argument("--repeat", type=int, default=1, help="exports per format (a leak grows with each)")
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    for target in targets_of(parser, args):
        print(f"{target.name}: {target.describe}")
        cluster_id = prepare(target, args.executions, 1, args.reuse)
        measure(target, cluster_id, formats, args.port or free_port(), args.repeat)


if __name__ == "__main__":
    main()
