"""The survey flow in a real browser: a customer opens the invitation link on a phone
(390 px), confirms a score of 3 with a comment and sees the thank-you page; the CS
manager then finds the P1 call-back task with the comment, and the response."""

import re

import pytest
from django.contrib.auth.models import User

from apps.core import outbox
from apps.deals.models import Deal, WinReason
from apps.deals.services import deal_close_won
from apps.engine.models import Enrollment
from apps.engine.services import step_run_run_now
from apps.surveys.models import Invitation, Response
from apps.surveys.services import answer_url
from tests.browser.test_cs_flow import expect, log_in

pytestmark = pytest.mark.django_db(transaction=True)

DEAL = "Bluebird Health — Platform Business"


def close_and_survey(deal_name: str) -> Invitation:
    """Close the demo deal won and run its onboarding's NPS survey step now, as the
    worker and an admin would; the invitation it sent."""
    deal = Deal.objects.get(name=deal_name)
    deal_close_won(
        deal=deal,
        actor=None,
        source="system",
        win_reason=WinReason.objects.first(),
        win_notes="Chose us for the onboarding service.",
    )
    outbox.drain()
    enrollment = Enrollment.objects.get(deal=deal, playbook__name="New customer onboarding")
    survey_step = enrollment.step_runs.get(step_key="nps_survey")
    step_run_run_now(step_run=survey_step, actor=User.objects.get(username="admin"))
    outbox.drain()
    return Invitation.objects.get(step_run=survey_step)


def test_customer_answers_on_a_phone_and_the_cs_manager_sees_the_call_back(
    chromium, live_server, demo, screenshot, settings
):
    settings.SITE_URL = live_server.url
    invitation = close_and_survey(DEAL)
    assert invitation.status == Invitation.Status.SENT

    phone = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = phone.new_page()
    page.goto(answer_url(invitation, 3))
    expect()(page.get_by_role("heading", level=1)).to_contain_text("How likely are you")
    expect()(page.get_by_label("3", exact=True)).to_be_checked()
    assert not Response.objects.filter(invitation=invitation).exists()  # a GET stores nothing
    # Nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "20-survey-answer-phone")
    page.get_by_label(re.compile("main reason for your score")).fill(
        "Onboarding calls keep getting moved."
    )
    page.get_by_role("button", name="Send my answer").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text(
        "Thank you. Someone from our team will be in touch shortly."
    )
    screenshot(page, "21-survey-thanks-phone")
    phone.close()

    outbox.drain()
    desk = {"width": 1280, "height": 900}
    manager = chromium.new_context(base_url=live_server.url, viewport=desk)
    page = manager.new_page()
    log_in(page, "maria.manager")
    page.get_by_role("link", name=re.compile(r"^My work")).click()  # she lands on Team
    call_back = page.get_by_role("link", name=re.compile("^Call back .* at Bluebird Health: NPS 3"))
    expect()(call_back).to_be_visible()
    call_back.click()
    expect()(page.get_by_text("Onboarding calls keep getting moved.").first).to_be_visible()
    expect()(page.get_by_text("NPS (0–10) 3 · detractor")).to_be_visible()
    screenshot(page, "22-call-back-task")

    page.get_by_role("link", name="Responses").click()
    expect()(page.get_by_role("heading", level=1)).to_have_text("Survey responses")
    expect()(page.get_by_role("img", name="NPS by month")).to_be_visible()
    screenshot(page, "23-responses")
    manager.close()
