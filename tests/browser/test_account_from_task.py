"""A CSM opens an account from a task and reads its health: the band, each factor's value
and why, on a desktop and at 390 px without horizontal scrolling; the top bar's search
finds the account too."""

import re

import pytest

from apps.customers.models import Account
from apps.health.models import AccountHealth
from tests.browser.test_cs_flow import KICKOFF, expect, log_in

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT = "Maple Leaf Outfitters"


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width} px wide in a {viewport} px window"


def test_csm_opens_the_account_from_a_task_and_reads_its_health(browser_page, demo, screenshot):
    page = browser_page
    account = Account.objects.get(name=ACCOUNT)
    health = AccountHealth.objects.get(account=account)
    band = health.get_band_display()
    log_in(page, "carla.csm")

    page.get_by_role("link", name=KICKOFF).click()
    page.get_by_role("link", name=ACCOUNT).first.click()

    expect()(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect()(page.get_by_role("heading", level=1)).to_have_text(ACCOUNT)
    section = page.locator("section.health")
    expect()(section.get_by_role("heading", level=3)).to_contain_text(band)
    first_factor = health.factors[0]
    expect()(
        section.get_by_role("row", name=re.compile(re.escape(first_factor["label"])))
    ).to_contain_text(first_factor["why"])
    expect()(page.get_by_text("Their local time now")).to_be_visible()
    screenshot(page, "account-from-task")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect()(page.get_by_role("heading", level=1)).to_have_text(ACCOUNT)
    expect()(page.locator("section.health")).to_be_visible()
    no_horizontal_overflow(page)
    screenshot(page, "account-from-task-390")


def test_the_top_bar_search_opens_the_account(browser_page, demo):
    page = browser_page
    log_in(page, "carla.csm")

    page.get_by_role("searchbox", name="Search").fill("maple leaf")
    result = page.locator("#topbar-search-results").get_by_role("link", name=ACCOUNT, exact=True)
    expect()(result).to_be_visible()
    result.click()

    expect()(page.get_by_role("heading", level=1)).to_have_text(ACCOUNT)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/accounts/")
    no_horizontal_overflow(page)
    page.goto("/search/?q=maple")
    no_horizontal_overflow(page)
