"""The alerts page of a cluster in a real browser: its monitors with their state, the alert history of
the one picked with the values that triggered it, and a monitor that starts alerting behind the page's
back shows up without a reload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from clusterbook.models.monitors import MonitorCreate
from clusterbook.store.db import make_sessionmaker
from clusterbook.store.monitors import create_monitor, evaluate_cluster_monitors
from tests.factories import make_cluster, make_runs


def _monitor(site, cluster, name, rule):
    with make_sessionmaker(site.factory.kw["bind"], writes=True)() as session, session.begin():
        data = MonitorCreate.model_validate({"name": name, "rule": rule})
        return create_monitor(session, namespace_id=cluster.namespace_id, cluster_id=cluster.cluster_id, data=data)


def _evaluate(site, cluster, now):
    with make_sessionmaker(site.factory.kw["bind"], writes=True)() as session, session.begin():
        return evaluate_cluster_monitors(session, cluster_id=cluster.cluster_id, now=now).fired


def test_monitors_with_state_and_the_alert_history(fresh_tab):
    site = fresh_tab.site
    cluster = make_cluster(site.factory, cluster_name="nightly-topics")
    failures = _monitor(site, cluster, "Failure rate", {"kind": "failure_rate", "last_runs": 2, "above": 0.5})
    quality = _monitor(
        site, cluster, "Silhouette floor", {"kind": "metric", "measure": "silhouette_score", "below": 0.3}
    )
    t0 = datetime.now(UTC) - timedelta(hours=3)
    runs = []
    for i, (status, sil) in enumerate(
        [("failed", None), ("failed", None), ("completed", 0.6), ("completed", 0.6), ("failed", None), ("failed", None)]
    ):
        at = t0 + timedelta(minutes=10 * i)
        spec = {"status": status, "created_at": at, "started_at": at, "completed_at": at + timedelta(seconds=20)}
        if sil is not None:
            spec["metrics"] = {"silhouette_score": sil}
        runs += make_runs(site.factory, cluster, [spec])
        _evaluate(site, cluster, at + timedelta(minutes=1))

    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/alerts")
    expect(page.locator("h1")).to_have_text("nightly-topics")
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Alerts")
    rows = page.locator(".monitors-table tbody tr")
    expect(rows).to_have_count(2)
    failing = page.locator(f"tr[data-monitor='{failures.monitor_id}']")
    expect(failing.locator("[data-state]")).to_have_text("Alerting")
    expect(failing).to_contain_text("Failure rate over the last 2 finished runs above 0.5")
    expect(failing).to_contain_text("failure rate 1.00")
    fine = page.locator(f"tr[data-monitor='{quality.monitor_id}']")
    expect(fine.locator("[data-state]")).to_have_text("OK")
    # the alerting monitor is picked first: triggered, recovered, triggered again, newest on top
    expect(page.locator("#alert-history-title")).to_have_text("Alert history · Failure rate")
    events = page.locator(".alerts-table tbody tr")
    expect(events).to_have_count(3)
    assert [e.get_attribute("data-event") for e in events.all()] == ["triggered", "recovered", "triggered"]
    expect(events.first).to_contain_text("failed_runs 2")
    expect(events.first.locator("a")).to_have_attribute("href", f"/clusters/{cluster.cluster_id}/runs/{runs[-1]}")
    fresh_tab.shot("alerts-page")

    # quality drops behind the page's back: the page polls and shows it alerting, no reload
    page.evaluate("window.__notReloaded = true")
    at = datetime.now(UTC) - timedelta(minutes=5)
    make_runs(
        site.factory,
        cluster,
        [{"status": "completed", "created_at": at, "completed_at": at, "metrics": {"silhouette_score": 0.1}}],
    )
    assert len(_evaluate(site, cluster, datetime.now(UTC))) == 1
    expect(fine.locator("[data-state]")).to_have_text("Alerting", timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True

    fine.locator("a").click()
    expect(page.locator("#alert-history-title")).to_have_text("Alert history · Silhouette floor")
    expect(page.locator(".alerts-table tbody tr")).to_have_count(1)
    expect(page.locator(".alerts-table tbody tr")).to_contain_text("silhouette_score 0.1 of run")
    expect(page.locator(".monitors-table tr.is-selected")).to_have_attribute("data-monitor", quality.monitor_id)
    fresh_tab.shot("alerts-page-quality")


def test_a_cluster_without_monitors_says_how_to_add_one(fresh_tab):
    cluster = fresh_tab.site.clusters["empty"]
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/alerts")
    expect(page.locator(".state-title").first).to_have_text("No monitors yet")
    expect(page.locator(".state-empty").first).to_contain_text("clusterbook monitors create")
