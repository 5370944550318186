"""The execution history page in a real browser: summary, chart, pagination, sorting, filters,
search, URL state and keyboard use, against the known history of ``conftest.HISTORY``."""

from __future__ import annotations

import re
from collections import Counter

from playwright.sync_api import Page, expect

from tests.web.conftest import HISTORY, PHONE, Tab, check_watch, new_context, screenshot, watch_page

TOTAL = len(HISTORY)  # 127
BY_STATUS = Counter(spec["status"] for spec in HISTORY)


def history(tab: Tab, query: str = "", *, rows: bool = True) -> Page:
    page = tab.open(f"/clusters/{tab.site.clusters['history'].cluster_id}{query}")
    if rows:
        expect(page.locator(".history-table tbody tr:not(.skeleton-row)").first).to_be_visible()
    return page


def rows(page: Page):
    return page.locator(".history-table tbody tr")


def run_names(page: Page) -> list[str]:
    return rows(page).locator(".row-title").all_inner_texts()


def test_first_page_summary_chart_and_pagination(tab):
    page = history(tab)
    expect(page.get_by_role("heading", level=1)).to_have_text("support-tickets")
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {TOTAL}")
    expect(page.locator(".pager-page")).to_have_text("Page 1 of 13")
    expect(page.get_by_role("button", name="Previous page")).to_be_disabled()
    expect(page.get_by_role("button", name="Next page")).to_be_enabled()
    # newest first: the pending run, then the processing one
    assert run_names(page)[:3] == ["nightly-126", "nightly-125", "nightly-124"]
    expect(rows(page)).to_have_count(10)
    # summary cards from stats over every run (stats_scope "all"), not the page
    expect(page.locator(".stat-completed .card-value")).to_have_text(str(BY_STATUS["completed"]))
    expect(page.locator(".stat-failed .card-value")).to_have_text(str(BY_STATUS["failed"]))
    expect(page.locator(".stat-inflight .card-value")).to_have_text("2")
    expect(page.locator(".pie-total")).to_have_text(str(TOTAL))
    expect(page.locator(".pie-card canvas")).to_have_attribute(
        "aria-label", re.compile(f"Completed {BY_STATUS['completed']}")
    )
    expect(page.locator(".legend li")).to_have_count(len(BY_STATUS))
    tab.shot("history-laptop")


def test_next_and_previous_pages_and_the_last_page(tab):
    page = history(tab)
    page.get_by_role("button", name="Next page").click()
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 11–20 of {TOTAL}")
    expect(page.locator(".pager-page")).to_have_text("Page 2 of 13")
    expect(page).to_have_url(re.compile(r"[?&]page=2\b"))
    assert run_names(page)[0] == "nightly-116"
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator(".pager-page")).to_have_text("Page 1 of 13")
    expect(page).not_to_have_url(re.compile("page="))
    page = history(tab, "?page=13")
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 121–{TOTAL} of {TOTAL}")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    expect(rows(page)).to_have_count(TOTAL - 120)
    # the browser's back button walks the pages too
    page.go_back()
    expect(page.locator(".pager-page")).to_have_text("Page 1 of 13")


def test_sorting_by_a_header_toggles_direction_and_sets_aria_sort(tab):
    page = history(tab)
    created = page.locator("th", has=page.get_by_role("button", name="Created"))
    expect(created).to_have_attribute("aria-sort", "descending")
    page.get_by_role("button", name="Execution time").click()
    duration = page.locator("th", has=page.get_by_role("button", name="Execution time"))
    expect(duration).to_have_attribute("aria-sort", "descending")
    expect(created).not_to_have_attribute("aria-sort", re.compile("."))
    expect(page).to_have_url(re.compile(r"sort=duration&dir=desc"))
    longest = max(s.get("duration_ms", 0) for s in HISTORY)
    expect(rows(page).first.locator("td").nth(4)).to_have_text(f"{longest / 1000:.0f} s")
    page.get_by_role("button", name="Execution time").click()
    expect(duration).to_have_attribute("aria-sort", "ascending")
    shortest = min(s["duration_ms"] for s in HISTORY if "duration_ms" in s)
    expect(rows(page).first.locator("td").nth(4)).to_have_text(f"{shortest / 1000:.0f} s")
    # silhouette, best first; runs without one go last in both directions
    page.get_by_role("button", name="Silhouette").click()
    best = max(s["metrics"]["silhouette_score"] for s in HISTORY if "metrics" in s)
    expect(rows(page).first.locator(".sil")).to_contain_text(f"{best:.2f}")


def test_sort_headers_work_from_the_keyboard(tab):
    page = history(tab)
    button = page.get_by_role("button", name="Points")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.locator("th", has=button)).to_have_attribute("aria-sort", "descending")
    expect(rows(page).first.locator(".row-title")).to_have_text("nightly-126")  # the most points
    expect(button).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("th", has=button)).to_have_attribute("aria-sort", "ascending")
    expect(rows(page).first.locator(".row-title")).to_have_text("nightly-000")
    tab.shot("history-sorted-by-points-keyboard")


