"""The walk of the measure declaration (``models/measures.py``): every declared measure is filterable,
sortable both ways with nulls last, returned in the listing and in GET one execution, described by
``GET /v1/meta/measures``, known to the SDK's ``F`` and shown by ``clusterbook executions show`` — over
real HTTP on SQLite and PostgreSQL. A measure added to the declaration but not wired through fails here.
(The dashboard's run page is walked by ``tests/web/test_measures_page.py``.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from clusterbook.api.background import BackgroundServer
from clusterbook.cli.render import measure_text
from clusterbook.client import Client
from clusterbook.client.filters import F
from clusterbook.models.measures import MEASURES, METRIC_MEASURES, Measure
from tests.api.helpers import ids, ok_list
from tests.cli.test_remote_cli import cli, ok
from tests.factories import BASE_TIME, make_cluster, make_execution

RUNS = ("run_MeasureA", "run_MeasureB", "run_MeasureC")


def low_high(i: int, measure: Measure) -> tuple[float, float]:
    """Two values for measure number ``i``, distinct from every other measure's, inside its range."""
    if measure.kind == "integer":
        return 1 + i, 40 + i
    if measure.maximum is not None:  # bounded scores such as the silhouette (-1..1)
        return 0.1 + i / 100, 0.6 + i / 100
    return 10.0 + i, 900.0 + i


def placement(i: int) -> dict[str, str]:
    """Which run holds the low value, the high value and no value of measure ``i`` (rotated per
    measure, so two measures never order the runs the same way by accident)."""
    return {role: RUNS[(i + k) % 3] for k, role in enumerate(("low", "high", "null"))}


def value_of(i: int, measure: Measure, run_id: str) -> float | None:
    low, high = low_high(i, measure)
    where = placement(i)
    return low if where["low"] == run_id else high if where["high"] == run_id else None


def at_path(run: dict[str, Any], measure: Measure) -> Any:
    return (run.get("metrics") or {}).get(measure.name) if measure.in_metrics else run.get(measure.name)


@pytest.fixture
def walked(session_factory: sessionmaker[Session], live_server: BackgroundServer) -> str:
    """A cluster with three completed runs carrying every declared measure (one of them null each)."""
    cluster = make_cluster(session_factory, cluster_name="walk")
    for n, run_id in enumerate(RUNS):
        metrics = {m.name: value_of(i, m, run_id) for i, m in enumerate(MEASURES) if m.in_metrics}
        run_level = {m.name: value_of(i, m, run_id) for i, m in enumerate(MEASURES) if not m.in_metrics}
        make_execution(
            session_factory,
            cluster,
            run_id=run_id,
            status="completed",
            created_at=BASE_TIME + timedelta(minutes=n),
            completed_at=BASE_TIME + timedelta(minutes=n, seconds=5),
            num_clusters=2,
            num_points=100,
            metrics=metrics,
            **run_level,
        )
    return cluster.cluster_id


@pytest.mark.parametrize("i", range(len(MEASURES)), ids=[m.name for m in MEASURES])
def test_every_declared_measure_is_filterable_sortable_and_returned(http: httpx.Client, walked: str, i: int) -> None:
    measure = MEASURES[i]
    low, high = low_high(i, measure)
    where = placement(i)
    names = (measure.field, *measure.aliases)
    for name in names:
        chosen = ok_list(http, walked, {"filters": {name: {"gte": (low + high) / 2}}})
        assert ids(chosen) == [where["high"]], name
    at_most = ok_list(http, walked, {"filters": {measure.field: {"lte": low}}})
    assert ids(at_most) == [where["low"]]
    missing = ok_list(http, walked, {"filters": {measure.field: {"is_null": True}}})
    assert ids(missing) == [where["null"]]
    for name in names:
        asc = ok_list(http, walked, {"sort": {"field": name, "direction": "asc"}})
        desc = ok_list(http, walked, {"sort": {"field": name, "direction": "desc"}})
        assert ids(asc) == [where["low"], where["high"], where["null"]], name
        assert ids(desc) == [where["high"], where["low"], where["null"]], name
    listing = ok_list(http, walked, {})
    for run in listing["results"]:
        assert at_path(run, measure) == pytest.approx(value_of(i, measure, run["run_id"]))
        one = http.get(f"/v1/clusters/{walked}/executions/{run['run_id']}")
        assert one.status_code == 200, one.text
        assert at_path(one.json(), measure) == at_path(run, measure)


def test_meta_lists_every_declared_measure(http: httpx.Client) -> None:
    response = http.get("/v1/meta/measures")
    assert response.status_code == 200, response.text
    by_name = {m["name"]: m for m in response.json()["results"]}
    assert list(by_name) == [m.name for m in MEASURES]
    for measure in MEASURES:
        served = by_name[measure.name]
        assert (served["path"], served["field"], served["kind"], served["direction"]) == (
            measure.path,
            measure.field,
            measure.kind,
            measure.direction,
        )
        assert served["label"] == measure.label and served["meaning"] == measure.meaning
        assert (served["minimum"], served["maximum"]) == (measure.minimum, measure.maximum)
    assert by_name["duration_ms"]["direction"] is None, "a duration is not better either way"
    assert by_name["silhouette_score"]["direction"] == "higher"
    assert by_name["davies_bouldin_index"]["direction"] == "lower"


@pytest.mark.parametrize("i", range(len(MEASURES)), ids=[m.name for m in MEASURES])
def test_the_sdk_knows_every_declared_measure(live_server: BackgroundServer, walked: str, i: int) -> None:
    measure = MEASURES[i]
    low, high = low_high(i, measure)
    where = placement(i)
    field = getattr(F, measure.name)
    assert field.name == measure.field
    if measure.in_metrics:
        assert F.metric(measure.name).name == F.metric(measure.path).name == measure.field
    assert measure.name in dir(F)
    with Client(live_server.url, retries=0) as client:
        page = client.executions.list(walked, filters=field >= (low + high) / 2, sort=field.desc())
        assert [r.run_id for r in page.results] == [where["high"]]
        ordered = client.executions.list(walked, sort=field.asc())
        assert [r.run_id for r in ordered.results] == [where["low"], where["high"], where["null"]]


def test_f_metric_refuses_an_undeclared_metric_naming_the_declared_ones() -> None:
    with pytest.raises(ValueError) as raised:
        F.metric("silhouete_score")
    assert "silhouete_score" in str(raised.value)
    assert all(m.name in str(raised.value) for m in METRIC_MEASURES)
    with pytest.raises(AttributeError):
        _ = F.silhouete_score


@pytest.mark.parametrize("run_id", RUNS)
def test_cli_show_prints_every_declared_measure(live_server: BackgroundServer, walked: str, run_id: str) -> None:
    shown = ok(cli(live_server, "executions", "show", run_id, "--cluster", "walk"))
    for i, measure in enumerate(MEASURES):
        value = value_of(i, measure, run_id)
        if value is None:
            assert measure.label.lower() not in shown, (measure.name, shown)
        else:
            assert f"{measure.label.lower()}  " in shown and measure_text(measure, value, extra_digits=2) in shown
