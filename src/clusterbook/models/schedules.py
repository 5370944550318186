"""Wire models of schedules (a cluster's triggers) and their firings, and the ``trigger`` of a run.

A schedule starts runs of its cluster on one of three kinds of trigger: a cron expression in a time
zone, a fixed interval, or a count of documents added or changed since the cluster's last run. The
shape (exactly one kind, bounds, a known time zone) is checked here; the cron expression itself is
parsed on the server (``clusterbook.schedule_clock``), so the SDK needs no cron library.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.executions import ExecuteRequest
from clusterbook.models.listing import PaginationResponse


def schedule_trigger(schedule_id: str) -> str:
    return f"schedule:{schedule_id}"


MAX_SCHEDULES_PER_CLUSTER = 20
MAX_CRON_LENGTH = 200
MAX_TIMEZONE_LENGTH = 64
MAX_SCHEDULE_NAME = 200
INTERVAL_SECONDS = (60, 366 * 86400)
"""An interval from one minute to a (leap) year: the scheduler checks every few seconds."""
NEW_DOCUMENTS = (1, 10_000_000)
MAX_FIRINGS_LISTED = 100
KIND_FIELDS = ("cron", "interval_seconds", "new_documents")
ScheduleKind = Literal["cron", "interval", "new_documents"]


class SkipReason(StrEnum):
    """Why a firing started no run."""

    PAUSED = "paused"
    IN_FLIGHT = "in_flight"
    """The run this schedule started last is still pending or processing."""
    NO_NEW_DOCUMENTS = "no_new_documents"
    REFUSED = "refused"
    """Submitting the run failed (the cluster's configuration no longer admits it); ``detail`` says why."""


def _check_timezone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"timezone {value!r} is not an IANA time zone; use a name such as 'UTC', 'Europe/Berlin' or "
            "'America/New_York'"
        ) from None
    return value


class _ScheduleFields(StorableBody):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_SCHEDULE_NAME, description="A label for people.")
    cron: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_CRON_LENGTH,
        description="Five-field cron expression (minute hour day-of-month month day-of-week), e.g. '0 3 * * *'.",
    )
    timezone: str | None = Field(
        default=None,
        max_length=MAX_TIMEZONE_LENGTH,
        description="IANA time zone the cron expression is read in (with cron only); default 'UTC'.",
    )
    interval_seconds: int | None = Field(
        default=None,
        ge=INTERVAL_SECONDS[0],
        le=INTERVAL_SECONDS[1],
        description=f"Run every this many seconds ({INTERVAL_SECONDS[0]} to {INTERVAL_SECONDS[1]}).",
    )
    new_documents: int | None = Field(
        default=None,
        ge=NEW_DOCUMENTS[0],
        le=NEW_DOCUMENTS[1],
        description="Run once at least this many documents of the cluster's collections were added or changed "
        "since its last run (checked every minute).",
    )
    execute: ExecuteRequest | None = Field(
        default=None, description="The body each run is submitted with, as for POST …/execute."
    )
    paused: bool | None = Field(default=None, description="A paused schedule records its slots as skipped.")

    _timezone = field_validator("timezone")(_check_timezone)

    def kinds_given(self) -> list[str]:
        return [name for name in KIND_FIELDS if name in self.model_fields_set and getattr(self, name) is not None]


class ScheduleCreate(_ScheduleFields):
    """Body of ``POST /v1/clusters/{cluster_id}/schedules``: exactly one of ``cron`` (with an optional
    ``timezone``), ``interval_seconds`` or ``new_documents``."""

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleCreate:
        kinds = self.kinds_given()
        if len(kinds) != 1:
            found = "none of them" if not kinds else " and ".join(kinds)
            raise ValueError(
                "a schedule needs exactly one of cron (with timezone), interval_seconds or new_documents; "
                f"the body gave {found}"
            )
        if self.timezone is not None and self.cron is None:
            raise ValueError("timezone applies to cron schedules only; leave it out or give a cron expression")
        return self


class ScheduleUpdate(_ScheduleFields):
    """Body of ``PATCH …/schedules/{schedule_id}``: ``paused`` to pause or resume, ``name``,
    ``execute``, or a new trigger (at most one of the kind fields, replacing the old trigger)."""

    @model_validator(mode="after")
    def _at_most_one_kind(self) -> ScheduleUpdate:
        for name in ("paused", *KIND_FIELDS):  # name and execute may be null: no name, the plain execute
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep the current value")
        kinds = self.kinds_given()
        if len(kinds) > 1:
            raise ValueError(f"give at most one of cron, interval_seconds or new_documents; got {' and '.join(kinds)}")
        if "timezone" in self.model_fields_set and self.cron is None:
            raise ValueError("timezone is changed together with cron; give both")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ScheduleFiring(WireModel):
    """One firing: the slot it served, when it fired, and the run it started or why it skipped."""

    due_at: UTCDatetime = Field(description="The slot this firing served (a late firing catches up once).")
    fired_at: UTCDatetime = Field(description="When it fired (the latest time, for a repeated skip).")
    run_id: str | None = None
    skipped: SkipReason | None = None
    detail: str | None = None
    repeats: int = Field(default=1, description="The same skip in a row is recorded once, counted here.")


class Schedule(WireModel):
    """A schedule of a cluster."""

    schedule_id: str
    cluster_id: str
    name: str | None = None
    kind: ScheduleKind
    cron: str | None = None
    timezone: str | None = None
    interval_seconds: int | None = None
    new_documents: int | None = None
    execute: dict[str, Any] | None = None
    paused: bool
    next_fire_at: UTCDatetime = Field(description="When it is next due (new_documents: the next check).")
    last_fired_at: UTCDatetime | None = None
    last_run_id: str | None = None
    created_at: UTCDatetime
    updated_at: UTCDatetime
    trigger: str = Field(description="The trigger its runs carry: 'schedule:<schedule_id>'.")
    last_firings: list[ScheduleFiring] = Field(default_factory=list, description="The newest firings, newest first.")


class ListSchedulesResponse(WireModel):
    """A cluster's schedules (at most MAX_SCHEDULES_PER_CLUSTER), oldest first."""

    results: list[Schedule]
    pagination: PaginationResponse
    total_count: int


class ListScheduleFiringsResponse(WireModel):
    """A schedule's newest firings, newest first."""

    results: list[ScheduleFiring]
    total_count: int