def test_status_filter_narrows_rows_summary_and_url(tab):
    page = history(tab)
    page.get_by_role("button", name="Failed", exact=True).click()
    expect(page.get_by_role("button", name="Failed", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {BY_STATUS['failed']}")
    expect(page).to_have_url(re.compile(r"status=failed"))
    for badge in rows(page).locator(".badge").all_inner_texts():
        assert badge == "Failed"
    expect(page.locator(".stat-completed .card-value")).to_have_text("0")
    expect(rows(page).first.locator(".row-error")).to_contain_text("Out of memory")
    page.get_by_role("button", name="Canceled", exact=True).click()
    expect(page.locator(".pager-showing")).to_have_text(
        f"Showing 1–10 of {BY_STATUS['failed'] + BY_STATUS['canceled']}"
    )
    tab.shot("history-filtered-failed-canceled")


def test_date_range_and_silhouette_threshold(tab):
    page = history(tab)
    page.get_by_label("From").fill("2026-01-02")
    page.get_by_label("To").fill("2026-01-03")
    # runs every 3 hours: 8 a day over two days
    expect(page.locator(".pager-showing")).to_have_text("Showing 1–10 of 16")
    expect(page).to_have_url(re.compile(r"from=2026-01-02.*to=2026-01-03"))
    silhouette = page.get_by_label("Min. silhouette")
    silhouette.fill("0.5")
    silhouette.press("Enter")
    expected = sum(
        1
        for s in HISTORY
        if "metrics" in s
        and s["metrics"]["silhouette_score"] >= 0.5
        and "2026-01-02" <= s["created_at"].date().isoformat() <= "2026-01-03"
    )
    expect(page.locator(".pager-showing")).to_have_text(re.compile(f"of {expected}$"))
    for text in rows(page).locator(".sil").all_inner_texts():
        assert float(text.split()[0]) >= 0.5


def test_search_finds_the_one_run_about_zebras(tab):
    page = history(tab)
    page.get_by_label("Search").fill("zebra")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first.locator(".row-title")).to_have_text("nightly-042")
    expect(page.locator(".pager-showing")).to_have_text("Showing 1–1 of 1")
    expect(page).to_have_url(re.compile(r"q=zebra"))


def test_no_match_shows_an_empty_state_that_clears_the_filters(tab):
    page = history(tab, "?q=no-such-thing-anywhere", rows=False)
    expect(page.get_by_text("No runs match these filters")).to_be_visible()
    expect(page.locator(".pager")).to_be_hidden()
    tab.shot("history-empty-filters")
    page.get_by_role("button", name="Clear filters").last.click()
    expect(page.locator(".pager-showing")).to_have_text(f"Showing 1–10 of {TOTAL}")
    expect(page.get_by_label("Search")).to_have_value("")


def test_the_url_holds_the_whole_view_across_reload_and_sharing(tab, browser):
    query = "?status=completed&min_sil=0.3&sort=silhouette&dir=asc&page=2&size=20&q=ticket"
    page = history(tab, query)
    expected = sorted(
        (s for s in HISTORY if s["status"] == "completed" and s["metrics"]["silhouette_score"] >= 0.3),
        key=lambda s: s["metrics"]["silhouette_score"],
    )

    def check(p: Page) -> None:
        expect(p.locator(".pager-page")).to_have_text(f"Page 2 of {-(-len(expected) // 20)}")
        expect(p.locator(".pager-showing")).to_have_text(f"Showing 21–40 of {len(expected)}")
        expect(p.get_by_role("button", name="Completed", exact=True)).to_have_attribute("aria-pressed", "true")
        expect(p.get_by_label("Min. silhouette")).to_have_value("0.3")
        expect(p.get_by_label("Search")).to_have_value("ticket")
        expect(p.locator("th", has=p.get_by_role("button", name="Silhouette"))).to_have_attribute(
            "aria-sort", "ascending"
        )
        first = float(rows(p).first.locator(".sil").inner_text().split()[0])
        assert first == expected[20]["metrics"]["silhouette_score"]

    check(page)
    page.reload()
    check(page)
    # a link shared with someone else opens the same view
    other = new_context(browser)
    shared = other.new_page()
    watch = watch_page(shared, tab.site.url)
    shared.goto(page.url)
    check(shared)
    other.close()
    check_watch(watch)


def test_a_phone_gets_the_same_page_without_sideways_scrolling(tab, browser):
    context = new_context(browser, PHONE)
    page = context.new_page()
    watch = watch_page(page, tab.site.url)
    page.goto(f"{tab.site.url}/clusters/{tab.site.clusters['history'].cluster_id}")
    expect(page.locator(".history-table tbody tr:not(.skeleton-row)").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("button", name="Next page")).to_be_visible()
    screenshot(page, "history-phone")
    context.close()
    check_watch(watch)


def test_links_lead_to_runs_trends_and_back(tab):
    page = history(tab)
    rows(page).first.locator(".row-title").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("nightly-126")
    expect(page).to_have_url(re.compile(r"/runs/run_"))
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("support-tickets")
    page.get_by_role("button", name="Failed", exact=True).click()
    expect(page).to_have_url(re.compile("status=failed"))
    page.get_by_role("link", name="Trends").click()
    expect(page).to_have_url(re.compile(r"/trends\?status=failed"))
    expect(page.get_by_role("button", name="Failed", exact=True)).to_have_attribute("aria-pressed", "true")
