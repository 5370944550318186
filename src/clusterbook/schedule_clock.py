"""When a schedule is due: cron expressions (parsed by cronsim) in IANA time zones, and intervals.

Pure functions of the schedule and an instant, so the scheduler and its tests pass ``now`` in
instead of sleeping. Every answer is the first slot strictly after ``now``: a scheduler that was
down for a week fires a missed schedule once on its return and then keeps the cadence, instead of
firing once per missed slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from clusterbook.errors import ErrorLocation, ValidationFailed

NEW_DOCUMENTS_CHECK_SECONDS = 60
"""How often a ``new_documents`` schedule counts the documents changed since the cluster's last run."""
CRON_FIELDS = 5


def _cron_error(expression: str, why: str) -> ValidationFailed:
    message = (
        f"cron {expression!r} is not a valid cron expression: {why}. Use five fields, minute hour "
        "day-of-month month day-of-week, e.g. '0 3 * * *' for 03:00 every day or '*/15 * * * 1-5' for every "
        "15 minutes on weekdays"
    )
    return ValidationFailed(message, errors=[ErrorLocation("cron", message)])


def check_cron(expression: str, timezone: str | None) -> None:
    """ValidationFailed (422, naming ``cron``) unless the expression has five valid fields and a slot."""
    fields = expression.split()
    if len(fields) != CRON_FIELDS:
        raise _cron_error(expression, f"it has {len(fields)} fields, not {CRON_FIELDS}")
    try:
        next_cron_fire(expression, timezone, datetime.now(UTC))
    except CronSimError as exc:
        raise _cron_error(expression, str(exc).lower() or "it cannot be parsed") from exc
    except StopIteration:
        raise _cron_error(expression, "it never matches a date") from None


def next_cron_fire(expression: str, timezone: str | None, now: datetime) -> datetime:
    """The first instant after ``now`` (UTC) that the expression names in ``timezone`` (default UTC),
    with daylight-saving gaps and repeats handled as cronsim does (a skipped 02:30 runs at 03:00, a
    repeated one once)."""
    zone = ZoneInfo(timezone or "UTC")
    start = now.astimezone(zone)
    return next(CronSim(expression, start)).astimezone(UTC)


def next_interval_fire(previous_due: datetime, interval_seconds: int, now: datetime) -> datetime:
    """The first slot after ``now`` on the grid ``previous_due + k * interval``: the cadence is kept,
    and the slots missed while nothing was running are folded into one firing."""
    step = timedelta(seconds=interval_seconds)
    if previous_due > now:
        return previous_due
    missed = (now - previous_due) // step
    return previous_due + (missed + 1) * step


def next_fire(
    *, kind: str, cron: str | None, timezone: str | None, interval_seconds: int | None, due: datetime, now: datetime
) -> datetime:
    """When a schedule is next due after its slot ``due`` was served at ``now``."""
    if kind == "cron":
        assert cron is not None
        return next_cron_fire(cron, timezone, now)
    if kind == "interval":
        assert interval_seconds is not None
        return next_interval_fire(due, interval_seconds, now)
    return now + timedelta(seconds=NEW_DOCUMENTS_CHECK_SECONDS)


def first_fire(
    *, kind: str, cron: str | None, timezone: str | None, interval_seconds: int | None, now: datetime
) -> datetime:
    """When a schedule created (or changed) at ``now`` is first due."""
    if kind == "cron":
        assert cron is not None
        return next_cron_fire(cron, timezone, now)
    if kind == "interval":
        assert interval_seconds is not None
        return now + timedelta(seconds=interval_seconds)
    return now + timedelta(seconds=NEW_DOCUMENTS_CHECK_SECONDS)
