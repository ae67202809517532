"""Answers drive the playbook: the demo's onboarding survey, its wait and its three
branches, on the real engine with a virtual clock (and in the simulation command)."""

import datetime as dt

import pytest
from django.core.management import call_command

from apps.core import clock, outbox
from apps.demo.data import PLAYBOOK_STEPS
from apps.engine.models import Enrollment
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Task
from apps.surveys.services import response_record
from tests.deals.test_close_won import close_won
from tests.factories import AccountFactory, ContactFactory, QueueFactory, UserFactory, closable_deal
from tests.surveys.conftest import invitation_of

pytestmark = pytest.mark.django_db

BRANCH_KEYS = (
    "nps_survey",
    "nps_answer",
    "detractor_call_back",
    "passive_check_in",
    "promoter_thanks",
)
WON_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)  # a Monday


@pytest.fixture
def onboarding(cs_manager):
    """The demo playbook's survey part, as seeded: a day-30 NPS survey, a wait of up to
    14 days and the three branches."""
    csm = UserFactory(username="cleo", role="CSM")
    QueueFactory(slug="onboarding", name="Onboarding", members=[csm], manager=cs_manager)
    QueueFactory(slug="escalations", name="Escalations", members=[cs_manager], manager=cs_manager)
    playbook = Playbook.objects.create(name="New customer onboarding")
    steps = [step for step in PLAYBOOK_STEPS if step["key"] in BRANCH_KEYS]
    for position, step in enumerate(steps, start=1):
        PlaybookStep.objects.create(playbook=playbook, position=position, **step)
    playbook_publish(playbook=playbook, actor=None)
    return csm


def run_until(moment: dt.datetime) -> None:
    with clock.frozen(moment):
        outbox.drain()


def close_and_survey(rep, csm):
    account = AccountFactory(name="Globex", csm=csm, timezone="UTC")
    grace = ContactFactory(account=account, name="Grace", email="g@globex.test", is_primary=True)
    with clock.frozen(WON_AT):
        deal = closable_deal(account=account, primary_contact=grace)
        close_won(deal, actor=rep)
        outbox.drain()
    run_until(WON_AT + dt.timedelta(days=30, hours=2))  # day 30, 10:00 + the window
    return invitation_of(deal), deal


@pytest.mark.parametrize(
    ("score", "title", "assignee", "priority"),
    [
        (3, "Call back Grace at Globex: NPS 3", "mona", 1),
        (7, "Check in with Globex: NPS 7", "cleo", 3),
        (10, "Thank Grace at Globex for their NPS 10", "cleo", 3),
    ],
)
def test_each_answer_takes_its_branch(rep, onboarding, score, title, assignee, priority):
    invitation, deal = close_and_survey(rep, onboarding)
    answered_at = WON_AT + dt.timedelta(days=31)
    with clock.frozen(answered_at):
        response_record(invitation=invitation, score=score, comment="The setup was slow.")
    run_until(answered_at + dt.timedelta(minutes=1))

    [task] = Task.objects.filter(deal=deal)
    assert task.title == title
    assert (task.assignee.username, task.priority) == (assignee, priority)
    if score == 3:
        # Within one business day, with the score and the comment in the task.
        assert task.due_at <= answered_at + dt.timedelta(days=1, minutes=1)
        assert "answered 3 of 10" in task.body and "The setup was slow." in task.body
        assert task.queue.slug == "escalations"
    enrollment = Enrollment.objects.get(deal=deal)
    assert enrollment.context["steps"]["nps_answer"]["band"] in ("detractor", "passive", "promoter")


def test_no_answer_in_14_days_does_nothing_more(rep, onboarding):
    _, deal = close_and_survey(rep, onboarding)

    run_until(WON_AT + dt.timedelta(days=45))

    assert not Task.objects.filter(deal=deal).exists()
    answer = Enrollment.objects.get(deal=deal).step_runs.get(step_key="nps_answer")
    assert answer.result["outcome"] == "timeout"


@pytest.mark.parametrize(
    ("answer", "branch"),
    [
        ("3", "Call back Sam Sample at Sample Customer GmbH: NPS 3"),
        ("7", "Check in with Sample Customer GmbH: NPS 7"),
        ("10", "Thank Sam Sample at Sample Customer GmbH for their NPS 10"),
        ("none", "Wait ended: timeout"),
    ],
)
def test_the_simulation_prints_each_branch(onboarding, answer, branch, capsys):
    call_command("playbook_simulate", "New customer onboarding", "--answer", f"nps={answer}")

    out = capsys.readouterr().out
    assert branch in out
    assert out.count("Skipped: conditions not met") == (3 if answer == "none" else 2)
