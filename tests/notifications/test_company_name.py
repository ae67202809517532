"""Customers read the selling company's name (``AFTERWIN_COMPANY_NAME``), not "Afterwin":
in the demo's welcome email, its From name, survey and referral emails, public pages."""

from email.utils import parseaddr

import pytest

from apps.demo.data import PLAYBOOK_STEPS
from apps.engine.execution import step_run_execute
from apps.notifications.models import EmailMessage
from apps.notifications.services import email_deliver
from tests.factories import AccountFactory, closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

[DEMO_WELCOME] = [step for step in PLAYBOOK_STEPS if step["key"] == "welcome"]


@pytest.fixture(autouse=True)
def company(settings):
    settings.COMPANY_NAME = "Harbor Metrics"
    settings.DEFAULT_FROM_EMAIL = "Afterwin <noreply@harbor.example>"


def test_the_demo_welcome_email_names_the_selling_company_and_comes_from_it(
    rep, csm, win_and_enroll, mailoutbox
):
    welcome = {k: DEMO_WELCOME[k] for k in ("key", "name", "kind", "config")}
    onboarding_playbook(extra_steps=[welcome])
    deal = closable_deal(account=AccountFactory(name="Globex", csm=csm), owner=rep)
    enrollment = win_and_enroll(deal, rep)
    run = enrollment.step_runs.get(step_key="welcome")

    assert step_run_execute(step_run_id=run.pk) == "done"

    email = EmailMessage.objects.get()
    assert email.subject == "Welcome to Harbor Metrics, Globex"
    assert "\n\nThe Harbor Metrics team\n" in email.body_text
    assert "Afterwin" not in email.subject + email.body_text
    assert email_deliver(email_id=email.pk) == "sent"
    assert parseaddr(mailoutbox[0].from_email) == ("Harbor Metrics", "noreply@harbor.example")


def test_staff_email_still_comes_from_afterwin(csm, mailoutbox):
    email = EmailMessage.objects.create(
        to_email=csm.email,
        to_name="Carla",
        subject="Your tasks",
        body_text="…",
        idempotency_key="staff-1",
    )

    assert email_deliver(email_id=email.pk) == "sent"
    assert parseaddr(mailoutbox[0].from_email) == ("Afterwin", "noreply@harbor.example")


def test_public_pages_carry_the_company_name(client):
    response = client.get("/u/not-a-token/")

    html = response.content.decode()
    assert '<p class="public-brand">Harbor Metrics</p>' in html
    assert "· Harbor Metrics</title>" in html
    assert "Afterwin" not in html
