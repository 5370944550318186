"""The Ray runner: each claimed run is one Ray task, its parallel pieces Ray tasks of their own.

The database stays the single source of truth. A worker thread claims a run exactly as the local
pool does (lease + attempt token), submits one task (``num_cpus`` = the run's thread budget) and,
while the task runs, renews the lease every ``heartbeat_seconds``. The task loads its documents from
the database itself and records its outcome through the same token-guarded completion as a local
process (``compute.compute_run``), so a late or duplicate task never overwrites a run that is no
longer its own. What the supervisor sees maps onto the local runner's transitions:

- the run was canceled or reclaimed (renewal fails): ``ray.cancel(force=True)``, nothing written;
- past ``run_timeout_seconds``: the task is cancelled and the run failed with the time-limit message;
- the task's worker died (killed, out of memory, node lost): one attempt charged, retried, then
  "Worker lost: …" after ``max_attempts``;
- the connection to the cluster was lost: the run goes back to pending without charging an attempt,
  and the pool reconnects with backoff before it claims again.

Ray is imported only here; ``worker.make_pool`` checks that it is installed before importing this.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import ray
import ray.exceptions
from sqlalchemy import Engine
from threadpoolctl import threadpool_limits

from clusterbook.runner.compute import ComputeSettings, compute_run
from clusterbook.runner.worker import RunnerUnavailable, WorkerPool
from clusterbook.settings import Settings, available_cores
from clusterbook.store.queue import Claim, defer_execution, read_worker

try:  # never let a Ray call after a lost cluster silently start a local Ray (ports nobody chose)
    import ray._private.auto_init_hook as _auto_init

    _auto_init.enable_auto_connect = False
except (ImportError, AttributeError):  # pragma: no cover - a Ray without the hook does not auto-start
    pass

logger = logging.getLogger(__name__)
R = TypeVar("R")
RECONNECT_FIRST_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 30.0
DEFER_SECONDS = 30.0
"""How long a GPU run the cluster cannot place is left alone before this pool looks at it again."""
MAX_DEFERRED = 500
PROBE_TIMEOUT_SECONDS = 2.0
PROBE_EVERY_SECONDS = 1.0
DRAIN_SECONDS = 20.0
"""How long a reconnect waits for the runs in flight to be handed back before it leaves the cluster.
Ray's driver ends its own process when the cluster's GCS stays unreachable for 60 s
(``gcs_rpc_server_reconnect_timeout_s``), so the pool must have disconnected well before that."""
TASK_PREFIX = "ray:"
"""A run's ``worker_id`` once its Ray task runs (``ray:<node>:<pid>``); the claim wrote ``host:pid``."""

WORKER_DEATH: tuple[type[BaseException], ...] = (
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.NodeDiedError,
    ray.exceptions.OutOfMemoryError,
    ray.exceptions.TaskCancelledError,  # cancelled by someone other than this pool (we never wait after ours)
    ray.exceptions.RayTaskError,  # the task could not even start compute_run (which records every error itself)
)
"""Task failures that cost the run an attempt, as a killed local process does — while the cluster
itself still answers: a node death seen when the cluster's GCS is unreachable is the head going
away, a lost connection. Any other exception from Ray (``LocalRayletDiedError``: this driver's own
raylet) is a lost connection too, which costs nothing."""


@dataclass(frozen=True)
class Secrets:
    """What a run's task needs but must not carry as a task argument (task arguments are kept in the
    task's spec, which Ray's tooling can show): the pool puts this in the object store once per
    connection and the task gets only its ``ObjectRef``."""

    database_url: str
    llm_api_key: str | None


def _compute_on_ray(claim: Claim, settings: ComputeSettings, secrets: Secrets) -> None:
    """The body of a run's Ray task: say where it runs, then compute exactly as a local process does."""
    node = ray.get_runtime_context().get_node_id()
    here = replace(
        settings,
        database_url=secrets.database_url,
        llm_api_key=secrets.llm_api_key,
        runner="ray",
        ray_node_id=node,
        worker_id=f"{TASK_PREFIX}{node}:{os.getpid()}",
    )
    compute_run(claim, here)


compute_task = ray.remote(max_retries=0)(_compute_on_ray)
"""``max_retries=0``: retrying is the database queue's job (attempts are counted there), not Ray's."""


