"""Peak memory of the seeder: batches generated a bounded window ahead vs ``Pool.imap``'s unbounded one.

When inserting is slower than generating (PostgreSQL over a network, a busy disk, a busy machine),
``multiprocessing.Pool.imap`` keeps handing finished batches to the parent, which holds all of them
until it gets to insert them. ``store.seed.bounded_imap`` keeps at most ``2 × processes`` batches in
flight. Each side seeds the same number of runs into a fresh SQLite file in its own process and
reports that process's peak RSS and wall time; sides are interleaved and the medians printed.

Usage::

    python benchmarks/bench_seed.py                       # 300,000 runs, 3 repeats
    python benchmarks/bench_seed.py --runs 1000000 --repeat 1

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from clusterbook.store import seed as seeding
from clusterbook.store.db import make_engine
from clusterbook.store.db import migrate
side, url, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
if side == "unbounded":  # the seeder as it was: Pool.imap over every job
    seeding.bounded_imap = lambda pool, jobs, ahead: pool.imap(seeding._batch_worker, jobs)
engine = make_engine(url)
migrate(engine)
started = time.perf_counter()
seeding.seed(engine, executions_count=runs, clusters_count=3)
print(json.dumps({"seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(side: str, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'seed.db'}"
        out = subprocess.run(
            [sys.executable, "-c", CHILD, side, url, str(runs)], check=True, capture_output=True, text=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"bounded": [], "unbounded": []}
    for _ in range(args.repeat):
        for side in results:
            results[side].append(measure(side, args.runs))
    print(f"seeding {args.runs:,} runs into SQLite, medians of {args.repeat}")
    print(f"{'side':<10} {'peak RSS MiB':>13} {'seconds':>9}")
    for side, found in results.items():
        peak = statistics.median(r["peak_mib"] for r in found)
        seconds = statistics.median(r["seconds"] for r in found)
        print(f"{side:<10} {peak:>13.0f} {seconds:>9.1f}")
    ratio = statistics.median(r["peak_mib"] for r in results["unbounded"]) / statistics.median(
        r["peak_mib"] for r in results["bounded"]
    )
    print(f"unbounded ÷ bounded peak: {ratio:.2f}×")


if __name__ == "__main__":
    main()
