"""A rep closes a deal from its page in a real browser: the first try names what is
missing with links to fix it, the close succeeds, and the page shows the onboarding
playbook starting as the worker enrolls the deal; a deal handed to another rep meanwhile
refuses her with the reason. The pages fit a 390 px phone and run
under the Content Security Policy without a complaint."""

import pytest
from django.contrib.auth.models import User

from apps.deals.models import Deal
from tests.browser.conftest import run_engine_until_idle
from tests.browser.test_content_security_policy import violations  # noqa: F401  (a fixture)
from tests.browser.test_cs_flow import expect, log_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = 390
OPEN = ("new", "qualified", "proposal", "negotiation")


def fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_a_rep_closes_a_deal_and_sees_the_enrollments_start(
    browser_page,
    demo,
    screenshot,
    violations,  # noqa: F811
):
    page = browser_page
    deal = (
        Deal.objects.filter(owner__username="rita.rep", stage="negotiation")
        .order_by("name")
        .first()
    )
    assert deal is not None, "the demo gives Rita a deal in negotiation"
    log_in(page, "rita.rep")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("My deals")
    screenshot(page, "40-my-deals")

    # A deal handed to another rep while her page is open refuses her, saying whose it is.
    handed_on = (
        Deal.objects.filter(owner__username="rita.rep", stage__in=OPEN).exclude(pk=deal.pk).first()
    )
    page.goto(f"/deals/{handed_on.pk}/")
    Deal.objects.filter(pk=handed_on.pk).update(owner=User.objects.get(username="raj.rep"))
    page.locator("#stage-moves").get_by_role("button").first.click()
    expect()(page.locator("#flash-error")).to_contain_text(f"“{handed_on.name}” is owned by Raj")
    screenshot(page, "40b-deal-handed-on")

    page.goto("/deals/")
    page.get_by_role("link", name=deal.name).click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(deal.name)

    # Without a win reason or notes, each blocker is listed with a link to its field.
    close = page.locator("#close-won-form")
    close.get_by_role("button", name="Close as won").click()
    expect()(close.get_by_text("This deal cannot be closed as won yet:")).to_be_visible()
    expect()(close.get_by_role("link", name="Win reason")).to_have_attribute(
        "href", "#won_win_reason"
    )
    expect()(page.get_by_label("Win reason")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "41-deal-blockers")

    page.get_by_label("Win reason").select_option(index=1)
    page.get_by_label("Why they bought").fill("Playbooks matched their clinics' process.")
    close.get_by_role("button", name="Close as won").click()
    expect()(page.get_by_text("Closed as won.")).to_be_visible()
    expect()(page.locator(".stage")).to_have_text("Closed won")
    expect()(page.get_by_text("Starting… the playbooks this close matches")).to_be_visible()
    screenshot(page, "42-deal-won-starting")

    run_engine_until_idle()  # the worker's part; the panel notices on its next reload
    panel = page.locator("#panel-deal_enrollments")
    expect()(panel.get_by_text("New customer onboarding v1")).to_be_visible()
    expect()(panel.get_by_text("Kickoff call", exact=True)).to_be_visible()
    expect()(panel.locator("[hx-trigger]")).to_have_count(0)
    expect()(panel).not_to_have_attribute("hx-trigger", "every 2s")
    screenshot(page, "43-deal-enrollments")

    page.set_viewport_size({"width": PHONE, "height": 844})
    assert fits(page, PHONE)
    screenshot(page, "44-deal-phone")
    page.goto("/deals/")
    assert fits(page, PHONE)
    screenshot(page, "45-my-deals-phone")
    # An open deal, with its edit forms. (Loaded afresh: resizing a page whose forms htmx
    # later swaps leaves empty style attributes that htmx copies, which the policy reports.)
    still_open = Deal.objects.filter(owner__username="rita.rep", stage__in=OPEN).first()
    page.goto(f"/deals/{still_open.pk}/")
    expect()(page.locator("#deal-edit-form")).to_be_visible()
    assert fits(page, PHONE)
    screenshot(page, "46-open-deal-phone")
    assert violations == [], "\n".join(violations)  # the Content Security Policy held
