"""Realistic execution histories for demos, benchmarks and load tests, written with bulk inserts.

Every status appears; timestamps spread over months (in-flight runs only among the newest);
metrics, centroids with labels, summaries and keywords; real-looking errors (with a traceback only
where a real run would have one: an unexpected failure); num_points spanning tiny to large collections.

In-flight runs are real work: they are written only when the caller says how a run of a cluster is
configured (``live_config``; the CLI passes the runner's ``run_config_for``, which the store may not
import), and the seeded collections then get sample documents, so a worker started on the seeded
database completes them. A seeded ``processing`` run has a lapsed lease, as if its worker had died:
the next worker's reaper puts it back in the queue.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import random
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster, ClusterCreate, VectorConfig
from clusterbook.models.collections import Collection, DocumentIn
from clusterbook.store.clusters import create_cluster, read_cluster
from clusterbook.store.collections import ensure_collection
from clusterbook.store.db import make_sessionmaker, refresh_statistics
from clusterbook.store.documents import upsert_documents
from clusterbook.store.executions import execution_values, insert_executions
from clusterbook.store.ids import new_id
from clusterbook.store.namespaces import ensure_namespace
from clusterbook.store.rollup_schema import rebuild as rebuild_rollups
from clusterbook.store.tables import executions

TOPICS: list[tuple[str, list[str], str]] = [
    ("Billing & refunds", ["invoice", "refund", "charge", "payment", "billing"], "Customers asking about charges, refunds and invoices."),
    ("Login problems", ["password", "login", "2fa", "locked", "reset"], "Users unable to sign in, reset passwords or pass two-factor checks."),
    ("Shipping delays", ["delivery", "tracking", "shipping", "late", "courier"], "Orders that arrived late or whose tracking stopped updating."),
    ("Product quality", ["broken", "defect", "quality", "return", "damaged"], "Complaints about damaged or defective items and return requests."),
    ("Feature requests", ["feature", "request", "roadmap", "integration", "api"], "Suggestions for new features and integrations."),
    ("Praise", ["great", "love", "thanks", "excellent", "recommend"], "Happy customers praising the product and the support team."),
    ("Mobile app crashes", ["crash", "android", "ios", "freeze", "update"], "Reports of the mobile app crashing or freezing after updates."),
    ("Pricing questions", ["price", "plan", "discount", "upgrade", "tier"], "Questions about plans, discounts and upgrading tiers."),
    ("Data export", ["export", "csv", "download", "report", "backup"], "Requests to export data, download reports or take backups."),
    ("Security concerns", ["phishing", "security", "breach", "suspicious", "fraud"], "Reports of suspicious activity, phishing and possible fraud."),
    ("Onboarding", ["setup", "onboarding", "tutorial", "getting", "started"], "New users setting up accounts and looking for tutorials."),
    ("Performance", ["slow", "latency", "timeout", "performance", "loading"], "Pages loading slowly, timeouts and latency complaints."),
    ("Account deletion", ["delete", "account", "gdpr", "privacy", "remove"], "Requests to delete accounts and personal data under GDPR."),
    ("Search relevance", ["search", "results", "relevance", "ranking", "query"], "Search returning irrelevant results or poor ranking."),
    ("Notifications", ["email", "notification", "spam", "unsubscribe", "alerts"], "Too many emails or missing notifications and alerts."),
    ("Accessibility", ["screen", "reader", "contrast", "keyboard", "accessibility"], "Accessibility issues with screen readers, contrast and keyboards."),
]  # fmt: skip

FAILURES: list[tuple[str, str, int | None]] = [
    # (message template, exception class, the number of points the failure implies, if any)
    ("Insufficient documents for clustering: 1 document, need at least 2",
     "clusterbook.engine.errors.InsufficientData", 1),
    ("Vectors of collection col_support have dimension 384 but col_reviews has 768; re-embed one collection "
     "or cluster them separately", "clusterbook.engine.errors.DimensionMismatch", None),
    ("Out of memory: {algorithm} needs an N×N affinity matrix ({n:,} points ≈ {gib:,.0f} GiB); use "
     "minibatch_kmeans or enable sampling", "MemoryError", 60_000),
    ("hdbscan found no clusters: every point was labelled noise; lower min_cluster_size (now 250)",
     "clusterbook.engine.errors.NoClustersFound", None),
    ("Worker lost: the worker processing this run stopped heartbeating 3 times; the run was retried "
     "3 times and failed", "clusterbook.runner.errors.WorkerLost", None),
    ("Feature extractor not found: collection col_legacy has no text or vectors to embed",
     "clusterbook.engine.errors.NoFeatures", None),
    ("Invalid parameter n_clusters=1 for {algorithm}: must be an integer between 2 and the number of documents",
     "clusterbook.engine.errors.InvalidParameter", None),
    ("Timed out after 3600 s while running {algorithm} on {n:,} points; sample the input or use kmeans",
     "TimeoutError", 40_000),
]  # fmt: skip

UNEXPECTED_FAILURES = {"MemoryError"}
"""The failure classes above that a real run records with a traceback; the others are expected
problems whose message says cause and fix (``runner.compute``), or the runner's own verdicts."""
SAMPLE_DOCUMENTS_PER_TOPIC = 4
LiveConfig = Callable[[Cluster], dict[str, Any]]