def _piece(fn: Callable[[Any, Any], Any], shared: Any, item: Any) -> Any:
    with threadpool_limits(limits=1):
        return fn(shared, item)


piece_task = ray.remote(num_cpus=1, max_retries=0)(_piece)


class RayMap:
    """``TaskMap`` over Ray tasks: the shared value goes into the object store once, each item is one
    task of one CPU. The run's task blocks in ``ray.get`` meanwhile, and Ray lends its CPUs to the
    pieces, so a run never holds more than its own budget plus what the cluster has free."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self.last_processes = 0
        """Ray tasks the last ``map`` used."""

    def map(self, fn: Callable[[Any, Any], R], items: Sequence[Any], *, shared: Any = None) -> list[R]:
        if not items:
            self.last_processes = 0
            return []
        shared_ref = ray.put(shared)
        refs = [piece_task.remote(fn, shared_ref, item) for item in items]
        self.last_processes = len(refs)
        try:
            return list(ray.get(refs))
        except BaseException:
            for ref in refs:  # one piece failed: the others are no use any more
                ray.cancel(ref, force=True)
            raise


def _gpus(claim: Claim) -> int:
    """The GPUs the run asked for (``ExecuteRequest.gpus``, stored in its config); 0 for none."""
    value = claim.config.get("gpus")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def redacted_url(url: str) -> str:
    """The database URL with its password masked: what a task argument may say about the database."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as nothing at all
        return ""


def probe_target(address: str | None, gcs_address: str | None) -> tuple[str, int] | None:
    """Where to knock to learn whether the cluster answers: the GCS this driver joined (``host:port``),
    or the Ray Client server of a ``ray://`` address; None when unknown."""
    for candidate in (
        address.removeprefix("ray://") if address and address.startswith("ray://") else None,
        gcs_address,
    ):
        if candidate and ":" in candidate:
            host, _, port = candidate.rpartition(":")
            if port.isdigit():
                return host.strip("[]"), int(port)
    return None


def reachable(target: tuple[str, int] | None) -> bool:
    """A TCP connect to the cluster's GCS: a dead head refuses (or times out) at once, where any Ray
    call would block for up to a minute and then end this process."""
    if target is None:
        return True
    try:
        socket.create_connection(target, timeout=PROBE_TIMEOUT_SECONDS).close()
    except OSError:
        return False
    return True


def connect(address: str | None) -> bool:
    """Join the cluster at ``address`` (``auto``, ``ray://…``), or start a local Ray with this
    machine's cores; an already connected driver (a test's, an embedding program's) is reused.
    True when this call connected (so the caller disconnects when it stops)."""
    if ray.is_initialized():
        return False
    try:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address="local", num_cpus=available_cores(), include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - Ray raises many types; each means "no cluster"
        where = address or "a local Ray"
        raise RunnerUnavailable(f"could not connect to Ray at {where}: {type(exc).__name__}: {exc}") from exc
    return True


