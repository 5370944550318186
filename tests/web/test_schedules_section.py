"""The schedules section of a cluster's page in a real browser: add a schedule with the form (a bad
cron expression is explained and nothing is saved), see its next fire time, pause and resume it, see
a firing's run linked once the scheduler fired it, and delete it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect

from clusterbook.runner.scheduler import fire_due
from clusterbook.store.db import make_sessionmaker, transaction


def _schedules(url: str, cluster_id: str) -> list[dict]:
    return httpx.get(f"{url}/v1/clusters/{cluster_id}/schedules").json()["results"]


def test_schedules_are_added_paused_resumed_fired_and_deleted_on_the_cluster_page(fresh_tab):
    site = fresh_tab.site
    fresh_tab.watch.allow(r"status of 422")  # the refused cron expression below, answered as it should be
    cluster = site.clusters["detail"]
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}")
    section = page.get_by_role("region", name="Schedules")
    expect(section).to_contain_text("No schedules yet")

    section.get_by_text("New schedule").click()
    form = section.get_by_role("form", name="New schedule")
    form.get_by_label("Cron (min hour day month weekday)").fill("0 25 * * *")
    form.get_by_label("Time zone").fill("Europe/Berlin")
    form.get_by_role("button", name="Add schedule").click()
    expect(form.get_by_role("alert")).to_contain_text("not a valid cron expression")
    fresh_tab.shot("schedules-form-refused")
    assert _schedules(site.url, cluster.cluster_id) == []  # nothing saved

    form.get_by_label("Cron (min hour day month weekday)").fill("0 3 * * *")
    form.get_by_label("Name (optional)").fill("nightly")
    form.get_by_role("button", name="Add schedule").click()
    expect(page.locator(".toast").last).to_contain_text("Schedule added: next run")
    row = section.locator("tr", has_text="nightly")
    expect(row).to_contain_text("cron “0 3 * * *” (Europe/Berlin)")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("never fired")

    form.get_by_label("Run on").select_option("interval")
    form.get_by_label("Every (seconds, ≥ 60)").fill("3600")
    form.get_by_label("Name (optional)").fill("hourly")
    form.get_by_role("button", name="Add schedule").click()
    hourly = section.locator("tr", has_text="hourly")
    expect(hourly).to_contain_text("every 1 hour")
    expect(section).to_contain_text("2 schedules")

    hourly.get_by_role("button", name="Pause").click()
    expect(hourly).to_contain_text("Paused")
    expect(hourly.get_by_role("button", name="Resume")).to_be_visible()
    hourly.get_by_role("button", name="Resume").click()
    expect(hourly).to_contain_text("Active")

    # the scheduler's tick an hour later starts the run; the section shows it linked
    writes = make_sessionmaker(site.factory.kw["bind"], writes=True)
    with transaction(writes) as session:
        fired = fire_due(session, now=datetime.now(UTC) + timedelta(hours=1, minutes=1), size_limit_factor=1.0)
    hourly_id = next(s["schedule_id"] for s in _schedules(site.url, cluster.cluster_id) if s["name"] == "hourly")
    run_id = next(f.run_id for f in fired if f.schedule_id == hourly_id)
    page.reload()
    hourly = page.get_by_role("region", name="Schedules").locator("tr", has_text="hourly")
    expect(hourly.get_by_role("link", name=run_id)).to_be_visible()
    fresh_tab.shot("schedules-section")

    page.once("dialog", lambda dialog: dialog.accept())
    hourly.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("region", name="Schedules").locator("tr", has_text="hourly")).to_have_count(0)
    [nightly] = _schedules(site.url, cluster.cluster_id)
    assert nightly["name"] == "nightly"

    # the run it started says what started it
    page.goto(f"{site.url}/clusters/{cluster.cluster_id}/runs/{run_id}")
    expect(page.locator(".run-trigger")).to_have_text(f"schedule:{hourly_id}")