ALGORITHMS = ["kmeans", "kmeans", "kmeans", "minibatch_kmeans", "hdbscan", "hdbscan", "agglomerative",
              "gaussian_mixture", "dbscan", "spectral"]  # fmt: skip
CLUSTER_NAMES = ["support-tickets", "product-reviews", "news-articles", "research-papers", "chat-transcripts",
                 "app-store-reviews", "bug-reports", "survey-answers"]  # fmt: skip


@dataclass(frozen=True)
class SeedReport:
    namespace: str
    cluster_ids: list[str]
    executions: int
    seconds: float


def _traceback(error_class: str, message: str, rng: random.Random) -> str:
    line = rng.randint(40, 400)
    return (
        "Traceback (most recent call last):\n"
        '  File "clusterbook/runner/worker.py", line 212, in run_execution\n'
        "    result = engine.fit(vectors, config)\n"
        f'  File "clusterbook/engine/pipeline.py", line {line}, in fit\n'
        "    labels = algorithm.fit_predict(matrix)\n"
        f"{error_class}: {message}"
    )


def _centroids(rng: random.Random, k: int, num_points: int) -> list[dict[str, Any]]:
    weights = [rng.random() + 0.2 for _ in range(k)]
    scale = num_points / sum(weights)
    sizes = sorted((max(1, int(w * scale)) for w in weights), reverse=True)
    topics = rng.sample(TOPICS, min(k, len(TOPICS)))
    out = []
    for i, size in enumerate(sizes):
        label, words, summary = topics[i % len(topics)]
        keywords = rng.sample(words, 3)
        out.append({
            "cluster_id": f"cl_{i}",
            "num_members": size,
            "label": label if i < len(topics) else f"{label} ({i // len(topics) + 1})",
            "summary": summary,
            "keywords": keywords,
        })  # fmt: skip
    return out


