"""Onboarding progress against plan: of the running playbooks' steps due by now, how many
are done. A task step is due when its task is, and done when its task is closed."""

import datetime as dt

import pytest

from apps.core import outbox
from apps.health.models import AccountHealth
from apps.health.services import health_recompute
from apps.queues.models import Task
from apps.queues.services import task_complete
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db


def onboarding(account) -> dict:
    health = AccountHealth.objects.get(account=account)
    return next(f for f in health.factors if f["key"] == "onboarding")


def test_progress_follows_the_tasks_of_the_onboarding_playbook(now, rep, admin_user):
    onboarding_playbook(
        extra_steps=[
            {
                "key": "setup",
                "name": "Set up the workspace",
                "kind": "task",
                "config": {
                    "queue": "onboarding",
                    "title": "Set up {{ account.name }}",
                    "assign_to": "account_csm",
                    "due_in_days": 3,
                },
            }
        ]
    )
    deal = closable_deal()
    close_won(deal, actor=rep)
    outbox.drain()
    account = deal.account
    # The kickoff task has no due date (due now); the set-up task is due in three days.
    line = onboarding(account)
    assert (line["value"], line["points"]) == ("0 % of plan", 0)
    assert line["why"].startswith("0 of 1 step due by now are done")

    kickoff = Task.objects.get(account=account, title__startswith="Kickoff")
    task_complete(task=kickoff, actor=admin_user, outcome="reached")
    outbox.drain()
    assert onboarding(account)["value"] == "100 % of plan"

    now.advance(dt.timedelta(days=4))  # the set-up task is late now
    health_recompute(account_ids=[account.pk])
    line = onboarding(account)
    assert (line["value"], line["points"]) == ("50 % of plan", 0)
    assert line["why"].startswith("1 of 2 steps due by now are done")
