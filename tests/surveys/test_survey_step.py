"""The survey step: who is asked, once, and who the contact policy holds back."""

import datetime as dt

import pytest

from apps.core import clock, outbox
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment, StepRun
from apps.notifications.models import EmailMessage
from apps.queues.models import Queue
from apps.surveys.models import ContactPolicy, Invitation
from apps.surveys.services import invitations_remind_due, response_record
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, TaskFactory, closable_deal
from tests.surveys.conftest import invitation_of, survey_playbook, won_with_contact

pytestmark = pytest.mark.django_db


def survey_run(deal) -> StepRun:
    return Enrollment.objects.get(deal=deal).step_runs.get(step_key="nps_survey")


def test_the_primary_contact_is_invited_once_with_the_scale_in_the_email(rep):
    survey_playbook()
    deal = won_with_contact(rep)

    invitation = invitation_of(deal)
    assert invitation.status == Invitation.Status.SENT
    assert invitation.contact.email == "grace@globex.test"
    assert invitation.expires_at == invitation.created_at + dt.timedelta(days=30)
    email = EmailMessage.objects.get(idempotency_key=f"survey:{invitation.pk}:invite")
    assert email.subject == "How likely are you to recommend us to a friend or colleague?"
    # Every score of the scale is a link to the answer page with that score selected.
    for score in range(0, 11):
        assert f"?score={score}" in email.body_text
        assert f"?score={score}" in email.body_html
    run = survey_run(deal)
    assert run.result["outcome"] == "sent"
    assert run.result["summary"] == "Net Promoter Score sent to Grace Hopper"


def test_a_step_delivered_twice_invites_nobody_twice(rep):
    survey_playbook()
    deal = won_with_contact(rep)
    run = survey_run(deal)
    # A duplicate delivery of the same run, forced past its finished state.
    StepRun.objects.filter(pk=run.pk).update(state=StepRun.State.PENDING)

    step_run_execute(step_run_id=run.pk)

    assert Invitation.objects.count() == 1
    assert EmailMessage.objects.filter(idempotency_key__startswith="survey:").count() == 1


def test_contacts_with_a_title_are_each_asked(rep):
    account = AccountFactory(name="Initech")
    ContactFactory(account=account, name="Vera VP", title="VP Operations", email="v@i.test")
    ContactFactory(account=account, name="Otto Ops", title="Operator", email="o@i.test")
    survey_playbook(to="contacts_titled", title_contains="vp")
    won_with_contact(rep, account=account, title="VP Sales")

    asked = set(Invitation.objects.values_list("contact__name", flat=True))
    assert asked == {"Vera VP", "Grace Hopper"}


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("unsubscribed", "the contact unsubscribed"),
        ("no_email", "the contact has no email address"),
        ("escalation", "quiet period: the account has an open escalation"),
        ("surveyed", "the contact was surveyed in the last 90 days"),
        ("account_full", "the account had 1 surveys in the last 90 days"),
    ],
)
def test_the_contact_policy_holds_back_and_says_why(rep, nps_survey, setup, reason):
    account = AccountFactory(name="Globex")
    grace = ContactFactory(
        account=account,
        name="Grace Hopper",
        is_primary=True,
        email="grace@globex.test",
        unsubscribed=setup == "unsubscribed",
    )
    if setup == "escalation":
        escalations, _ = Queue.objects.get_or_create(slug="escalations", defaults={"name": "Esc"})
        TaskFactory(queue=escalations, account=account, title="Angry customer")
    if setup in ("surveyed", "account_full"):
        # Asked 60 days ago: Grace herself, or a colleague at the same account.
        asked = grace if setup == "surveyed" else ContactFactory(account=account)
        Invitation.objects.create(
            survey=nps_survey,
            contact=asked,
            account=account,
            created_at=clock.now() - dt.timedelta(days=60),
            expires_at=clock.now() - dt.timedelta(days=30),
        )
    if setup == "account_full":
        ContactPolicy.objects.update(account_max=1)
    survey_playbook()
    close_won(closable_deal(account=account, primary_contact=grace), actor=rep)
    if setup == "no_email":  # removed after the close (which needs it), before the survey
        type(grace).objects.filter(pk=grace.pk).update(email="")
    outbox.drain()

    run = StepRun.objects.get(step_key="nps_survey")
    assert run.state == StepRun.State.DONE
    assert run.result["outcome"] == "suppressed"
    assert run.result["reason"] == reason
    invitation = Invitation.objects.get(step_run=run)
    assert (invitation.status, invitation.suppressed_reason) == ("suppressed", reason)
    assert not EmailMessage.objects.filter(idempotency_key=f"survey:{invitation.pk}:invite")


def test_one_reminder_when_unanswered_and_none_after_an_answer_or_expiry(rep):
    survey_playbook()
    first = invitation_of(won_with_contact(rep))
    answered = invitation_of(won_with_contact(rep, email="ann@globex.test"))
    response_record(invitation=answered, score=9)
    expired = invitation_of(won_with_contact(rep, email="exp@globex.test"))
    Invitation.objects.filter(pk=expired.pk).update(expires_at=clock.now() + dt.timedelta(days=3))

    assert invitations_remind_due(now=clock.now() + dt.timedelta(days=3)) == 0  # too early
    later = clock.now() + dt.timedelta(days=4, minutes=1)
    assert invitations_remind_due(now=later) == 1
    assert invitations_remind_due(now=later + dt.timedelta(days=1)) == 0  # once only

    reminders = EmailMessage.objects.filter(idempotency_key__endswith=":reminder")
    assert [e.idempotency_key for e in reminders] == [f"survey:{first.pk}:reminder"]
    assert reminders.get().subject.startswith("Reminder: ")


def test_a_reopened_deal_withdraws_the_unsent_invitation(rep, cs_manager):
    from apps.deals import services as deal_services

    survey_playbook()
    deal = won_with_contact(rep)
    invitation = invitation_of(deal)

    deal_services.deal_reopen(deal=deal, actor=cs_manager, source="admin", reason="Wrong deal")
    outbox.drain()

    email = EmailMessage.objects.get(idempotency_key=f"survey:{invitation.pk}:invite")
    assert email.status == EmailMessage.Status.WITHDRAWN
