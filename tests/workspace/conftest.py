"""Workspace tests: accounts with deals, tasks and health made the way the product
stores them, at a frozen moment."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.core import clock
from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment
from apps.health.models import AccountHealth
from apps.notifications.models import EmailMessage
from apps.queues.models import Task
from apps.queues.services import task_complete
from apps.surveys.models import Invitation, Response, Survey, band_of
from apps.workspace.services import account_note_add
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    QueueFactory,
    TaskFactory,
    closable_deal,
    onboarding_playbook,
)

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def now():
    with clock.frozen(NOW) as frozen:
        yield frozen


def contract(
    account: Account,
    *,
    amount: str,
    close_date: dt.date,
    term_months: int = 12,
    currency: str = "USD",
    stage: str = "closed_won",
) -> Deal:
    """A closed deal: a contract of ``term_months`` from ``close_date``."""
    return DealFactory(
        account=account,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        close_date=close_date,
        term_months=term_months,
        closed_at=dt.datetime.combine(close_date, dt.time(12), tzinfo=dt.UTC),
    )


def health(account: Account, *, score: int | None, band: str) -> AccountHealth:
    return AccountHealth.objects.create(
        account=account, score=score, band=band, computed_at=NOW, factors=[]
    )


@dataclass
class Customer:
    account: Account
    deal: Deal
    kickoff: Task
    hidden_task: Task
    csm: Any
    rep: Any


@pytest.fixture
def customer(csm, rep) -> Customer:
    """Globex, won on NOW by Rick the rep: its onboarding playbook made Carla's kickoff
    call (done an hour later), a survey answer, an email to its contact, a staff note, a
    task in a queue Carla does not work, and a health score."""
    onboarding_playbook()
    account = AccountFactory(name="Globex", csm=csm, owner=rep, timezone="Asia/Tokyo")
    contact = ContactFactory(account=account, name="Hank Scorpio", email="hank@globex.test")
    deal = closable_deal(account=account, owner=rep, name="Globex platform")
    with clock.frozen(NOW):
        close_won(deal, actor=rep)
        event = DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)
        event_process(event_id=event.pk)
        run = Enrollment.objects.get(deal=deal).step_runs.get(step_key="kickoff")
        step_run_execute(step_run_id=run.pk)
    kickoff = Task.objects.get(deal=deal)
    kickoff.queue.members.add(csm)
    with clock.frozen(NOW + dt.timedelta(hours=1)):
        task_complete(task=kickoff, actor=csm, outcome="reached", notes="Went well")
    survey = Survey.objects.get(slug="nps")
    at = NOW + dt.timedelta(hours=2)
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=account,
        status="answered",
        created_at=at,
        expires_at=at + dt.timedelta(days=30),
    )
    Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind="nps",
        score=6,
        band=band_of("nps", 6),
        comment="Setup is slow",
        answered_at=at,
        account=account,
        contact=contact,
    )
    EmailMessage.objects.create(
        to_email=contact.email,
        to_name=contact.name,
        subject="Welcome to Afterwin",
        body_text="Hello",
        status=EmailMessage.Status.SENT,
        sent_at=NOW + dt.timedelta(hours=3),
        idempotency_key=f"welcome-{account.pk}",
        contact=contact,
    )
    with clock.frozen(NOW + dt.timedelta(hours=4)):
        account_note_add(account=account, actor=csm, body="Their CTO prefers email.")
    hidden = TaskFactory(
        account=account,
        title="Renewal pricing review",
        queue=QueueFactory(name="Finance", slug="finance"),
    )
    health(account, score=64, band="yellow")
    kickoff.refresh_from_db()
    return Customer(
        account=account, deal=deal, kickoff=kickoff, hidden_task=hidden, csm=csm, rep=rep
    )
