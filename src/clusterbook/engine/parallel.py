"""The one small interface through which a run's independent pieces run in parallel: ``TaskMap``.

A run's parallel pieces (the stability resamples; not the auto-k candidates, which cost less than a
task costs to hand out: docs/DESIGN.md) are independent tasks. The engine states them as "map this picklable function over these picklable items, with one
read-only shared value, and give me the results in order"; whoever executes runs decides where the
tasks go: in this process (``SerialMap``, here), local processes (``runner.parallel.ProcessMap``) or,
when there is one, a distributed backend. The engine never learns which.

The shared value (the run's vectors) is passed apart from the items so an implementation can hand it
over once and without copying: a forked process inherits it, a distributed backend would put it in
its object store once. Each call is ``fn(shared, item)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")


class TaskMap(Protocol):
    """Runs ``fn(shared, item)`` for every item and returns the results in the items' order.

    ``fn`` must be a module-level function and items and results picklable, so that any
    implementation can ship them elsewhere. An exception in a task propagates from ``map``.
    """

    def map(self, fn: Callable[[Any, Any], R], items: Sequence[Any], *, shared: Any = None) -> list[R]: ...


class SerialMap:
    """Every task in this process, one after another: the default, and the reference the parallel
    implementations must agree with (same results, same order)."""

    def map(self, fn: Callable[[Any, Any], R], items: Sequence[Any], *, shared: Any = None) -> list[R]:
        return [fn(shared, item) for item in items]
