"""Errors only a client can meet: the server could not be reached, or a run outlived the wait.

Everything the server reports comes back as the exception class it raised (``clusterbook.errors``);
these two cover what happens before or beside a server's answer.
"""

from __future__ import annotations

from clusterbook.errors import ClusterbookError, ServiceUnavailable


class ConnectionFailed(ServiceUnavailable):
    """The server could not be reached (refused, unreachable, dropped), even after retrying.

    A subclass of :class:`~clusterbook.errors.ServiceUnavailable`, so one ``except`` covers a server
    that is down and one that answers 503. ``extra`` holds ``url``, ``method`` and ``attempts``.
    """

    code = "connection_failed"
    title = "Server unreachable"


class WaitTimeout(ClusterbookError):
    """A run did not end within the time a caller was willing to wait; it keeps running.

    ``extra`` holds ``run_id``, ``cluster_id`` and ``run_status`` (the last status seen).
    """

    code = "wait_timeout"
    status = 504
    title = "Timed out waiting for a run"