def fake_execution(
    rng: random.Random,
    *,
    namespace_id: str,
    cluster_id: str,
    created_at: datetime,
    in_flight_ok: bool,
    live_config: dict[str, Any] | None = None,
    in_flight: str | None = None,
) -> dict[str, Any]:
    """One realistic execution row (see module docstring); in flight only with ``live_config``
    (``in_flight``: this live status for certain)."""
    roll = rng.random()
    if in_flight_ok and live_config is not None and (in_flight or roll < 0.35):
        status = in_flight or ("pending" if roll < 0.15 else "processing")
    else:
        roll = rng.random()
        status = "completed" if roll < 0.83 else "failed" if roll < 0.95 else "canceled"
    num_points = int(min(250_000, max(2, rng.lognormvariate(7.5, 1.6))))
    algorithm = rng.choice(ALGORITHMS)
    fields: dict[str, Any] = {
        "run_id": new_id("run", rng.getrandbits(119)),
        "status": status,
        "algorithm": algorithm,
        "num_points": num_points,
        "created_at": created_at,
        "run_name": f"{rng.choice(['nightly', 'manual', 'backfill', 'tuning', 'scheduled'])}-{created_at:%Y%m%d}",
    }
    expected_ms = 600 + 40 * math.sqrt(num_points) * (3 if algorithm in ("spectral", "agglomerative") else 1)
    started = created_at
    # Half the canceled runs were canceled while still queued (decided by the roll already drawn, so the
    # random stream and thus every other seeded value stay as they were): no started_at, no execution time.
    never_started = status == "pending" or (status == "canceled" and roll >= 0.975)
    if status != "pending":
        queued = created_at + timedelta(milliseconds=rng.uniform(20, 3000))
        if not never_started:
            # execution_values derives queue_ms (started - created) and duration_ms (completed - started)
            fields["started_at"] = started = queued
    if status in ("pending", "processing"):
        assert live_config is not None
        fields.update(config=live_config, algorithm=live_config.get("algorithm"))
    if status == "processing":  # its worker "died": the lease has lapsed, and the reaper requeues it
        fields.update(attempts=1, attempt_token=f"seed-{fields['run_id']}", lease_expires_at=started,
                      worker_id="seed")  # fmt: skip
    if status == "completed":
        k = rng.randint(2, 12) if num_points > 12 else 2
        fields["num_clusters"] = k
        silhouette = None if rng.random() < 0.02 else round(min(0.95, max(-0.2, rng.gauss(0.42, 0.17))), 4)
        davies_bouldin = round(rng.uniform(0.3, 2.8), 4)
        fields["metrics"] = {
            "silhouette_score": silhouette,
            "davies_bouldin_index": davies_bouldin,
            "calinski_harabasz_score": round(rng.lognormvariate(5.5, 1.0), 2),
            # density algorithms leave up to 10% out, more when clusters overlap (no extra draw: see above)
            "noise_points": int(num_points * davies_bouldin / 28) if algorithm in ("hdbscan", "dbscan") else 0,
        }
        fields["centroids"] = _centroids(rng, k, num_points)
        fields["completed_at"] = started + timedelta(milliseconds=expected_ms * rng.uniform(0.6, 1.8))
        if rng.random() < 0.03:
            fields["llm_labeling_errors"] = [
                '{"error": "LLM API timeout for 2 clusters", "clusters": ["cl_1", "cl_3"]}'
            ]
    elif status == "failed":
        template, error_class, implied_points = rng.choice(FAILURES)
        if implied_points == 1:
            fields["num_points"] = 1
        elif implied_points is not None:  # memory and time limits: the quadratic algorithms at scale
            fields["num_points"] = max(num_points, rng.randint(implied_points, 4 * implied_points))
            fields["algorithm"] = algorithm = rng.choice(["spectral", "agglomerative"])
        if "n_clusters" in template and algorithm in ("hdbscan", "dbscan"):
            fields["algorithm"] = algorithm = "kmeans"
        if template.startswith("hdbscan"):
            fields["algorithm"] = algorithm = "hdbscan"
        n = fields["num_points"]
        message = template.format(algorithm=algorithm, n=n, gib=n * n * 8 / 2**30)
        fields["error_message"] = message
        if error_class in UNEXPECTED_FAILURES:
            fields["error_traceback"] = _traceback(error_class, message, rng)
        fields["completed_at"] = started + timedelta(milliseconds=expected_ms * rng.uniform(0.05, 1.0))
    elif status == "canceled":
        fields["completed_at"] = started + timedelta(milliseconds=expected_ms * rng.uniform(0.05, 0.5))
    if "config" not in fields:
        fields["config"] = seeded_config(fields)
    return execution_values(namespace_id=namespace_id, cluster_id=cluster_id, **fields)


