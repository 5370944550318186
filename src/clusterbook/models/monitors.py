"""Wire models of monitors: saved rules over a cluster's history, their state and their alerts.

A monitor has one ``rule``, chosen by ``kind``:

* ``failure_rate``: the share of failed runs among the last ``last_runs`` finished runs, or among
  the runs that finished in the last ``window_seconds``, is above ``above`` (canceled runs are a
  person's decision, not a failure, and are left out of both counts);
* ``metric``: a declared measure (``models/measures.py``) of the latest completed run is ``below``
  or ``above`` a threshold, or below the median of the ``last_runs`` completed runs before it minus
  ``delta`` (``below_median``);
* ``no_completed_run``: no run has completed for ``for_seconds``.

Every bound is declared here, so the API refuses a rule it could not evaluate cheaply (422).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from clusterbook.models.base import StorableBody, UTCDatetime, WireModel
from clusterbook.models.listing import PaginationResponse
from clusterbook.models.measures import MEASURES

MAX_MONITORS_PER_CLUSTER = 50
"""Each run's end evaluates every monitor of its cluster; this keeps that work small."""
MAX_LAST_RUNS = 1000
"""The most runs one evaluation reads (``last_runs``, ``below_median.last_runs``)."""
MAX_WINDOW_SECONDS = 90 * 86400
MAX_QUIET_SECONDS = 365 * 86400
MIN_SECONDS = 60
MonitorState = Literal["ok", "alerting"]
AlertEvent = Literal["triggered", "recovered"]


def measure_name(value: str) -> str:
    """The declared measure called ``value`` (its name, filter field or wire path), as its name;
    ValueError listing every declared measure otherwise."""
    for measure in MEASURES:
        if value in (measure.name, measure.field, measure.path):
            return measure.name
    accepted = ", ".join(m.name for m in MEASURES)
    raise ValueError(f"unknown measure {value!r}; the declared measures are: {accepted}")


class _Rule(WireModel):
    model_config = ConfigDict(extra="forbid")


class FailureRateRule(_Rule):
    """Alert when the failure rate over the last N finished runs (or a time window) exceeds ``above``."""

    kind: Literal["failure_rate"]
    above: float = Field(ge=0.0, lt=1.0, description="Alert when failed / (failed + completed) is above this.")
    last_runs: int | None = Field(default=None, ge=1, le=MAX_LAST_RUNS, description="Over the last N finished runs.")
    window_seconds: int | None = Field(
        default=None,
        ge=MIN_SECONDS,
        le=MAX_WINDOW_SECONDS,
        description="Over the runs that finished in this many seconds before now.",
    )
    min_runs: int = Field(
        default=1, ge=1, le=MAX_LAST_RUNS, description="Fewer finished runs than this give no verdict."
    )

    @model_validator(mode="after")
    def _one_scope(self) -> FailureRateRule:
        if (self.last_runs is None) == (self.window_seconds is None):
            raise ValueError(
                "give exactly one of last_runs (the last N finished runs) or window_seconds (a time window)"
            )
        if self.last_runs is not None and self.min_runs > self.last_runs:
            raise ValueError(f"min_runs ({self.min_runs}) cannot exceed last_runs ({self.last_runs})")
        return self


class BelowMedian(_Rule):
    """Below the median of the ``last_runs`` completed runs before the latest, minus ``delta``."""

    last_runs: int = Field(ge=1, le=MAX_LAST_RUNS)
    delta: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)


class MetricRule(_Rule):
    """Alert on a declared measure of the latest completed run (``GET /v1/meta/measures`` lists them)."""

    kind: Literal["metric"]
    measure: str = Field(min_length=1, max_length=64, description="A declared measure, e.g. silhouette_score.")
    below: float | None = Field(default=None, allow_inf_nan=False)
    above: float | None = Field(default=None, allow_inf_nan=False)
    below_median: BelowMedian | None = None

    @field_validator("measure")
    @classmethod
    def _declared(cls, value: str) -> str:
        return measure_name(value)

    @model_validator(mode="after")
    def _one_condition(self) -> MetricRule:
        given = [name for name in ("below", "above", "below_median") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one condition: below (a threshold), above (a threshold) or "
                'below_median ({"last_runs": N, "delta": d})' + (f"; got {', '.join(given)}" if given else "")
            )
        return self


class NoCompletedRunRule(_Rule):
    """Alert when no run of the cluster has completed for ``for_seconds``."""

    kind: Literal["no_completed_run"]
    for_seconds: int = Field(ge=MIN_SECONDS, le=MAX_QUIET_SECONDS)


MonitorRule = Annotated[FailureRateRule | MetricRule | NoCompletedRunRule, Field(discriminator="kind")]


class MonitorCreate(StorableBody):
    """``POST /v1/clusters/{id}/monitors``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    rule: MonitorRule
    paused: bool = False


class MonitorUpdate(StorableBody):
    """``PATCH …/monitors/{monitor_id}``: only the fields sent change. A new ``rule`` starts the
    monitor over in the ``ok`` state (its alerts so far stay in the history)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    rule: MonitorRule | None = None
    paused: bool | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> MonitorUpdate:
        for name in ("name", "rule", "paused"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it")
        return self


class Monitor(WireModel):
    """A monitor with its state: ``alerting`` from the evaluation that found the rule broken until
    one finds it holds again."""

    monitor_id: str
    cluster_id: str
    name: str
    rule: MonitorRule
    paused: bool
    state: MonitorState
    state_since: UTCDatetime
    evaluated_at: UTCDatetime | None = None
    last_values: dict[str, object] | None = Field(
        default=None, description="What the last evaluation saw (the observed value, the threshold, the runs read)."
    )
    created_at: UTCDatetime
    updated_at: UTCDatetime


class ListMonitorsResponse(WireModel):
    results: list[Monitor]
    total_count: int


class MonitorAlert(WireModel):
    """One transition of a monitor: ``triggered`` (into the bad state; this is what notifies) or
    ``recovered`` (back to ok, recorded only)."""

    alert_id: str
    monitor_id: str
    cluster_id: str
    event: AlertEvent
    at: UTCDatetime
    observed: dict[str, object]
    message: str
    run_id: str | None = None


class ListMonitorAlertsResponse(WireModel):
    results: list[MonitorAlert]
    pagination: PaginationResponse
    total_count: int
