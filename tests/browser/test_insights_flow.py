"""The dashboards in a real browser: the CS manager lands on the team dashboard and
follows a figure to the list behind it; a sales leader filters the win-reasons table by
segment and downloads it as CSV."""

import csv
import io
import re
from pathlib import Path

import pytest

from apps.deals.models import Deal, Stage
from apps.queues.models import Task
from tests.browser.test_cs_flow import expect, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_manager_lands_on_the_team_dashboard_and_opens_a_queues_open_work(
    browser_page, demo, screenshot
):
    page = browser_page
    log_in(page, "maria.manager")
    expect()(page).to_have_url(re.compile(r"/team/$"))
    expect()(page.get_by_role("heading", level=1)).to_have_text("Team")
    screenshot(page, "40-team-dashboard")

    queues = page.locator("section", has=page.get_by_role("heading", name="Work per queue"))
    row = queues.get_by_role("row", name=re.compile("^Onboarding"))
    open_link = row.get_by_role("link").first
    shown = int(open_link.inner_text())
    assert (
        shown
        == Task.objects.filter(queue__slug="onboarding", status__in=Task.OPEN_STATUSES).count()
    )
    assert shown > 0
    open_link.click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Queues")
    expect()(page).to_have_url(re.compile(r"queue=onboarding"))
    expect()(page.locator("[data-task-row]")).to_have_count(shown)
    screenshot(page, "41-team-figure-to-list")

    page.set_viewport_size({"width": 390, "height": 844})
    page.go_back()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Team")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "42-team-dashboard-phone")


def test_a_leader_filters_the_win_reasons_by_segment_and_downloads_them(
    browser_page, demo, screenshot
):
    segment = (
        Deal.objects.filter(stage=Stage.CLOSED_WON, win_reason__isnull=False)
        .exclude(account__segment="")
        .values_list("account__segment", flat=True)
        .first()
    )
    expected = Deal.objects.filter(
        stage=Stage.CLOSED_WON, account__segment=segment, closed_at__isnull=False
    ).count()
    page = browser_page
    log_in(page, "sam.salesmanager")
    page.get_by_role("link", name="Insights", exact=True).click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Closed-won insights")
    page.locator("#id_segment").select_option(segment)
    page.get_by_role("button", name="Apply filters").click()
    expect()(page).to_have_url(re.compile(r"segment="))
    table = page.locator('table[data-table="win-reasons"]')
    rows = table.locator("tbody tr")
    expect()(rows.first).to_contain_text(segment)
    counts = [int(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count())]
    assert all(segment in rows.nth(i).inner_text() for i in range(rows.count()))
    assert sum(counts) == expected
    screenshot(page, "43-win-reasons-by-segment")

    section = page.locator("section", has=table)
    with page.expect_download() as download_info:
        section.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "win-reasons.csv"
    lines = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert lines[0] == ["Segment", "Win reason", "Deals", "Share %"]
    assert {line[0] for line in lines[1:]} == {segment}
    assert sum(int(line[2]) for line in lines[1:]) == expected

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "44-insights-phone")