def seeded_config(fields: dict[str, Any]) -> dict[str, Any]:
    """The effective configuration a terminal seeded run records, so the history's ``config.*``
    filters and groups have something real to work on. Derived from the run id and the fields already
    drawn (no draw of its own, so every other seeded value stays as it was)."""
    algorithm = fields["algorithm"]
    mix = zlib.crc32(fields["run_id"].encode())
    if algorithm == "hdbscan":
        params: dict[str, Any] = {"min_cluster_size": 5 + mix % 20, "metric": "euclidean"}
    elif algorithm == "dbscan":
        params = {"eps": round(0.1 + mix % 40 / 100, 2), "min_samples": 5, "metric": "cosine"}
    else:
        params = {"n_clusters": fields.get("num_clusters") or 2 + mix % 11}
        if algorithm in ("kmeans", "minibatch_kmeans"):
            params["init"] = "k-means++" if mix % 4 else "random"
    return {
        "algorithm": algorithm,
        "params": params,
        "embedder": "tfidf-svd" if mix % 5 else "hashing",
        "random_state": 42 if mix % 3 == 0 else 0,
        "sample_size": 10_000 if fields["num_points"] > 10_000 and mix % 2 else None,
        "seeded": True,
    }


def ensure_clusters(session: Session, namespace_id: str, count: int, *, with_documents: bool = False) -> list[Cluster]:
    """``count`` seeded clusters, each over a collection of its own name (created when missing). With
    ``with_documents``, an empty collection gets sample documents, so runs of the cluster can run."""
    clusters = []
    for i in range(count):
        name = CLUSTER_NAMES[i % len(CLUSTER_NAMES)] + ("" if i < len(CLUSTER_NAMES) else f"-{i // len(CLUSTER_NAMES)}")
        collection = ensure_collection(
            session, namespace_id=namespace_id, name=name, description=f"Documents of the {name} demo cluster"
        )
        if with_documents and collection.document_count == 0:
            upsert_documents(session, collection=collection, docs=sample_documents(collection))
        found = read_cluster(session, namespace_id=namespace_id, cluster_ref=name)
        if found is None:
            found = create_cluster(
                session,
                namespace_id=namespace_id,
                data=ClusterCreate(
                    cluster_name=name,
                    collection_ids=[collection.collection_id],
                    vector_config=VectorConfig(clustering_method="kmeans", algorithm_params={"n_clusters": 8}),
                    description=f"Demo cluster over {name.replace('-', ' ')}",
                ),
            )
        clusters.append(found)
    return clusters


def sample_documents(collection: Collection) -> list[DocumentIn]:
    """A few short texts per topic of ``TOPICS`` (its summary and keywords, shuffled): enough for the
    seeded clusters' k-means over TF-IDF to run, and the same for the same collection name."""
    rng = random.Random(collection.collection_name)
    docs = []
    for t, (label, words, summary) in enumerate(TOPICS):
        for n in range(SAMPLE_DOCUMENTS_PER_TOPIC):
            text = f"{summary} {' '.join(rng.sample(words, 3))}. {label}."
            docs.append(DocumentIn(document_id=f"sample-{t:02d}-{n}", text=text, metadata={"topic": label}))
    return docs


@dataclass(frozen=True)
class BatchPlan:
    """Everything a worker process needs to generate one batch, reproducibly."""

    namespace_id: str
    cluster_ids: tuple[str, ...]
    live_configs: tuple[dict[str, Any] | None, ...]  # per cluster: the config of its in-flight runs
    total: int
    batch_size: int
    days: int
    now: datetime
    random_seed: int


