"""The referral flow in a real browser: a promoter's 10 leads to a referral email; the
customer opens their personal link on a phone (390 px), recommends a company and sees the
thank-you page; the rep finds the new referral deal, and once it is won the CS manager
sees the conversion and the reward owed on the Referrals page."""

import re

import pytest

from apps.core import outbox
from apps.deals.models import Deal, DealLineItem, WinReason
from apps.deals.services import deal_close_won, deal_move
from apps.growth.models import Referral, ReferralRequest, Reward
from apps.growth.referrals import referral_url
from apps.notifications.models import EmailMessage
from apps.surveys.services import response_record
from tests.browser.test_cs_flow import expect, log_in
from tests.browser.test_survey_flow import close_and_survey
from tests.growth.test_referrals import linked_request_id

pytestmark = pytest.mark.django_db(transaction=True)

DEAL = "Bluebird Health — Platform Business"


def test_a_promoter_refers_a_company_from_a_phone_and_it_becomes_a_won_deal(
    chromium, live_server, demo, screenshot, settings
):
    settings.SITE_URL = live_server.url
    invitation = close_and_survey(DEAL)
    response_record(invitation=invitation, score=10, comment="")
    outbox.drain()
    deal = Deal.objects.get(name=DEAL)
    ask = ReferralRequest.objects.get(step_run__enrollment_id=invitation.enrollment_id)
    email = EmailMessage.objects.get(idempotency_key=f"referral-ask:{ask.pk}")
    assert linked_request_id(email.body_text) == ask.pk

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = phone.new_page()
    page.goto(referral_url(ask))
    expect()(
        page.get_by_text(f"Recommended by {ask.contact.name} at Bluebird Health")
    ).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Send my recommendation").click()  # empty: refused
    expect()(page.get_by_text("Tell us the company's name.")).to_be_visible()
    expect()(page.get_by_text("Please confirm they agreed to hear from us.")).to_be_visible()
    screenshot(page, "30-referral-errors-phone")
    page.get_by_label("Company").fill("Lighthouse Clinics")
    page.get_by_label("Their name").fill("Nora Quinn")
    page.get_by_label("Their work email").fill("nora.quinn@lighthouse-clinics.example")
    page.get_by_label(re.compile("^Their role")).fill("COO")
    page.get_by_label(re.compile("They agreed")).check()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "31-referral-form-phone")
    page.get_by_role("button", name="Send my recommendation").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(f"Thank you, {ask.contact.name}!")
    screenshot(page, "32-referral-thanks-phone")
    phone.close()

    referral = Referral.objects.get(request=ask)
    referred = referral.deal
    assert (referred.source, referred.stage, referred.owner) == (
        "referral",
        "new",
        deal.account.owner,
    )
    desk = {"width": 1280, "height": 900}
    rep = chromium.new_context(base_url=live_server.url, viewport=desk)
    page = rep.new_page()
    log_in(page, deal.account.owner.username)
    page.goto(f"/admin/deals/deal/{referred.pk}/change/")
    expect()(page.get_by_text(f"{ask.contact.name} at Bluebird Health")).to_be_visible()
    screenshot(page, "33-referred-deal-admin")
    rep.close()

    for name in ("qualify", "propose", "negotiate"):
        deal_move(deal=referred, name=name, actor=None, source="system")
    DealLineItem.objects.create(
        deal=referred, product=deal.line_items.first().product, quantity=1, unit_price=9000
    )
    Deal.objects.filter(pk=referred.pk).update(amount=9000, close_date=deal.close_date)
    referred.refresh_from_db()
    deal_close_won(
        deal=referred,
        actor=None,
        source="system",
        win_reason=WinReason.objects.first(),
        win_notes="Referred by a happy customer.",
    )
    outbox.drain()
    reward = Reward.objects.get(referral=referral)
    assert reward.status == "owed"

    manager = chromium.new_context(base_url=live_server.url, viewport=desk)
    page = manager.new_page()
    log_in(page, "maria.manager")
    page.get_by_role("link", name="Referrals").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Referrals")
    expect()(page.get_by_role("img", name=re.compile("^Referral funnel"))).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Lighthouse Clinics"))
    expect()(row).to_contain_text(f"{reward.amount} USD · Owed")
    screenshot(page, "34-referrals-page")
    manager.close()
