"""The ``reminder`` playbook step: an in-app notification and an email to a rep or CSM."""

import pytest

from apps.core import step_kinds
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment, StepRun
from apps.engine.services import enrollment_cancel
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.services import email_deliver
from apps.playbooks.services import playbook_steps_problems
from tests.factories import (
    AccountFactory,
    ProfileFactory,
    UserFactory,
    closable_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db


def handoff_reminder(to: str = "deal_owner") -> dict:
    return {
        "key": "handoff",
        "name": "Hand-off call reminder",
        "kind": "reminder",
        "config": {
            "to": to,
            "title": "Book the hand-off call with {{ account.name }}",
            "body": "Introduce {{ contact.name }} to {{ csm.name }}.",
        },
    }


def run_handoff(enrollment: Enrollment) -> StepRun:
    run = enrollment.step_runs.get(step_key="handoff")
    assert step_run_execute(step_run_id=run.pk) == "done"
    run.refresh_from_db()
    return run


def test_deal_owner_gets_one_notification_and_one_email(rep, csm, win_and_enroll, mailoutbox):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    deal = closable_deal(account=AccountFactory(name="Globex", csm=csm), owner=rep)

    run = run_handoff(win_and_enroll(deal, rep))

    notification = Notification.objects.get()
    assert notification.recipient == rep
    assert notification.reason == Notification.Reason.PLAYBOOK_REMINDER
    assert notification.title == "Book the hand-off call with Globex"
    assert notification.body == f"Introduce {deal.primary_contact.name} to {csm.get_full_name()}."
    assert (notification.deal, notification.read_at) == (deal, None)
    email = EmailMessage.objects.get()
    assert (email.to_email, email.recipient) == (rep.email, rep)
    assert email.subject == notification.title
    assert run.result == {
        "notification_id": notification.pk,
        "recipient_id": rep.pk,
        "email_id": email.pk,
        "summary": f"Reminder to {rep.get_full_name()}: Book the hand-off call with Globex",
    }

    assert email_deliver(email_id=email.pk) == "sent"
    assert mailoutbox[0].subject == "Book the hand-off call with Globex"


def test_executing_the_reminder_twice_notifies_once(rep, win_and_enroll):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    enrollment = win_and_enroll(closable_deal(owner=rep), rep)
    run = enrollment.step_runs.get(step_key="handoff")
    # As a second worker would if it took the run over after an expired lease.
    execution = step_kinds.StepExecution(
        step_run=run,
        enrollment=enrollment,
        deal=enrollment.deal,
        account=enrollment.account,
        step=enrollment.version.step("handoff"),
        now=run.due_at,
    )
    kind = step_kinds.get("reminder")

    first, second = kind.execute(execution), kind.execute(execution)

    assert first == second
    assert Notification.objects.filter(recipient=rep).count() == 1
    assert EmailMessage.objects.filter(to_email=rep.email).count() == 1


def test_reminder_to_the_account_csm(rep, csm, win_and_enroll):
    onboarding_playbook(extra_steps=[handoff_reminder(to="account_csm")])
    deal = closable_deal(account=AccountFactory(csm=csm), owner=rep)

    run_handoff(win_and_enroll(deal, rep))

    assert list(Notification.objects.values_list("recipient", flat=True)) == [csm.pk]


def test_without_an_owner_the_reminder_is_skipped(rep, win_and_enroll):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    deal = closable_deal(owner=None)

    run = run_handoff(win_and_enroll(deal, None))  # closed by an integration: no owner

    assert run.result == {"skipped": "no recipient"}
    assert not Notification.objects.exists()
    assert not EmailMessage.objects.exists()


def test_recipient_without_an_email_address_gets_only_the_notification(rep, win_and_enroll):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    owner = UserFactory(username="quinn", email="", role="Sales Rep")

    run_handoff(win_and_enroll(closable_deal(owner=owner), owner))

    assert Notification.objects.filter(recipient=owner).count() == 1
    assert not EmailMessage.objects.exists()


def test_a_rep_who_switched_reminder_emails_off_gets_only_the_notification(rep, win_and_enroll):
    ProfileFactory(user=rep, channels={"playbook_reminder": ["in_app"]})
    onboarding_playbook(extra_steps=[handoff_reminder()])

    run = run_handoff(win_and_enroll(closable_deal(owner=rep), rep))

    assert Notification.objects.filter(recipient=rep).count() == 1
    assert not EmailMessage.objects.exists()
    assert "email_id" not in run.result


def test_the_reminder_email_is_rendered_from_the_templates(rep, csm, win_and_enroll):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    deal = closable_deal(account=AccountFactory(name="Globex", csm=csm), owner=rep)

    run_handoff(win_and_enroll(deal, rep))

    email = EmailMessage.objects.get()
    contact = deal.primary_contact.name
    assert email.body_text.startswith(f"Introduce {contact} to {csm.get_full_name()}.\n")
    assert f"Deal:    {deal.name}" in email.body_text
    assert "<h1" in email.body_html and "Book the hand-off call with Globex" in email.body_html


def test_cancelling_the_enrollment_withdraws_the_email_but_keeps_the_notification(
    rep, win_and_enroll, mailoutbox
):
    onboarding_playbook(extra_steps=[handoff_reminder()])
    enrollment = win_and_enroll(closable_deal(owner=rep), rep)
    run_handoff(enrollment)

    assert enrollment_cancel(enrollment=enrollment, reason="Cancelled: deal closed lost.") == 1

    email = EmailMessage.objects.get()
    assert email.status == EmailMessage.Status.WITHDRAWN
    assert email_deliver(email_id=email.pk) == "skipped: withdrawn"
    assert mailoutbox == []
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_publishing_refuses_a_reminder_without_a_recipient_or_title():
    problems = playbook_steps_problems(
        [{"key": "handoff", "kind": "reminder", "config": {"to": "the_ceo", "body": "Hi {% if %}"}}]
    )

    assert set(problems) == {
        "handoff.config.to",
        "handoff.config.title",
        "handoff.config.body",
    }
    assert "deal_owner" in problems["handoff.config.to"][0]