class RayPool(WorkerPool):
    """``WorkerPool`` whose runs are Ray tasks; see the module docstring for the transitions."""

    def __init__(self, engine: Engine, settings: Settings, workers: int | None = None) -> None:
        super().__init__(engine, settings, workers)
        self.address = settings.ray_address
        self.connected = threading.Event()
        self.reconnecting = threading.Lock()
        self.owns_connection = False
        self.deferred: dict[str, float] = {}
        """GPU runs put back because no node has their GPUs: run id → when (``time.monotonic``)."""
        self.deferred_lock = threading.Lock()
        self.target: tuple[str, int] | None = None
        """Where ``reachable`` knocks (the GCS joined); None for a local Ray of our own."""
        self.probed = (0.0, True)
        """(when, answer) of the last probe, shared by the threads for ``PROBE_EVERY_SECONDS``."""
        self.probe_lock = threading.Lock()
        self.in_flight = 0
        """Supervisors between submitting a task and handing its run back: a reconnect waits for none."""
        self.flight = threading.Condition()
        self.secrets: Any = None
        """The ``ObjectRef`` of this connection's ``Secrets`` (an object is its connection's)."""

    def _joined(self) -> None:
        """Just connected (at start or again): learn where to probe, put the secrets in the store."""
        gcs = None
        with contextlib.suppress(Exception):  # a Ray Client connection does not say
            gcs = ray.get_runtime_context().gcs_address
        self.target = probe_target(self.address, gcs) if self.address else None
        self.probed = (time.monotonic(), True)
        self.secrets = ray.put(Secrets(self.settings.database_url, self.settings.llm_api_key))
        self.joins += 1
        self.connected.set()

    def start(self) -> RayPool:
        if self.size:
            self.owns_connection = connect(self.address)
            self._joined()
            if self.settings.compute_threads is None:  # the cluster's cores shared by the runs in flight
                cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
                self.compute_settings = replace(self.compute_settings, threads=max(1, cpus // self.size))
            # the task's arguments carry no secret: the key and the database URL come from the object store
            self.compute_settings = replace(
                self.compute_settings,
                runner="ray",
                database_url=redacted_url(self.settings.database_url),
                llm_api_key=None,
            )
            logger.info("Ray runner on %s", self.address or "a local Ray")
        super().start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop as the local pool does (tasks in flight cancelled, their runs back in the queue), then
        leave the cluster if this pool joined it (a local Ray it started ends with it)."""
        super().stop(timeout)
        if self.owns_connection:
            ray.shutdown()
            self.owns_connection = False

    # -- connection --------------------------------------------------------------------------------

    def _reachable(self) -> bool:
        """Whether the cluster answers, probed at most every ``PROBE_EVERY_SECONDS`` for all threads."""
        with self.probe_lock:
            when, answer = self.probed
            if time.monotonic() - when >= PROBE_EVERY_SECONDS:
                answer = reachable(self.target)
                self.probed = (time.monotonic(), answer)
            return answer

    def _ready(self) -> bool:
        """Connected to a cluster that answers, or reconnect with backoff (one thread tries; the others
        wait for it). An idle pool notices a dead head here, within ``poll_seconds``."""
        if self.connected.is_set():
            if self._reachable():
                return True
            logger.warning("the Ray cluster at %s does not answer; reconnecting", self._where())
            self.connected.clear()
        with self.reconnecting:
            if not self.connected.is_set() and not self.stopping.is_set():
                self._leave()
            delay = RECONNECT_FIRST_SECONDS
            while not self.connected.is_set() and not self.stopping.is_set():
                try:
                    if not reachable(self.target):
                        raise RunnerUnavailable(f"could not reach Ray at {self._where()}")
                    self.owns_connection = connect(self.address)
                    self._joined()
                    logger.info("reconnected to Ray at %s", self._where())
                except RunnerUnavailable as exc:
                    logger.warning("%s; retrying in %.0f s", exc, delay)
                    self.stopping.wait(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        return self.connected.is_set()

    def _leave(self) -> None:
        """Leave the lost cluster once every run in flight is handed back (their supervisors see the
        connection cleared within a heartbeat), and before Ray's driver gives up on its own."""
        with self.flight:
            self.flight.wait_for(lambda: self.in_flight == 0, timeout=DRAIN_SECONDS)
        self.secrets = None
        try:
            ray.shutdown()
        except Exception as exc:  # noqa: BLE001 - leaving a dead cluster may complain; we are gone anyway
            logger.warning("leaving the lost Ray cluster: %s", exc)

    def _where(self) -> str:
        if self.target is not None:
            return f"{self.address} ({self.target[0]}:{self.target[1]})"
        return self.address or "a local Ray"

    def _lost(self, claim: Claim, exc: BaseException | str) -> None:
        """The cluster is unreachable: the run goes back to pending, no attempt charged."""
        logger.warning("lost the Ray cluster while running %s (%s); run goes back to the queue", claim.run_id, exc)
        self.connected.clear()
        self._release(claim, "lost the connection to the Ray cluster", refund=True)

    # -- resources ---------------------------------------------------------------------------------

    def _skipped(self) -> list[str]:
        now = time.monotonic()
        with self.deferred_lock:
            for run_id, since in list(self.deferred.items()):
                if now - since > DEFER_SECONDS:
                    del self.deferred[run_id]
            return list(self.deferred)[:MAX_DEFERRED]

    def _placeable(self, claim: Claim, gpus: int) -> bool:
        """Whether some live node has the run's GPUs; if none has, the run goes back to pending with
        the reason in its error_message, and this pool leaves it alone for ``DEFER_SECONDS``."""
        most = max((node["Resources"].get("GPU", 0) for node in ray.nodes() if node.get("Alive")), default=0)  # type: ignore[no-untyped-call]
        if most >= gpus:
            return True
        reason = (
            f"Waiting for a GPU: this run asks for {gpus} GPU{'s' if gpus > 1 else ''} and no node of the Ray "
            f"cluster has {'that many' if most else 'one'}; it stays pending until such a node joins (checked every "
            f"{DEFER_SECONDS:.0f} s), or cancel it and execute it without gpus"
        )
        self._db(lambda s: defer_execution(s, run_id=claim.run_id, token=claim.token, reason=reason), "deferring a run")
        with self.deferred_lock:
            self.deferred[claim.run_id] = time.monotonic()
        logger.info("run %s needs %d GPUs, which no node has; left pending", claim.run_id, gpus)
        return False

    # -- one run -----------------------------------------------------------------------------------

    def _supervise(self, claim: Claim) -> None:
        with self.flight:
            self.in_flight += 1
        try:
            self._supervise_task(claim)
        finally:
            with self.flight:
                self.in_flight -= 1
                self.flight.notify_all()

    def _supervise_task(self, claim: Claim) -> None:
        gpus = _gpus(claim)
        try:
            if gpus and not self._placeable(claim, gpus):
                return
            task = compute_task.options(num_cpus=self.compute_settings.threads, num_gpus=gpus)
            ref = task.remote(claim, self.compute_settings, self.secrets)
        except Exception as exc:  # noqa: BLE001 - submitting needs the cluster
            self._lost(claim, exc)
            return
        logger.info("run %s (attempt %d) submitted to Ray", claim.run_id, claim.attempt)
        deadline: float | None = None
        """Counted from when the task began computing (it records its worker), not from the submit:
        a run waiting for the cluster's resources does not burn its time limit."""
        while True:
            try:
                done, _ = ray.wait([ref], timeout=self.settings.heartbeat_seconds)
                if done:
                    ray.get(ref)
                    return  # the task recorded the outcome itself (or found the run no longer its own)
            except WORKER_DEATH as exc:
                if self._reachable():
                    self._worker_died(claim, exc)
                else:  # the node died with the cluster's head: the cluster is gone, not the run's fault
                    self._lost(claim, exc)
                return
            except Exception as exc:  # noqa: BLE001 - anything else from Ray: the cluster is gone
                self._lost(claim, exc)
                return
            if not self.connected.is_set() or not self._reachable():
                self._lost(claim, "the cluster does not answer")
                return
            if self.stopping.is_set():
                self._cancel(ref)
                self._release(claim, "server shut down", refund=True)
                return
            renewed = self._db(self._renewal(claim, None), "renewing a lease")
            if renewed is False:  # ended by its own task (which finishes by itself), or taken from it
                if self._taken_away(claim) is not None:
                    self._cancel(ref)
                return
            if deadline is None and self._started(claim):
                deadline = time.monotonic() + self.settings.run_timeout_seconds
            if deadline is not None and time.monotonic() > deadline:
                self._cancel(ref)
                self._fail_timed_out(claim)
                return

    def _started(self, claim: Claim) -> bool:
        """Whether the run's task has begun computing: it records ``ray:<node>:<pid>`` first thing."""
        worker = self._db(lambda s: read_worker(s, run_id=claim.run_id, token=claim.token), "reading a run")
        return worker is not None and worker.startswith(TASK_PREFIX)

    def _worker_died(self, claim: Claim, exc: BaseException) -> None:
        reason = f"Ray task failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        status = self._release(claim, reason[:300])
        logger.warning("Ray task of run %s died (%s); run is now %s", claim.run_id, reason, status)

    @staticmethod
    def _cancel(ref: Any) -> None:
        """Force-cancel the run's task and its pieces (``recursive``); a lost cluster has nothing to end."""
        try:
            ray.cancel(ref, force=True, recursive=True)
        except Exception as exc:  # noqa: BLE001
            logger.warning("cancelling a Ray task failed: %s", exc)
