"""The run state machine, declared once and applied by every statement that changes a run's status.

::

    pending ──claim──▶ processing ──complete──▶ completed
       │                 │  │  └────fail / out of attempts──▶ failed
       │                 │  └──requeue (process died, lease lapsed, shutdown)──▶ pending
       └──cancel──▶ canceled ◀──cancel──┘

Terminal states (completed, failed, canceled) have no way out. Each UPDATE that moves a run carries
``status IN (the states allowed to move to the target)`` in its WHERE clause (:func:`may_enter`), so a
transition that is not allowed — including a repeated one — matches no row and changes nothing; the
transitions out of ``processing`` also carry the claim's attempt token (``store.queue``).
"""

from __future__ import annotations

from typing import Any

from clusterbook.models.executions import ExecutionStatus
from clusterbook.store.tables import executions

PENDING = ExecutionStatus.PENDING
PROCESSING = ExecutionStatus.PROCESSING
COMPLETED = ExecutionStatus.COMPLETED
FAILED = ExecutionStatus.FAILED
CANCELED = ExecutionStatus.CANCELED

TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    PENDING: frozenset({PROCESSING, CANCELED}),
    PROCESSING: frozenset({COMPLETED, FAILED, CANCELED, PENDING}),
    COMPLETED: frozenset(),
    FAILED: frozenset(),
    CANCELED: frozenset(),
}
"""Where a run in each state may go next. A state never moves to itself."""


def allowed(source: ExecutionStatus | str, target: ExecutionStatus | str) -> bool:
    return ExecutionStatus(target) in TRANSITIONS[ExecutionStatus(source)]


def sources(target: ExecutionStatus | str) -> list[str]:
    """The statuses a run may be in to move to ``target`` (sorted, as stored values)."""
    return sorted(s.value for s, targets in TRANSITIONS.items() if ExecutionStatus(target) in targets)


def may_enter(target: ExecutionStatus | str) -> Any:
    """The WHERE condition of an UPDATE moving runs to ``target``: only rows allowed to move match."""
    allowed_from = sources(target)
    column = executions.c.status
    return column == allowed_from[0] if len(allowed_from) == 1 else column.in_(allowed_from)
