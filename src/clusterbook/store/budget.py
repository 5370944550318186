"""The read budget: a deadline and a cancel flag per request, enforced inside the database itself.

A cheap request must not buy minutes of server time, and a client that gave up must not leave its
query running. Both databases stop a statement mid-flight:

* SQLite: a progress handler, called every few thousand virtual-machine steps, interrupts the
  statement once the deadline passes or the token is cancelled; it is removed when the request
  ends, so the pooled connection goes back clean.
* PostgreSQL: ``statement_timeout`` is set (transaction-local) to what is left of the budget before
  each statement, so the request's statements together never outrun it; a cancelled token sends the
  backend a cancel request from another thread, and that connection is then discarded, so a late
  cancel can never hit the next request's query.

Only reads are budgeted: writes (document upserts, execute) and the runner never carry a budget.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from clusterbook.errors import QueryTimeout

logger = logging.getLogger(__name__)

BUDGET_KEY = "clusterbook.query_budget"
"""Where a PostgreSQL connection's ``info`` holds the budget of the request using it."""
SQLITE_PROGRESS_STEPS = 2000
"""Virtual-machine steps between two checks: well under a millisecond apart, and cheap."""
RESET_SLACK_MS = 100
"""PostgreSQL: re-set statement_timeout before a statement only when the budget shrank this much."""
PG_CANCEL_TIMEOUT_SECONDS = 5.0


class CancelToken:
    """Set once, from any thread (the ASGI layer sets it when the client disconnects)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when cancelled (at once if already); returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._forget(callback)
        callback()
        return lambda: None

    def _forget(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)


@dataclass
class QueryBudget:
    """How long one request's reads may take, and whether its client still waits for them."""

    seconds: float
    token: CancelToken = field(default_factory=CancelToken)
    hint: str = ""
    """What the request asks for that costs, and how to narrow it; set by the route before it queries."""
    started: float = field(default_factory=time.monotonic)
    _timeout_ms: int | None = None

    def remaining(self) -> float:
        return self.started + self.seconds - time.monotonic()

    def exceeded(self) -> bool:
        return self.token.cancelled or self.remaining() <= 0

    def error(self) -> QueryTimeout:
        if self.token.cancelled:
            return QueryTimeout("the client disconnected; its query was stopped")
        hint = self.hint or "narrow the request, e.g. with a created_at range or fewer conditions"
        return QueryTimeout(
            f"the query ran past the server's budget of {self.seconds:g} s (CLUSTERBOOK_QUERY_TIMEOUT) "
            f"and was stopped; {hint}",
            extra={"query_timeout_seconds": self.seconds},
        )


def interrupted(exc: BaseException) -> bool:
    """True for the driver error of a statement stopped by the budget (either database)."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_INTERRUPT":
        return True
    return getattr(orig, "sqlstate", None) == "57014"  # query_canceled: statement_timeout or a cancel


class _PostgresCanceller:
    """Sends the backend one cancel request, and only while the request still owns the connection."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.lock = threading.Lock()
        self.active = True
        self.sent = False

    def fire(self) -> None:
        # Called on the event loop thread: the cancel opens a connection of its own, so not there.
        threading.Thread(target=self._send, name="clusterbook-cancel", daemon=True).start()

    def _send(self) -> None:
        with self.lock:
            if not self.active:
                return
            self.sent = True
            try:
                self.driver.cancel_safe(timeout=PG_CANCEL_TIMEOUT_SECONDS)
            except Exception:  # noqa: BLE001 - the statement_timeout still ends the query
                logger.warning("could not cancel a PostgreSQL query", exc_info=True)

    def close(self) -> bool:
        """Stop cancelling; True when a cancel was sent (the connection must then be discarded)."""
        with self.lock:
            self.active = False
            return self.sent


class BudgetGuard:
    """Holds one connection's statements to ``budget`` from :meth:`attach` until :meth:`release`.

    Split from :func:`enforce_budget` so that a request can attach it lazily, on whichever worker
    thread first takes the connection (``api/deps.py`` hooks it to the session's ``after_begin``),
    instead of checking a connection out on the event loop."""

    def __init__(self, budget: QueryBudget) -> None:
        self.budget = budget
        self._release: Callable[[], None] | None = None

    def attach(self, connection: Connection) -> None:
        if self._release is not None:
            return
        budget = self.budget
        driver: Any = connection.connection.driver_connection
        if connection.dialect.name == "sqlite":
            driver.set_progress_handler(lambda: 1 if budget.exceeded() else 0, SQLITE_PROGRESS_STEPS)

            def release_sqlite() -> None:
                driver.set_progress_handler(None, 0)

            self._release = release_sqlite
            return
        connection.info[BUDGET_KEY] = budget
        canceller = _PostgresCanceller(driver)
        unregister = budget.token.on_cancel(canceller.fire)

        def release_postgres() -> None:
            unregister()
            connection.info.pop(BUDGET_KEY, None)
            if canceller.close():
                connection.invalidate()  # a cancel may still be in flight: never reuse this backend

        self._release = release_postgres

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


@contextmanager
def enforce_budget(session: Session, budget: QueryBudget) -> Iterator[None]:
    """Hold every statement of the block to ``budget``; a stopped statement becomes :class:`QueryTimeout`."""
    guard = BudgetGuard(budget)
    guard.attach(session.connection())
    try:
        yield
    except DBAPIError as exc:
        if interrupted(exc):
            raise budget.error() from exc
        raise
    finally:
        guard.release()


def install_budget_hooks(engine: Engine) -> None:
    """PostgreSQL: before each statement of a budgeted connection, cap it at what is left of the budget."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _cap(conn: Any, cursor: Any, _statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
        budget: QueryBudget | None = conn.info.get(BUDGET_KEY)
        if budget is None:
            return
        if budget.exceeded():
            raise budget.error()
        remaining_ms = max(1, math.ceil(budget.remaining() * 1000))
        if budget._timeout_ms is None or budget._timeout_ms - remaining_ms > RESET_SLACK_MS:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", (f"{remaining_ms}ms",))
            budget._timeout_ms = remaining_ms
