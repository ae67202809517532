"""The score follows its inputs: completing a task, a survey answer and a lifecycle move
recompute the accounts concerned, and only them."""

import pytest

from apps.core import outbox
from apps.customers.models import Account
from apps.customers.services import account_set_lifecycle
from apps.health.models import AccountHealth
from apps.health.services import health_recompute
from apps.queues.services import task_complete
from apps.surveys.models import Invitation, Survey
from apps.surveys.services import response_record
from tests.factories import ContactFactory
from tests.health.conftest import NOW, customer, open_task

pytestmark = pytest.mark.django_db


def stored(account) -> AccountHealth:
    return AccountHealth.objects.get(account=account)


def test_completing_an_overdue_task_recomputes_its_account(now, admin_user):
    account, other = customer(), customer()
    task = open_task(account, due_in_days=-1)
    open_task(other, due_in_days=-1)
    health_recompute(account_ids=[account.pk, other.pk])
    outbox.drain()
    before_other = stored(other).computed_at
    assert stored(account).score < 100

    now.advance(NOW.resolution * 1000)
    task_complete(task=task, actor=admin_user)
    outbox.drain()

    health = stored(account)
    overdue = next(f for f in health.factors if f["key"] == "overdue_tasks")
    assert overdue["value"] == "0 overdue tasks"
    assert health.score == 100
    assert stored(other).computed_at == before_other  # not concerned: not recomputed


def test_a_survey_answer_recomputes_its_account(now):
    account = customer()
    contact = ContactFactory(account=account, email="ana@customer.test")
    invitation = Invitation.objects.create(
        survey=Survey.objects.get(slug="nps"),
        contact=contact,
        account=account,
        expires_at=NOW.replace(year=2027),
    )
    response_record(invitation=invitation, score=2)
    outbox.drain()
    nps = next(f for f in stored(account).factors if f["key"] == "nps")
    assert nps["value"] == "detractor (2)"


def test_a_lifecycle_move_recomputes_its_account(now):
    account = customer(lifecycle_status=Account.Lifecycle.PROSPECT)
    account_set_lifecycle(account=account, status=Account.Lifecycle.ONBOARDING, actor=None)
    outbox.drain()
    onboarding = next(f for f in stored(account).factors if f["key"] == "onboarding")
    assert onboarding["value"] == "nothing due yet"
