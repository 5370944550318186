"""Small runs under competition: the thread budget against the libraries' default threads.

Each measurement starts ``concurrency`` fresh processes that import the engine, build the 480-document
demo corpus, warm up once, and then — released together — compute one run each (tfidf-svd embedding,
clustering, metrics, labels, projection: ``engine.run_pipeline``) and report its compute seconds.
"budget" processes run under ``threadpool_limits(cores ÷ concurrency)``, as the runner's compute
processes do (``runner/compute.py``); "default" ones keep the libraries' own thread counts. Variants
are interleaved per repeat and the table shows medians, so a busy shared machine affects both sides.

The second table starts the real ``clusterbook serve --demo`` on a fresh SQLite file and reports how
long after the start the demo clusters' runs have ended, then every run with the nightly history,
then the history moved back to its nights (``runner/demo_history.py``).

Usage::

    python benchmarks/bench_small_runs.py                 # 5 repeats, both tables
    python benchmarks/bench_small_runs.py --repeat 9 --no-demo
    python benchmarks/bench_small_runs.py --demo-only

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from clusterbook.settings import available_cores

RUNS = {
    "kmeans k=6": ("kmeans", {"n_clusters": 6}),
    "kmeans auto": ("kmeans", {"n_clusters": "auto"}),
    "hdbscan": ("hdbscan", {}),
}


def child(name: str, threads: int) -> None:
    """One competing process: prepare, say ready, wait for the start line, compute, print seconds."""
    from threadpoolctl import threadpool_limits

    from clusterbook.demo.corpus import demo_documents
    from clusterbook.engine import EngineInput, RunConfig, run_pipeline, validate_algorithm_params

    algorithm, params = RUNS[name]
    docs = demo_documents()
    config = RunConfig(algorithm=algorithm, params=validate_algorithm_params(algorithm, params))

    def run() -> float:
        data = EngineInput(
            [d["document_id"] for d in docs], [d["text"] for d in docs], [d["metadata"] for d in docs], None, config
        )
        started = time.perf_counter()
        run_pipeline(data)
        return time.perf_counter() - started

    limits = threadpool_limits(limits=threads) if threads else None
    run()  # warm-up: first-call costs are not what a forked compute process pays
    print("ready", flush=True)
    sys.stdin.readline()
    seconds = run()
    if limits is not None:
        limits.restore_original_limits()
    print(json.dumps({"seconds": seconds}), flush=True)


def competing(name: str, concurrency: int, budgeted: bool) -> float:
    """The slowest compute time of ``concurrency`` runs started together."""
    threads = max(1, available_cores() // concurrency) if budgeted else 0
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", name, "--threads", str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(concurrency)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.communicate()[0])["seconds"] for proc in procs]
    return max(results)


def small_runs_table(repeat: int) -> None:
    print(f"480-document runs, {available_cores()} cores, median of {repeat} (slowest of the concurrent runs)")
    print(f"{'run':<13} {'at once':>7} {'budget s':>9} {'default s':>10} {'default ÷ budget':>17}")
    for name in RUNS:
        for concurrency in (1, 2):
            samples: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(repeat):
                for budgeted in (True, False):  # interleaved
                    samples[budgeted].append(competing(name, concurrency, budgeted))
            budget, default = statistics.median(samples[True]), statistics.median(samples[False])
            print(f"{name:<13} {concurrency:>7} {budget:>9.3f} {default:>10.3f} {default / budget:>16.1f}×")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoTimes:
    """Seconds after ``serve --demo`` started: every run of the demo's own clusters ended (``main``),
    the nightly history's runs too (``all``), and those moved back to their nights (``backdated``)."""

    main: float | None = None
    all: float | None = None
    backdated: float | None = None
    runs: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _statuses(http: httpx.Client, cluster_id: str) -> dict[str, int]:
    body = {"stats_scope": "all"}
    found: dict[str, int] = http.post(f"/v1/clusters/{cluster_id}/executions/list", json=body).json()["stats"][
        "executions_by_status"
    ]
    return found


def demo_seconds() -> DemoTimes:
    """Start ``serve --demo`` on a fresh SQLite file and time its runs (see :class:`DemoTimes`)."""
    from clusterbook.runner.demo_history import HISTORY_CLUSTER, HISTORY_NIGHTS

    port = free_port()
    times = DemoTimes()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CLUSTERBOOK_DATABASE_URL": f"sqlite:///{Path(folder) / 'demo.db'}"}
        started = time.monotonic()
        server = subprocess.Popen(
            [sys.executable, "-m", "clusterbook.cli", "serve", "--demo", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                while times.backdated is None:
                    time.sleep(0.25)
                    if server.poll() is not None:
                        raise SystemExit(f"clusterbook serve --demo exited with {server.returncode}")
                    try:
                        clusters = http.post("/v1/clusters/list", params={"page_size": 100}).json()["results"]
                    except (httpx.HTTPError, KeyError, ValueError):
                        continue
                    if not clusters:
                        continue
                    counts: dict[str, int] = {}
                    main_live = 0
                    for cluster in clusters:
                        statuses = _statuses(http, cluster["cluster_id"])
                        live = statuses.get("pending", 0) + statuses.get("processing", 0)
                        if cluster["cluster_name"] != HISTORY_CLUSTER["cluster_name"]:
                            main_live += live
                        for status, n in statuses.items():
                            counts[status] = counts.get(status, 0) + n
                    now = time.monotonic() - started
                    if times.main is None and not main_live:
                        times.main = now
                    if times.all is None and not counts.get("pending", 0) + counts.get("processing", 0):
                        times.all, times.runs, times.counts = now, sum(counts.values()), counts
                    if times.all is not None:
                        nightly = next(c for c in clusters if c["cluster_name"] == HISTORY_CLUSTER["cluster_name"])
                        trends = http.post(
                            f"/v1/clusters/{nightly['cluster_id']}/executions/trends", json={"bucket": "day"}
                        ).json()
                        if len([b for b in trends["buckets"] if b["total"]]) == HISTORY_NIGHTS:
                            times.backdated = time.monotonic() - started
                return times
        finally:
            server.terminate()
            server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-demo", action="store_true", help="skip the serve --demo table")
    parser.add_argument("--demo-only", action="store_true", help="only the serve --demo timings")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads)
        return
    if not args.demo_only:
        small_runs_table(args.repeat)
    if not args.no_demo:
        t = demo_seconds()
        print(
            f"\nserve --demo, seconds after the server started: the demo clusters' runs ended {t.main:.1f}; "
            f"all {t.runs} runs (with the nightly history) {t.all:.1f}; the history back-dated {t.backdated:.1f} "
            f"({t.counts})"
        )


if __name__ == "__main__":
    main()