def generate_batch(plan: BatchPlan, batch_no: int) -> list[dict[str, Any]]:
    """Rows ``batch_no * batch_size …`` of the history, oldest first, spread evenly over the days.

    Each batch has its own generator (seeded by seed and batch number), so batches can be made in
    parallel processes and the whole history is still the same for the same seed.
    """
    rng = random.Random(plan.random_seed * 1_000_003 + batch_no)
    span = timedelta(days=plan.days).total_seconds()
    in_flight_tail = max(3, plan.total // 200)
    start = batch_no * plan.batch_size
    rows = []
    for i in range(start, min(plan.total, start + plan.batch_size)):
        created = plan.now - timedelta(seconds=span * (1 - (i + rng.random()) / plan.total))
        rows.append(fake_execution(
            rng,
            namespace_id=plan.namespace_id,
            cluster_id=plan.cluster_ids[i % len(plan.cluster_ids)],
            created_at=created,
            in_flight_ok=i >= plan.total - in_flight_tail,
            live_config=plan.live_configs[i % len(plan.cluster_ids)],
            in_flight={plan.total - 1: "pending", plan.total - 2: "processing"}.get(i),  # both, always
        ))  # fmt: skip
    return rows


def _batch_worker(args: tuple[BatchPlan, int]) -> list[dict[str, Any]]:
    return generate_batch(*args)


def seed(
    engine: Engine,
    *,
    executions_count: int,
    clusters_count: int = 3,
    namespace: str = "default",
    days: int = 180,
    batch_size: int = 10_000,
    random_seed: int = 7,
    progress: Callable[[int], None] | None = None,
    live_config: LiveConfig | None = None,
) -> SeedReport:
    """Write ``executions_count`` executions over ``clusters_count`` clusters in bulk batches. Without
    ``live_config`` every run is terminal (nothing for a worker to do); with it, see the module docstring.

    Large seeds generate batches in a helper process while the main process inserts, so the
    database (the bottleneck) never waits for Python.
    """
    started = time.perf_counter()
    factory = make_sessionmaker(engine, writes=True)  # safe beside a running server
    with factory() as session, session.begin():
        ns = ensure_namespace(session, name=namespace)
        clusters = ensure_clusters(session, ns.namespace_id, clusters_count, with_documents=live_config is not None)
        configs = tuple(None if live_config is None else live_config(c) for c in clusters)
    cluster_ids = [c.cluster_id for c in clusters]
    plan = BatchPlan(ns.namespace_id, tuple(cluster_ids), configs, executions_count, batch_size, days,
                     datetime.now(UTC), random_seed)  # fmt: skip
    jobs = [(plan, n) for n in range(math.ceil(executions_count / batch_size))]
    written = 0
    if len(jobs) <= 2:
        batches: Iterator[list[dict[str, Any]]] = (generate_batch(*job) for job in jobs)
        written = _insert_all(factory, batches, progress)
    else:
        processes = max(1, (os.cpu_count() or 2) - 1)
        with multiprocessing.get_context("spawn").Pool(processes=processes) as pool:
            written = _insert_all(factory, bounded_imap(pool, jobs, ahead=2 * processes), progress)
    with factory() as session, session.begin():  # exact already (triggers); rebuilt as the CLI's rebuild would
        for cluster_id in cluster_ids:
            rebuild_rollups(session, cluster_id=cluster_id)
    refresh_statistics(engine, after_bulk_load=True)
    return SeedReport(namespace, cluster_ids, written, time.perf_counter() - started)


def bounded_imap(pool: Any, jobs: list[tuple[BatchPlan, int]], *, ahead: int) -> Iterator[list[dict[str, Any]]]:
    """The generated batches in order, with at most ``ahead`` batches generated but not yet inserted.

    ``Pool.imap`` would run ahead through every job when inserting is slower than generating, holding
    all the batches in memory at once (3.5 GB at 1M runs); this keeps a fixed window in flight.
    """
    pending: deque[Any] = deque()
    for job in jobs:
        pending.append(pool.apply_async(_batch_worker, (job,)))
        if len(pending) >= ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _insert_all(
    factory: sessionmaker[Session], batches: Iterable[list[dict[str, Any]]], progress: Callable[[int], None] | None
) -> int:
    written = 0
    for batch in batches:
        with factory() as session, session.begin():
            written += insert_executions(session, batch)
        if progress:
            progress(len(batch))
    return written


def count_executions(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(executions)).scalar_one())
