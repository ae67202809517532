"""The ``email`` playbook step: a templated email to the customer's primary contact."""

from email.utils import parseaddr

import pytest

from apps.customers.models import Contact
from apps.deals.models import Deal
from apps.engine.execution import step_run_execute
from apps.engine.models import StepRun
from apps.engine.services import enrollment_cancel
from apps.notifications.models import EmailMessage
from apps.notifications.services import email_deliver
from apps.playbooks.services import playbook_steps_problems
from tests.factories import AccountFactory, ContactFactory, closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

WELCOME = {
    "key": "welcome",
    "name": "Welcome email",
    "kind": "email",
    "config": {
        "subject": "Welcome aboard, {{ account.name }}",
        "body": "Hi {{ contact.name }},\n\nYour CSM {{ csm.name }} will call you this week.",
    },
}


def run_welcome(enrollment) -> StepRun:
    run = enrollment.step_runs.get(step_key="welcome")
    assert run.state == StepRun.State.PENDING  # due at enrollment: a worker is woken
    assert step_run_execute(step_run_id=run.pk) == "done"
    run.refresh_from_db()
    return run


def test_closed_won_deal_sends_the_primary_contact_one_welcome_email(
    rep, csm, win_and_enroll, mailoutbox
):
    onboarding_playbook(extra_steps=[WELCOME])
    csm.first_name, csm.last_name = "Carla", "Diaz"
    csm.save()
    account = AccountFactory(name="Globex", csm=csm)
    deal = closable_deal(account=account, owner=rep)
    contact = Contact.objects.get(account=account, is_primary=True)

    run = run_welcome(win_and_enroll(deal, rep))

    email = EmailMessage.objects.get()
    assert run.result == {
        "email_id": email.pk,
        "summary": f"Email “{email.subject}” to {email.to_email}",
    }
    assert (email.to_email, email.to_name) == (contact.email, contact.name)
    assert email.subject == "Welcome aboard, Globex"
    assert email.body_text.startswith(f"Hi {contact.name},")
    assert "Your CSM Carla Diaz will call you this week." in email.body_text
    assert email.step_run == run and email.idempotency_key == f"step:{run.pk}"

    assert step_run_execute(step_run_id=run.pk).startswith("skipped")  # a duplicate message
    assert email_deliver(email_id=email.pk) == "sent"
    assert len(mailoutbox) == 1
    assert parseaddr(mailoutbox[0].to[0]) == (contact.name, contact.email)


def test_unsubscribed_contact_gets_no_email(rep, win_and_enroll):
    onboarding_playbook(extra_steps=[WELCOME])
    deal = closable_deal(owner=rep)
    Contact.objects.filter(account=deal.account).update(unsubscribed=True)

    run = run_welcome(win_and_enroll(deal, rep))

    assert run.state == StepRun.State.DONE
    assert run.result == {"skipped": "contact unsubscribed"}
    assert not EmailMessage.objects.exists()


def test_contact_who_unsubscribes_before_the_send_gets_nothing(rep, win_and_enroll, mailoutbox):
    onboarding_playbook(extra_steps=[WELCOME])
    deal = closable_deal(owner=rep)
    run_welcome(win_and_enroll(deal, rep))
    Contact.objects.filter(account=deal.account).update(unsubscribed=True)

    email = EmailMessage.objects.get()
    assert email_deliver(email_id=email.pk) == "withdrawn"

    assert mailoutbox == []
    email.refresh_from_db()
    assert email.withdrawn_reason == "Contact unsubscribed."


def test_without_a_deal_contact_the_account_primary_contact_is_used(rep, win_and_enroll):
    onboarding_playbook(extra_steps=[WELCOME])
    deal = closable_deal(owner=rep)
    enrollment = win_and_enroll(deal, rep)
    Contact.objects.filter(account=deal.account).update(is_primary=False)
    new_primary = ContactFactory(account=deal.account, name="Grace Hopper", is_primary=True)
    Deal.objects.filter(pk=deal.pk).update(primary_contact=None)

    run_welcome(enrollment)

    email = EmailMessage.objects.get()
    assert (email.to_email, email.contact) == (new_primary.email, new_primary)
    assert email.body_text.startswith("Hi Grace Hopper,")


def test_cancelling_the_enrollment_withdraws_the_unsent_email(rep, win_and_enroll, mailoutbox):
    onboarding_playbook(extra_steps=[WELCOME])
    deal = closable_deal(owner=rep)
    enrollment = win_and_enroll(deal, rep)
    run_welcome(enrollment)

    withdrawn = enrollment_cancel(enrollment=enrollment, reason="Cancelled: deal reopened.")

    email = EmailMessage.objects.get()
    assert withdrawn == 1
    assert email.status == EmailMessage.Status.WITHDRAWN
    assert email.withdrawn_reason == "Cancelled: deal reopened."
    assert email_deliver(email_id=email.pk) == "skipped: withdrawn"
    assert mailoutbox == []


def test_publishing_refuses_an_email_step_without_subject_or_with_a_broken_body():
    problems = playbook_steps_problems(
        [
            {"key": "welcome", "kind": "email", "config": {"body": "Hi {% if %}"}},
            {"key": "ok", "kind": "email", "config": WELCOME["config"]},
        ]
    )

    assert set(problems) == {"welcome.config.subject", "welcome.config.body"}
    assert "Template error" in problems["welcome.config.body"][0]
