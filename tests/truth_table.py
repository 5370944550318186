"""The one filter/sort/search truth table of clusterbook (CONVENTIONS 15).

One fixed history of eight runs and tables of (request, expected runs): filters in every spelling
and operator, null handling, case sensitivity and Unicode case folding, escaping of LIKE/GLOB
metacharacters, sorts and searches. Each row names the runs it must return (letters a-h for
``run_a`` … ``run_h``); results come back newest first unless a sort says otherwise.

The store (``tests/store/test_compiler.py``), the HTTP API (``tests/api/test_truth_table.py``) and
the SDK (``tests/client/test_truth_table.py``) each run every table on SQLite and PostgreSQL with
:func:`mismatches` (and the filter tables over the zoo of ``tests/api/helpers.py`` with
:func:`zoo_mismatches`), given a way to list the history; the expected runs are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from clusterbook.models.clusters import Cluster
from clusterbook.store.executions import execution_values, insert_executions
from tests.api.helpers import NAME_OF, ZOO
from tests.factories import make_cluster

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(minutes: float, seconds: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def _centroid(label: str | None, summary: str | None, keywords: list[str] | None) -> dict[str, Any]:
    return {"cluster_id": "cl_0", "num_members": 10, "label": label, "summary": summary, "keywords": keywords}


HISTORY: dict[str, dict[str, Any]] = {
    "a": {
        "status": "completed",
        "created_at": _at(0),
        "completed_at": _at(0, 2),  # duration 2000
        "num_clusters": 3,
        "num_points": 100,
        "metrics": {"silhouette_score": 0.8, "davies_bouldin_index": 0.5, "calinski_harabasz_score": 300.0},
        "centroids": [_centroid("Billing", "Invoices and refunds", ["invoice", "refund", "Straße"])],
        "algorithm": "kmeans",
        "run_name": "İSTANBUL nightly",
    },
    "b": {
        "status": "completed",
        "created_at": _at(1),
        "completed_at": _at(1, 5),  # 5000
        "num_clusters": 5,
        "num_points": 250,
        "metrics": {"silhouette_score": 0.3, "davies_bouldin_index": 1.2, "calinski_harabasz_score": 150.0},
        "centroids": [_centroid("Login", "Password resets", ["password", "2fa", "İSTANBUL"])],
        "algorithm": "HDBSCAN",
        "run_name": "ΌΣΟΣ",
        "trigger": "schedule:sched_nightly",
    },
    "c": {
        "status": "failed",
        "created_at": _at(2),
        "completed_at": _at(2, 1),  # 1000
        "num_points": 50,
        "error_message": "Timeout after 30s",
        "algorithm": "kmeans",
    },
    "d": {
        "status": "failed",
        "created_at": _at(2),  # same instant as c
        "completed_at": _at(2, 3),  # 3000
        "num_points": 75,
        "error_message": "Out of memory (OOM) in 100%_batch",
    },
    "e": {"status": "pending", "created_at": _at(4), "run_name": "Straße-Check"},
    "f": {
        "status": "processing",
        "created_at": _at(5),
        "started_at": _at(5, 1),
        "num_points": 500,
        "run_name": "Échec partiel",  # precomposed É (U+00C9)
        "trigger": "schedule:sched_nightly",
    },
    "g": {
        "status": "canceled",
        "created_at": _at(6),
        "completed_at": _at(6, 0.5),  # 500
        "error_message": "Canceled by user",
        "run_name": "E\u0301CHEC total",  # decomposed: E + combining acute accent
    },
    "h": {
        "status": "completed",
        "created_at": _at(7),
        "completed_at": _at(7, 10),  # 10000
        "num_clusters": 4,
        "num_points": 1000,
        "metrics": {"silhouette_score": -0.1, "davies_bouldin_index": None, "calinski_harabasz_score": 900.5},
        "centroids": [_centroid("Shipping_Delays", "Late parcels", ["courier", "DELAY", "ΌΣΟΣ"])],
        "algorithm": "kmeans",
        "run_name": "όσος",  # ends in final sigma
        "trigger": "monitor:mon_quality",
    },
}
CONFIGS: dict[str, dict[str, Any]] = {
    # the effective configurations (run d has none: a hand-written row); config.* filters read these
    "a": {"algorithm": "kmeans", "params": {"n_clusters": 3, "init": "k-means++"}, "random_state": 0},
    "b": {"algorithm": "hdbscan", "params": {"min_cluster_size": 5, "metric": "Euclidean"}, "random_state": 7,
          "sample_size": 1000, "runner": "ray", "ray_node_id": "5f0c9a8e"},
    "c": {"algorithm": "kmeans", "params": {"n_clusters": 8, "init": "random"}, "random_state": 0,
          "embedder": "hashing", "runner": "local"},
    "e": {"algorithm": "agglomerative", "params": {"n_clusters": 5, "linkage": "ward", "compute_full_tree": True}},
    "f": {"algorithm": "minibatch_kmeans", "params": {"n_clusters": 12, "batch_size": 1024, "tol": None}},
    "g": {"algorithm": "dbscan", "params": {"eps": 0.5, "min_samples": 5, "metric": "cosine"}},
    "h": {"algorithm": "kmeans", "params": {"n_clusters": 4, "init": "K-Means++"}, "random_state": 42,
          "sample_size": 500},
}  # fmt: skip
for _key, _config in CONFIGS.items():
    HISTORY[_key]["config"] = {"embedder": "tfidf-svd", "sample_size": None, "random_state": 0, **_config}
for _spec in HISTORY.values():  # durations as recorded (created..completed), whatever started_at says
    if "completed_at" in _spec:
        _spec.setdefault("duration_ms", (_spec["completed_at"] - _spec["created_at"]).total_seconds() * 1000.0)
NEWEST_FIRST = "hgfedcba"  # c and d tie on created_at: run_id breaks the tie in the same direction


def cond(field: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    body = {"field": field, "operator": op, **extra}
    if value is not None or op in ("eq", "==", "ne", "!="):
        body["value"] = value
    return body


def group(op: str, *conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operator": op, "conditions": list(conditions), **extra}


FILTER_CASES: list[tuple[str, Any, str]] = [
    # no filter
    ("none", None, "abcdefgh"),
    ("empty object", {}, "abcdefgh"),
    ("empty group", group("AND"), "abcdefgh"),
    ("empty OR group", group("OR"), "abcdefgh"),
    ("empty NOT", {"NOT": []}, "abcdefgh"),
    # enum
    ("status eq", group("AND", cond("status", "eq", "completed")), "abh"),
    ("status eq any case", group("AND", cond("status", "==", "FAILED")), "cd"),
    ("status ne", group("AND", cond("status", "!=", "completed")), "cdefg"),
    ("status in", group("AND", cond("status", "in", ["pending", "Processing"])), "ef"),
    ("status nin", group("AND", cond("status", "nin", ["completed", "failed"])), "efg"),
    ("status shorthand", {"status": "canceled"}, "g"),
    ("status shorthand list", {"status": ["pending", "canceled"]}, "eg"),
    ("status shorthand operator", {"status": {"ne": "pending"}}, "abcdfgh"),
    # integers
    ("num_points gt", group("AND", cond("num_points", ">", 250)), "fh"),
    ("num_points gte", group("AND", cond("num_points", ">=", 250)), "bfh"),
    ("num_points lt", group("AND", cond("num_points", "<", 75)), "ceg"),
    ("num_points lte float", group("AND", cond("num_points", "lte", 75.5)), "cdeg"),
    ("num_points eq 0", group("AND", cond("num_points", "eq", 0)), "eg"),
    ("num_clusters in", group("AND", cond("num_clusters", "in", [3, 4])), "ah"),
    ("num_clusters nin", group("AND", cond("num_clusters", "nin", [0])), "abh"),
    ("huge integer", group("AND", cond("num_points", "lt", 10**30)), "abcdefgh"),
    ("huge negative integer", group("AND", cond("num_points", "gt", -(2**64))), "abcdefgh"),
    ("beyond 32 bits", group("AND", cond("num_points", "lt", 2**40)), "abcdefgh"),
    ("beyond 32 bits eq", group("AND", cond("num_points", "eq", 2**31)), ""),
    ("beyond 32 bits nin", group("AND", cond("num_points", "nin", [2**31, 100])), "bcdefgh"),
    ("integral float", group("AND", cond("num_clusters", "in", [3.0])), "a"),
    ("mixed list on integers", group("AND", cond("num_clusters", "in", [3, 0.5])), "a"),
    ("mixed nin on integers", group("AND", cond("num_clusters", "nin", [5, 0.5])), "acdefgh"),
    ("fraction on integers", group("AND", cond("num_clusters", "lt", 0.5)), "cdefg"),
    # numbers with nulls: ordering never matches null, ne/nin are null-safe
    ("silhouette gt", group("AND", cond("metrics.silhouette_score", "gt", 0.25)), "ab"),
    ("silhouette lte", group("AND", cond("metrics.silhouette_score", "lte", 0.3)), "bh"),
    ("silhouette lt 0", group("AND", cond("silhouette_score", "lt", 0)), "h"),
    ("silhouette ne", group("AND", cond("metrics.silhouette_score", "ne", 0.8)), "bcdefgh"),
    ("silhouette nin", group("AND", cond("metrics.silhouette_score", "nin", [0.8, 0.3])), "cdefgh"),
    ("silhouette in", group("AND", cond("metrics.silhouette_score", "in", [0.8, -0.1])), "ah"),
    ("silhouette eq null", group("AND", cond("metrics.silhouette_score", "eq", None)), "cdefg"),
    ("silhouette ne null", group("AND", cond("metrics.silhouette_score", "ne", None)), "abh"),
    ("silhouette exists", group("AND", cond("metrics.silhouette_score", "exists", True)), "abh"),
    ("silhouette exists false", group("AND", cond("metrics.silhouette_score", "exists", False)), "cdefg"),
    ("dbi is_null", group("AND", cond("metrics.davies_bouldin_index", "is_null", True)), "cdefgh"),
    ("dbi is_null false", group("AND", cond("metrics.davies_bouldin_index", "is_null", False)), "ab"),
    ("is_null default operand", group("AND", {"field": "error_message", "operator": "is_null"}), "abefh"),
    ("shorthand null", {"error_message": None}, "abefh"),
    ("calinski gte", group("AND", cond("metrics.calinski_harabasz_score", "gte", 300)), "ah"),
    ("calinski eq integer", group("AND", cond("metrics.calinski_harabasz_score", "eq", 300)), "a"),
    ("mixed list on a metric", group("AND", cond("metrics.silhouette_score", "in", [1, 0.8])), "a"),
    ("float list on a metric", group("AND", cond("metrics.silhouette_score", "in", [0.3, -0.1])), "bh"),
    ("duration gt", group("AND", cond("duration", "gt", 2000)), "bdh"),
    ("duration alias", group("AND", cond("duration_ms", "lte", 1000)), "cg"),
    ("duration null", group("AND", cond("duration", "is_null", True)), "ef"),
    # NOT around conditions that cannot match null keeps the null rows (no SQL unknown)
    ("NOT silhouette gt", {"NOT": [cond("metrics.silhouette_score", "gt", 0.25)]}, "cdefgh"),
    ("NOT error contains", {"NOT": [cond("error_message", "contains", "o")]}, "abefgh"),
    ("NOT status in", {"NOT": [cond("status", "in", ["completed", "failed"])]}, "efg"),
    ("NOT group", group("NOT", cond("metrics.calinski_harabasz_score", "eq", 300)), "bcdefgh"),
    ("NOT of two", {"NOT": [cond("status", "eq", "failed"), cond("num_points", "gte", 500)]}, "abeg"),
    # datetimes
    ("created_at gt", group("AND", cond("created_at", "gt", "2026-01-01T00:04:00Z")), "fgh"),
    ("created_at gte", group("AND", cond("created_at", "gte", "2026-01-01T00:04:00+00:00")), "efgh"),
    ("created_at other zone", group("AND", cond("created_at", "lt", "2025-12-31T19:02:00-05:00")), "ab"),
    ("created_at naive is UTC", group("AND", cond("created_at", "lte", "2026-01-01T00:02:00")), "abcd"),
    ("created_at eq tie", group("AND", cond("created_at", "eq", "2026-01-01T00:02:00Z")), "cd"),
    ("created_at date only", group("AND", cond("created_at", "gte", "2026-01-01")), "abcdefgh"),
    ("created_at in", group("AND", cond("created_at", "in", ["2026-01-01T00:00:00Z", "2026-01-01T00:07:00Z"])), "ah"),
    ("completed_at lt", group("AND", cond("completed_at", "lt", "2026-01-01T00:02:02Z")), "abc"),
    ("completed_at ne", group("AND", cond("completed_at", "ne", "2026-01-01T00:00:02Z")), "bcdefgh"),
    ("completed_at null", group("AND", cond("completed_at", "is_null", True)), "ef"),
    ("started_at exists", group("AND", cond("started_at", "exists", True)), "f"),
    # strings: case-insensitive unless case_sensitive, metacharacters literal
    ("error contains", group("AND", cond("error_message", "contains", "OUT")), "cd"),
    ("error contains cs", group("AND", cond("error_message", "contains", "Out", case_sensitive=True)), "d"),
    ("error contains cs miss", group("AND", cond("error_message", "contains", "OUT", case_sensitive=True)), ""),
    ("error starts_with", group("AND", cond("error_message", "starts_with", "timeout")), "c"),
    ("error ends_with", group("AND", cond("error_message", "ends_with", "USER")), "g"),
    ("error ends_with cs", group("AND", cond("error_message", "ends_with", "USER", case_sensitive=True)), ""),
    ("percent literal", group("AND", cond("error_message", "contains", "100%_b")), "d"),
    ("percent not wildcard", group("AND", cond("error_message", "contains", "1%b")), ""),
    ("underscore not wildcard", group("AND", cond("error_message", "contains", "0_")), ""),
    ("parenthesis", group("AND", cond("error_message", "contains", "(oom)")), "d"),
    ("glob star literal", group("AND", cond("error_message", "contains", "*", case_sensitive=True)), ""),
    ("glob bracket cs", group("AND", cond("error_message", "contains", "(OOM)", case_sensitive=True)), "d"),
    ("error eq", group("AND", cond("error_message", "eq", "canceled BY user")), "g"),
    ("error eq cs", group("AND", cond("error_message", "eq", "canceled BY user", case_sensitive=True)), ""),
    ("error ne null-safe", group("AND", cond("error_message", "ne", "Canceled by user")), "abcdefh"),
    ("error nin null-safe", group("AND", cond("error_message", "nin", ["timeout after 30s"])), "abdefgh"),
    ("error in", group("AND", cond("error_message", "in", ["TIMEOUT AFTER 30S", "nope"])), "c"),
    ("run_id eq", group("AND", cond("run_id", "eq", "RUN_B")), "b"),
    ("run_id starts_with", group("AND", cond("run_id", "starts_with", "run_")), "abcdefgh"),
    # what started the run (every other run was started over the API)
    ("trigger eq api", group("AND", cond("trigger", "eq", "api")), "acdeg"),
    ("trigger ne api", group("AND", cond("trigger", "ne", "api")), "bfh"),
    ("trigger of one schedule", group("AND", cond("trigger", "eq", "schedule:sched_nightly")), "bf"),
    ("trigger any schedule", group("AND", cond("trigger", "starts_with", "schedule:")), "bf"),
    ("trigger in any case", group("AND", cond("trigger", "in", ["monitor:mon_quality", "API"])), "acdegh"),
    ("trigger shorthand", {"trigger": "monitor:mon_quality"}, "h"),
    ("algorithm eq", group("AND", cond("algorithm", "eq", "hdbscan")), "b"),
    ("algorithm eq cs", group("AND", cond("algorithm", "eq", "hdbscan", case_sensitive=True)), ""),
    ("algorithm ne", group("AND", cond("algorithm", "ne", "kmeans")), "bdefg"),
    ("group case_sensitive inherited", group("AND", cond("algorithm", "eq", "KMEANS"), case_sensitive=True), ""),
    (
        "condition overrides group case",
        group("AND", cond("algorithm", "eq", "KMEANS", case_sensitive=False), case_sensitive=True),
        "ach",
    ),
    ("keyed case_sensitive", {"AND": [cond("algorithm", "eq", "HDBSCAN")], "case_sensitive": True}, "b"),
    ("shorthand inherits case", {"algorithm": "KMEANS", "case_sensitive": True}, ""),
    # Unicode case folding (clusterbook.folding): the same runs on SQLite and PostgreSQL
    ("ascii fold", group("AND", cond("run_name", "contains", "NIGHTLY")), "a"),
    ("ascii cs", group("AND", cond("run_name", "contains", "NIGHTLY", case_sensitive=True)), ""),
    ("ascii cs hit", group("AND", cond("run_name", "contains", "nightly", case_sensitive=True)), "a"),
    ("dotted capital I", group("AND", cond("run_name", "eq", "i\u0307stanbul NIGHTLY")), "a"),
    ("dotted capital I contains", group("AND", cond("run_name", "contains", "İstanbul")), "a"),
    ("dotted capital I is not plain i", group("AND", cond("run_name", "contains", "istanbul")), ""),
    ("dotted capital I cs", group("AND", cond("run_name", "contains", "i\u0307stanbul", case_sensitive=True)), ""),
    ("greek eq", group("AND", cond("run_name", "eq", "όσος")), "bh"),
    ("greek eq upper", group("AND", cond("run_name", "eq", "ΌΣΟΣ")), "bh"),
    ("greek eq cs", group("AND", cond("run_name", "eq", "ΌΣΟΣ", case_sensitive=True)), "b"),
    ("final sigma is sigma", group("AND", cond("run_name", "ends_with", "σ")), "bh"),
    ("final sigma operand", group("AND", cond("run_name", "ends_with", "ς")), "bh"),
    ("final sigma cs", group("AND", cond("run_name", "ends_with", "ς", case_sensitive=True)), "h"),
    ("sharp s folds to ss", group("AND", cond("run_name", "contains", "STRASSE")), "e"),
    ("sharp s operand", group("AND", cond("run_name", "starts_with", "straße")), "e"),
    ("sharp s cs", group("AND", cond("run_name", "contains", "STRASSE", case_sensitive=True)), ""),
    ("sharp s cs hit", group("AND", cond("run_name", "contains", "Straße", case_sensitive=True)), "e"),
    ("accent either form", group("AND", cond("run_name", "starts_with", "échec")), "fg"),
    ("accent decomposed operand", group("AND", cond("run_name", "starts_with", "E\u0301chec")), "fg"),
    ("accent kept", group("AND", cond("run_name", "contains", "echec")), ""),
    ("accent cs precomposed", group("AND", cond("run_name", "starts_with", "Échec", case_sensitive=True)), "f"),
    ("accent cs decomposed", group("AND", cond("run_name", "starts_with", "E\u0301CHEC", case_sensitive=True)), "g"),
    ("folded in", group("AND", cond("run_name", "in", ["STRASSE-CHECK", "İSTANBUL NIGHTLY"])), "ae"),
    ("folded nin null-safe", group("AND", cond("run_name", "nin", ["strasse-check"])), "abcdfgh"),
    ("folded ne null-safe", group("AND", cond("run_name", "ne", "ÉCHEC PARTIEL")), "abcdegh"),
    ("NOT folded contains", {"NOT": [cond("run_name", "contains", "Σ")]}, "acdefg"),
    ("run_name is_null", group("AND", cond("run_name", "is_null", True)), "cd"),
    # logic and spellings
    ("AND", group("AND", cond("status", "eq", "completed"), cond("num_points", "gt", 100)), "bh"),
    ("OR", group("OR", cond("status", "eq", "pending"), cond("num_points", "gte", 1000)), "eh"),
    ("lowercase operator", group("or", cond("status", "eq", "pending"), cond("status", "eq", "canceled")), "eg"),
    ("keyed AND", {"AND": [cond("status", "eq", "completed"), cond("num_points", "gt", 100)]}, "bh"),
    ("keyed OR", {"OR": [cond("status", "eq", "pending"), cond("num_points", "gte", 1000)]}, "eh"),
    (
        "keyed AND OR NOT together",
        {
            "AND": [cond("num_points", "gte", 50)],
            "OR": [cond("status", "eq", "failed"), cond("status", "eq", "completed")],
            "NOT": [cond("error_message", "contains", "timeout")],
        },
        "abdh",
    ),
    (
        "shorthand beside logic",
        {"status": "completed", "OR": [cond("num_points", "lt", 200), {"num_clusters": 4}]},
        "ah",
    ),
    ("shorthand two operators", {"num_points": {"gt": 50, "lt": 500}}, "abd"),
    (
        "nested groups",
        group(
            "OR",
            group("AND", cond("status", "eq", "completed"), cond("metrics.silhouette_score", "lt", 0.5)),
            group("AND", cond("status", "eq", "failed"), group("NOT", cond("error_message", "contains", "oom"))),
        ),
        "bch",
    ),
    ("bare condition", cond("status", "eq", "processing"), "f"),
    # the effective configuration (CONFIGS): config.params.<name> typed by the operand, others declared
    ("param eq", group("AND", cond("config.params.n_clusters", "eq", 3)), "a"),
    ("param eq float", group("AND", cond("config.params.n_clusters", "eq", 3.0)), "a"),
    ("param gt", group("AND", cond("config.params.n_clusters", "gt", 4)), "cef"),
    ("param gte", group("AND", cond("config.params.n_clusters", ">=", 4)), "cefh"),
    ("param lt fraction", group("AND", cond("config.params.eps", "lt", 0.75)), "g"),
    ("param in", group("AND", cond("config.params.n_clusters", "in", [3, 4])), "ah"),
    ("param nin null-safe", group("AND", cond("config.params.n_clusters", "nin", [3, 12])), "bcdegh"),
    ("param ne null-safe", group("AND", cond("config.params.n_clusters", "ne", 3)), "bcdefgh"),
    ("param string never equals number", group("AND", cond("config.params.n_clusters", "eq", "3")), ""),
    ("param exists", group("AND", cond("config.params.n_clusters", "exists", True)), "acefh"),
    ("param is_null", group("AND", cond("config.params.n_clusters", "is_null", True)), "bdg"),
    ("param null value is missing", group("AND", cond("config.params.tol", "exists", True)), ""),
    ("param eq null", group("AND", cond("config.params.n_clusters", "eq", None)), "bdg"),
    ("param text ignores case", group("AND", cond("config.params.init", "eq", "K-MEANS++")), "ah"),
    ("param text cs", group("AND", cond("config.params.init", "eq", "K-Means++", case_sensitive=True)), "h"),
    ("param text starts_with", group("AND", cond("config.params.init", "starts_with", "k-m")), "ah"),
    ("param text in", group("AND", cond("config.params.metric", "in", ["euclidean", "COSINE"])), "bg"),
    ("param text order is bytewise", group("AND", cond("config.params.init", "gt", "k")), "ahc"),
    ("param boolean", group("AND", cond("config.params.compute_full_tree", "eq", True)), "e"),
    ("param boolean ne", group("AND", cond("config.params.compute_full_tree", "ne", True)), "abcdfgh"),
    ("param mixed in", group("AND", cond("config.params.n_clusters", "in", [4, "ward", 8])), "ch"),
    ("unknown param matches nothing", group("AND", cond("config.params.no_such_param", "eq", 1)), ""),
    ("unknown param ne", group("AND", cond("config.params.no_such_param", "ne", 1)), "abcdefgh"),
    ("config random_state", group("AND", cond("config.random_state", "eq", 0)), "acefg"),
    ("config random_state gt", group("AND", cond("config.random_state", "gt", 0)), "bh"),
    ("config sample_size null", group("AND", cond("config.sample_size", "is_null", True)), "acdefg"),
    ("config sample_size lte", group("AND", cond("config.sample_size", "lte", 500)), "h"),
    ("config embedder", group("AND", cond("config.embedder", "eq", "HASHING")), "c"),
    ("config embedder nin", group("AND", cond("config.embedder", "nin", ["hashing"])), "abdefgh"),
    ("config algorithm", group("AND", cond("config.algorithm", "eq", "kmeans")), "ach"),
    ("config runner", group("AND", cond("config.runner", "eq", "RAY")), "b"),
    ("config runner ne null-safe", group("AND", cond("config.runner", "ne", "ray")), "acdefgh"),
    ("config ray_node_id exists", group("AND", cond("config.ray_node_id", "exists", True)), "b"),
    ("config algorithm contains", group("AND", cond("config.algorithm", "contains", "MEANS")), "acfh"),
    ("config shorthand", {"config.params.n_clusters": {"gte": 5}, "config.algorithm": "kmeans"}, "c"),
    ("NOT param gt", {"NOT": [cond("config.params.n_clusters", "gt", 4)]}, "abdgh"),
    (
        "param beside a column",
        group("AND", cond("status", "eq", "completed"), cond("config.params.n_clusters", "lt", 4)),
        "a",
    ),
    (
        "params of two algorithms",
        group("OR", cond("config.params.eps", "exists", True), cond("config.params.min_cluster_size", "gte", 5)),
        "bg",
    ),
]


SORT_CASES: list[tuple[str, str, str]] = [
    ("created_at", "desc", "hgfedcba"),
    ("created_at", "asc", "abcdefgh"),
    ("completed_at", "desc", "hgdcbafe"),  # nulls last, among themselves by run_id descending
    ("completed_at", "asc", "abcdghef"),  # nulls last, among themselves by run_id ascending
    ("started_at", "asc", "fabcdegh"),
    ("started_at", "desc", "fhgedcba"),
    ("num_points", "desc", "hfbadcge"),  # e and g tie on 0: run_id descending
    ("num_points", "asc", "egcdabfh"),
    ("metrics.silhouette_score", "desc", "abhgfedc"),
    ("metrics.silhouette_score", "asc", "hbacdefg"),
    ("davies_bouldin_index", "asc", "abcdefgh"),
    ("metrics.calinski_harabasz_score", "desc", "hab" + "gfedc"),
    ("duration", "asc", "gcadbhef"),
    ("duration_ms", "desc", "hbdacgfe"),
    ("num_clusters", "desc", "bhagfedc"),
    ("status", "asc", "gabhcdef"),  # canceled, completed, failed, pending, processing
    ("status", "desc", "fedchbag"),
    ("error_message", "asc", "gdcabefh"),  # "Canceled…" < "Out…" < "Timeout…", then nulls
    ("run_id", "desc", "hgfedcba"),
    ("algorithm", "asc", "bachdefg"),  # "HDBSCAN" < "kmeans" (byte order), then nulls
    ("trigger", "asc", "acdeghbf"),  # api < monitor:… < schedule:…
    ("trigger", "desc", "fbhgedca"),
]


SEARCH_CASES: list[tuple[str, str]] = [
    ("billing", "a"),
    ("BILL", "a"),
    ("refund", "a"),  # keyword
    ("parcels", "h"),  # summary
    ("delay", "h"),  # keyword stored in upper case
    ("shipping_delays", "h"),  # label with an underscore
    ("ing_d", "h"),
    ("g_d", "h"),  # under three characters: still a substring match
    ("_", "abcdefgh"),  # every run id has one
    ("%", "d"),
    ("100%_", "d"),
    ("(oom)", "d"),
    ("timeout", "c"),
    ("run_c", "c"),  # the run id
    ("run_", "abcdefgh"),
    ("o", "abcdh"),
    ("out of", "d"),  # terms are AND-ed, each a substring somewhere
    ("timeout of", ""),
    ("memory out", "d"),
    ("login 2fa", "b"),
    ("login billing", ""),
    ("  login   ", "b"),
    ("*", ""),
    ("[", ""),
    ("zzz", ""),
    # the same folding as filters (clusterbook.folding)
    ("STRASSE", "a"),
    ("straße", "a"),
    ("İSTANBUL", "b"),
    ("i\u0307stanbul", "b"),
    ("istanbul", ""),  # İ folds to i + U+0307, so plain "istanbul" is not a substring
    ("όσος", "h"),
    ("όσοσ", "h"),
    ("ΌΣ", "h"),  # under three characters
    ("ος", "h"),
]


def load_history(session_factory: sessionmaker[Session]) -> Cluster:
    """A new cluster holding the eight runs of HISTORY (ids ``run_a`` … ``run_h``)."""
    cluster = make_cluster(session_factory)
    rows = [
        execution_values(
            namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, run_id=f"run_{key}", **fields
        )
        for key, fields in HISTORY.items()
    ]
    with session_factory() as session, session.begin():
        insert_executions(session, rows)
    return cluster


GROUP_CASES: list[tuple[str, Any, str, list[tuple[Any, str]]]] = [
    # (name, filters, group_by, the groups in the order they come back: numbers, text, booleans, null)
    ("parameter, null group last", None, "config.params.n_clusters",
     [(3, "a"), (4, "h"), (5, "e"), (8, "c"), (12, "f"), (None, "bdg")]),
    ("parameter, filtered by status", {"status": "completed"}, "config.params.n_clusters",
     [(3, "a"), (4, "h"), (None, "b")]),
    ("parameter, filtered by itself: no null group", {"config.params.n_clusters": {"gte": 5}},
     "config.params.n_clusters", [(5, "e"), (8, "c"), (12, "f")]),
    ("text parameter keeps its case", {"config.algorithm": "kmeans"}, "config.params.init",
     [("K-Means++", "h"), ("k-means++", "a"), ("random", "c")]),
    ("boolean parameter", None, "config.params.compute_full_tree", [(True, "e"), (None, "abcdfgh")]),
    ("fraction parameter", None, "config.params.eps", [(0.5, "g"), (None, "abcdefh")]),
    ("declared integer", None, "config.random_state", [(0, "acefg"), (7, "b"), (42, "h"), (None, "d")]),
    ("declared integer, mostly null", None, "config.sample_size", [(500, "h"), (1000, "b"), (None, "acdefg")]),
    ("declared text", None, "config.embedder", [("hashing", "c"), ("tfidf-svd", "abefgh"), (None, "d")]),
    ("declared text, filtered by a parameter", {"config.params.n_clusters": {"in": [3, 8]}}, "config.algorithm",
     [("kmeans", "ac")]),
    ("status", None, "status",
     [("canceled", "g"), ("completed", "abh"), ("failed", "cd"), ("pending", "e"), ("processing", "f")]),
    ("algorithm", {"NOT": [cond("status", "eq", "pending")]}, "algorithm",
     [("HDBSCAN", "b"), ("kmeans", "ach"), (None, "dfg")]),
]  # fmt: skip
"""``group_by`` on ``stats_scope: "all"``: which runs each group holds (its ``total_executions`` and
``executions_by_status`` follow from HISTORY), run by :func:`group_mismatches`."""

GroupLister = Callable[[dict[str, Any]], list[tuple[Any, dict[str, Any]]]]
"""Answers one request body with its ``groups`` as ``(key, stats)`` pairs, in the order returned."""


def group_mismatches(group_runs: GroupLister) -> list[str]:
    """Every row of GROUP_CASES that ``group_runs`` answers differently, described."""
    failures = []
    for name, filters, group_by, expected in GROUP_CASES:
        body: dict[str, Any] = {"stats_scope": "all", "group_by": group_by}
        if filters is not None:
            body["filters"] = filters
        got = [(key, stats["total_executions"], stats["executions_by_status"]) for key, stats in group_runs(body)]
        want = []
        for key, letters in expected:
            by_status: dict[str, int] = {}
            for letter in letters:
                by_status[HISTORY[letter]["status"]] = by_status.get(HISTORY[letter]["status"], 0) + 1
            want.append((key, len(letters), by_status))
        same_types = [type(k) for k, _, _ in got] == [type(k) for k, _, _ in want]
        if got != want or not same_types:
            failures.append(f"group_by {name}: got {got!r}, expected {want!r} for {body!r}")
    return failures


Lister = Callable[[dict[str, Any]], list[str]]
"""Lists the history for one request body; returns the run ids in order (all of them)."""


def _letters(run_ids: list[str]) -> str:
    return "".join(run_id.removeprefix("run_") for run_id in run_ids)


def mismatches(list_runs: Lister) -> list[str]:
    """Every row of every table that ``list_runs`` answers differently, described."""
    failures = []
    for name, filters, expected in FILTER_CASES:
        got = _letters(list_runs({"filters": filters}))
        want = "".join(key for key in NEWEST_FIRST if key in expected)
        if got != want:
            failures.append(f"filter {name}: got {got!r}, expected {want!r} for {filters!r}")
    for field, direction, expected in SORT_CASES:
        got = _letters(list_runs({"sort": {"field": field, "direction": direction}}))
        if got != expected:
            failures.append(f"sort {field} {direction}: got {got!r}, expected {expected!r}")
    for search, expected in SEARCH_CASES:
        got = _letters(list_runs({"search": search}))
        want = "".join(key for key in NEWEST_FIRST if key in expected)
        if got != want:
            failures.append(f"search {search!r}: got {got!r}, expected {want!r}")
    return failures


# ---------------------------------------------------------------- tables over the zoo
# The eight runs of tests/api/helpers.py::ZOO (alpha … hotel), one table per kind of field, in the
# contract's spelling ({"operator", "conditions"}). Expected: the set of matching names.

ALL = set(ZOO)
MISSING = object()


def node(field: str, operator: str, value: Any = MISSING, **extra: Any) -> dict[str, Any]:
    """One condition; without ``value`` the key is absent (not null)."""
    body = {"field": field, "operator": operator, **extra}
    if value is not MISSING:
        body["value"] = value
    return body


def contract(*conditions: dict[str, Any], operator: str = "AND", **extra: Any) -> dict[str, Any]:
    return {"operator": operator, "conditions": list(conditions), **extra}


STATUS_TABLE = [
    (contract(node("status", "eq", "completed")), {"alpha", "bravo", "hotel"}),
    (contract(node("status", "==", "completed")), {"alpha", "bravo", "hotel"}),
    (contract(node("status", "eq", "COMPLETED")), {"alpha", "bravo", "hotel"}),
    (contract(node("status", "ne", "failed")), ALL - {"charlie", "delta"}),
    (contract(node("status", "!=", "failed")), ALL - {"charlie", "delta"}),
    (contract(node("status", "in", ["failed", "canceled"])), {"charlie", "delta", "golf"}),
    (contract(node("status", "nin", ["completed", "pending"])), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(node("status", "exists", True)), ALL),
    (contract(node("status", "is_null", True)), set()),
    (contract(node("status", "eq", "canceled")), {"golf"}),
    (contract(node("status", "eq", "processing")), {"foxtrot"}),
]

NUMBER_TABLE = [
    (contract(node("num_points", "gt", 150)), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(node("num_points", ">", 150)), {"charlie", "delta", "foxtrot", "golf"}),
    (contract(node("num_points", "gte", 150)), {"bravo", "charlie", "delta", "foxtrot", "golf"}),
    (contract(node("num_points", ">=", 150)), {"bravo", "charlie", "delta", "foxtrot", "golf"}),
    (contract(node("num_points", "lt", 101)), {"alpha", "echo"}),
    (contract(node("num_points", "<", 101)), {"alpha", "echo"}),
    (contract(node("num_points", "lte", 101)), {"alpha", "echo", "hotel"}),
    (contract(node("num_points", "<=", 101)), {"alpha", "echo", "hotel"}),
    (contract(node("num_points", "eq", 1000)), {"delta"}),
    (contract(node("num_points", "ne", 1000)), ALL - {"delta"}),
    (contract(node("num_points", "nin", [10, 50])), ALL - {"echo", "alpha"}),
    (contract(node("num_points", "lt", 100.5)), {"alpha", "echo"}),
    (contract(node("num_clusters", "in", [2, 3])), {"alpha", "hotel"}),
    (contract(node("num_clusters", "nin", [0])), {"alpha", "bravo", "hotel"}),
    (contract(node("num_clusters", "gte", 3)), {"alpha", "bravo"}),
    (contract(node("num_clusters", "eq", 0)), {"charlie", "delta", "echo", "foxtrot", "golf"}),
    (contract(node("metrics.silhouette_score", "gt", 0.5)), {"alpha"}),
    (contract(node("metrics.silhouette_score", "lt", 0.5)), {"bravo"}),
    # ne is null-safe: a run without the metric is "not equal" to it.
    (contract(node("metrics.silhouette_score", "ne", 0.8)), ALL - {"alpha"}),
    (contract(node("metrics.silhouette_score", "is_null", True)), ALL - {"alpha", "bravo"}),
    (contract(node("metrics.silhouette_score", "exists", True)), {"alpha", "bravo"}),
    (contract(node("metrics.silhouette_score", "exists", False)), ALL - {"alpha", "bravo"}),
    (contract(node("metrics.silhouette_score", "is_null", False)), {"alpha", "bravo"}),
    (contract(node("metrics.silhouette_score", "eq", None)), ALL - {"alpha", "bravo"}),
    (contract(node("metrics.davies_bouldin_index", "lte", 1.5)), {"alpha", "bravo"}),
    (contract(node("metrics.davies_bouldin_index", "gt", 1.5)), {"hotel"}),
    (contract(node("metrics.calinski_harabasz_score", "gte", 100)), {"alpha", "bravo"}),
    (contract(node("metrics.calinski_harabasz_score", "in", [50, 300])), {"alpha", "hotel"}),
    (contract(node("duration", "gt", 5000)), {"bravo", "delta"}),
    (contract(node("duration", "gte", 5000)), {"bravo", "delta", "golf"}),
    (contract(node("duration", "lte", 2000)), {"alpha", "charlie"}),
    (contract(node("duration", "eq", 3000)), {"hotel"}),
    (contract(node("duration", "is_null", True)), {"echo", "foxtrot"}),
    (contract(node("duration", "nin", [1000, 2000])), ALL - {"alpha", "charlie"}),
]

TIME_TABLE = [
    (contract(node("created_at", "gte", "2026-01-01T00:03:00Z")), {"delta", "echo", "foxtrot", "golf", "hotel"}),
    (contract(node("created_at", "lt", "2026-01-01T00:02:00+00:00")), {"alpha", "bravo"}),
    (contract(node("created_at", "eq", "2026-01-01T00:04:00Z")), {"echo"}),
    (contract(node("created_at", "ne", "2026-01-01T00:04:00Z")), ALL - {"echo"}),
    (contract(node("created_at", "gt", "2026-01-01")), ALL - {"alpha"}),
    (contract(node("created_at", "lte", "2026-01-01T01:01:00+01:00")), {"alpha", "bravo"}),
    (contract(node("created_at", "in", ["2026-01-01T00:00:00Z", "2026-01-01T00:07:00Z"])), {"alpha", "hotel"}),
    (contract(node("created_at", "gt", "2026-01-02T00:00:00Z")), set()),
    (contract(node("completed_at", "is_null", True)), {"echo", "foxtrot"}),
    (contract(node("completed_at", "exists", True)), ALL - {"echo", "foxtrot"}),
    (contract(node("completed_at", "exists", False)), {"echo", "foxtrot"}),
    (contract(node("completed_at", "gt", "2026-01-01T00:03:00Z")), {"delta", "golf", "hotel"}),
    (contract(node("completed_at", "lt", "2026-01-01T00:01:05Z")), {"alpha"}),
]

TEXT_TABLE = [
    (contract(node("run_id", "eq", "run_alpha01")), {"alpha"}),
    (contract(node("run_id", "starts_with", "RUN_C")), {"charlie"}),
    (contract(node("run_id", "ends_with", "08")), {"hotel"}),
    (contract(node("run_id", "contains", "ta0")), {"delta"}),
    (contract(node("run_id", "in", ["run_Echo05", "RUN_GOLF07"])), {"echo", "golf"}),
    (contract(node("run_id", "nin", ["run_echo05"])), ALL - {"echo"}),
    (contract(node("run_id", "ne", "RUN_BRAVO02")), ALL - {"bravo"}),
    (contract(node("error_message", "contains", "MEMORY")), {"charlie"}),
    (contract(node("error_message", "starts_with", "worker")), {"delta"}),
    (contract(node("error_message", "ends_with", "TIMES")), {"delta"}),
    (contract(node("error_message", "exists", True)), {"charlie", "delta"}),
    (contract(node("error_message", "is_null", True)), ALL - {"charlie", "delta"}),
    (contract(node("error_message", "eq", "worker lost: heartbeat missed 3 times")), {"delta"}),
    (contract(node("error_message", "ne", "Worker lost: heartbeat missed 3 times")), ALL - {"delta"}),
    (contract(node("error_message", "contains", "%")), set()),
    (contract(node("error_message", "contains", "_")), set()),
    (contract(node("run_id", "contains", "_")), ALL),
]

NESTED_AND_KEYED_TABLE = [
    (
        contract(
            node("status", "eq", "failed"),
            contract(node("status", "eq", "completed"), node("num_points", "gt", 100)),
            operator="OR",
        ),
        {"charlie", "delta", "bravo", "hotel"},
    ),
    (contract(node("status", "eq", "completed"), node("status", "eq", "failed"), operator="NOT"),
     {"echo", "foxtrot", "golf"}),
    (contract(contract(contract(node("num_points", "gt", 400), operator="OR"))), {"charlie", "delta"}),
    (contract(), ALL),
    ({}, ALL),
    ({"AND": [node("status", "in", ["completed", "failed"]), node("num_points", "gt", 100)]},
     {"bravo", "charlie", "delta", "hotel"}),
    ({"OR": [node("status", "eq", "pending"), node("num_points", "gte", 1000)]}, {"echo", "delta"}),
    ({"NOT": [node("status", "eq", "completed")]}, ALL - {"alpha", "bravo", "hotel"}),
    ({"NOT": [node("status", "eq", "completed"), node("num_points", "lt", 250)]}, {"charlie", "delta", "golf"}),
    ({"AND": [node("status", "in", ["completed", "failed"])], "NOT": [node("error_message", "contains", "memory")]},
     {"alpha", "bravo", "delta", "hotel"}),
    ({"AND": [node("num_points", "gt", 100)], "OR": [node("status", "eq", "failed"), node("status", "eq", "canceled")]},
     {"charlie", "delta", "golf"}),
    # NOT means "none of": a run without the field does not match the inner condition, so it stays
    ({"NOT": [node("metrics.silhouette_score", "gt", 0.5)]}, ALL - {"alpha"}),
    ({"NOT": [node("error_message", "starts_with", "worker")]}, ALL - {"delta"}),
    ({"NOT": [node("completed_at", "lt", "2026-01-01T00:03:00Z")]}, {"delta", "echo", "foxtrot", "golf", "hotel"}),
    (contract(node("duration", "gte", 3000), node("metrics.davies_bouldin_index", "in", [0.5]), operator="NOT"),
     {"charlie", "echo", "foxtrot"}),
    (contract(node("status", "eq", "pending"), contract(node("error_message", "contains", "lost"), operator="NOT")),
     {"echo"}),
    ({"OR": [{"AND": [node("status", "eq", "completed"), node("num_clusters", "gte", 3)]},
             contract(node("status", "eq", "pending"))]},
     {"alpha", "bravo", "echo"}),
    # the shorthand, alone and beside logical keys
    ({"status": "completed"}, {"alpha", "bravo", "hotel"}),
    ({"num_points": {"gt": 100}}, {"bravo", "charlie", "delta", "foxtrot", "golf", "hotel"}),
    ({"num_points": {"gt": 100, "lt": 400}}, {"bravo", "foxtrot", "golf", "hotel"}),
    ({"num_points": {">=": 1000}}, {"delta"}),
    ({"status": ["failed", "canceled"]}, {"charlie", "delta", "golf"}),
    ({"error_message": None}, ALL - {"charlie", "delta"}),
    ({"metrics.silhouette_score": {"gte": 0.2}}, {"alpha", "bravo"}),
    ({"status": "completed", "num_clusters": {"lt": 5}}, {"alpha", "hotel"}),
    ({"status": "completed", "NOT": [node("num_points", "lt", 100)]}, {"bravo", "hotel"}),
    ({"run_id": {"starts_with": "run_d"}}, {"delta"}),
]  # fmt: skip

CASE_TABLE = [
    ({"case_sensitive": True, "AND": [node("error_message", "contains", "out")]}, set()),
    ({"case_sensitive": True, "AND": [node("error_message", "contains", "Out")]}, {"charlie"}),
    ({"case_sensitive": True, "AND": [node("error_message", "ends_with", "TIMES")]}, set()),
    ({"case_sensitive": True, "AND": [node("error_message", "starts_with", "Worker")]}, {"delta"}),
    ({"case_sensitive": False, "AND": [node("error_message", "contains", "out")]}, {"charlie"}),
    (contract(node("run_id", "eq", "run_alpha01"), case_sensitive=True), set()),
    (contract(node("run_id", "eq", "run_Alpha01"), case_sensitive=True), {"alpha"}),
    (contract(node("run_id", "starts_with", "run_c", case_sensitive=True)), set()),
    (contract(node("run_id", "starts_with", "run_C", case_sensitive=True)), {"charlie"}),
    (contract(node("run_id", "starts_with", "RUN_c")), {"charlie"}),
    (contract(node("run_id", "in", ["run_echo05", "run_Golf07"]), case_sensitive=True), {"golf"}),
    (contract(node("run_id", "ne", "run_golf07"), case_sensitive=True), ALL),
    ({"case_sensitive": True, "run_id": "run_alpha01"}, set()),
    ({"case_sensitive": True, "run_id": "run_Alpha01"}, {"alpha"}),
    # an inner node overrides what it inherits
    (contract(node("run_id", "eq", "RUN_ALPHA01", case_sensitive=False), case_sensitive=True), {"alpha"}),
    (contract(contract(node("run_id", "eq", "RUN_ALPHA01")), case_sensitive=True), set()),
    # wildcard characters in text operators are literal, also case-sensitively
    ({"case_sensitive": True, "AND": [node("run_id", "contains", "*")]}, set()),
    ({"case_sensitive": True, "AND": [node("run_id", "contains", "?")]}, set()),
    ({"case_sensitive": True, "AND": [node("run_id", "starts_with", "run_[A]")]}, set()),
]

ZOO_TABLES: dict[str, list[tuple[Any, set[str]]]] = {
    "status": STATUS_TABLE,
    "numbers": NUMBER_TABLE,
    "timestamps": TIME_TABLE,
    "text": TEXT_TABLE,
    "nested-keyed-shorthand": NESTED_AND_KEYED_TABLE,
    "case-sensitivity": CASE_TABLE,
}


def zoo_mismatches(list_runs: Lister) -> list[str]:
    """Every row of ZOO_TABLES that ``list_runs`` (over a cluster holding the zoo) answers differently."""
    failures = []
    for table, rows in ZOO_TABLES.items():
        for filters, expected in rows:
            got = [NAME_OF[run_id] for run_id in list_runs({"filters": filters})]
            if sorted(got) != sorted(expected):
                failures.append(f"{table}: got {sorted(got)}, expected {sorted(expected)} for {filters!r}")
    return failures
