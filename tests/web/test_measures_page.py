"""The dashboard's run page shows every declared measure (read from GET /v1/meta/measures): a card
per metric and a fact per run-level measure, each with its label and value; and the compare page has a
row per measure, marking the best run only for measures with a direction."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from clusterbook.models.measures import MEASURES
from tests.factories import BASE_TIME, make_cluster, make_execution

DASH = "—"


def _runs(site):  # noqa: ANN001, ANN202 - test helper
    cluster = make_cluster(site.factory, cluster_name="measured")
    made = []
    for n, scale in enumerate((1, 2)):
        created = BASE_TIME + timedelta(hours=n)
        made.append(
            make_execution(
                site.factory,
                cluster,
                status="completed",
                created_at=created,
                started_at=created + timedelta(seconds=30 * scale),  # queue time 30 s / 60 s
                completed_at=created + timedelta(seconds=30 * scale + 2 * scale),  # execution time 2 s / 4 s
                num_clusters=3,
                num_points=200,
                metrics={
                    m.name: (7 * scale if m.kind == "integer" else 0.25 * scale + 0.011)
                    for m in MEASURES
                    if m.in_metrics
                },
            )
        )
    return cluster, made


def test_the_run_page_shows_every_declared_measure(fresh_tab):
    fresh_tab.watch.allow(r"404 \(Not Found\)")  # the run has no stored projection, which answers 404
    cluster, (run, _) = _runs(fresh_tab.site)
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/runs/{run.run_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(run.run_id)
    for measure in MEASURES:
        shown = page.locator(f"[data-measure='{measure.name}']")
        expect(shown).to_have_count(1)
        value = run.metrics.value(measure.name) if measure.in_metrics else getattr(run, measure.name)
        assert value is not None, measure.name
        if measure.in_metrics:
            expect(shown.locator(".card-label")).to_have_text(measure.label)
            text = str(int(value)) if measure.kind == "integer" else f"{value:.{measure.digits}f}"
            expect(shown.locator(".card-value")).to_contain_text(text)
            expect(shown.locator(".metric-help")).to_contain_text(measure.meaning)
        else:
            expect(page.locator(".facts, .run-head").get_by_text(measure.label, exact=True).first).to_be_visible()
            expect(shown).not_to_have_text(DASH)
    expect(page.locator("[data-measure='duration_ms']")).to_have_text("2 s")
    expect(page.locator("[data-measure='queue_ms']")).to_have_text("30 s")
    fresh_tab.shot("run-measures")


def test_compare_has_a_row_per_measure_and_marks_best_only_with_a_direction(fresh_tab):
    cluster, (a, b) = _runs(fresh_tab.site)
    page = fresh_tab.open(f"/clusters/{cluster.cluster_id}/compare?runs={a.run_id},{b.run_id}")
    for measure in MEASURES:
        row = page.locator(f"tr[data-measure='{measure.name}']")
        expect(row.locator("th")).to_have_text(measure.label)
        expect(row.locator(".best-mark")).to_have_count(1 if measure.direction else 0)
    # higher is better: the second run (twice the silhouette); lower is better: the first
    expect(page.locator("tr[data-measure='silhouette_score'] td").nth(1)).to_contain_text("best")
    expect(page.locator("tr[data-measure='davies_bouldin_index'] td").nth(0)).to_contain_text("best")
