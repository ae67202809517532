"""Run now: an admin brings a scheduled step forward; who and when are recorded."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.core import outbox
from apps.engine.models import Enrollment, StepRun
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal, onboarding_playbook

pytestmark = pytest.mark.django_db

LATER = {
    "key": "check_in",
    "name": "Day-30 check-in",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Day-30 check-in with {{ account.name }}"},
    "delay_days": 30,
}


def test_admin_runs_a_scheduled_step_now_and_it_is_recorded(client, rep):
    admin = User.objects.create_superuser("ada", "ada@example.test", "pw-for-tests-only")
    onboarding_playbook(extra_steps=[LATER])
    deal = closable_deal()
    close_won(deal, actor=rep)
    outbox.drain()
    run = Enrollment.objects.get(deal=deal).step_runs.get(step_key="check_in")
    planned = run.due_at
    client.force_login(admin)

    response = client.post(
        reverse("admin:engine_steprun_changelist"),
        {"action": "run_now_selected", "_selected_action": [run.pk]},
        follow=True,
    )

    assert "1 step run(s) are due now" in response.content.decode()
    run.refresh_from_db()
    assert run.run_now_by == admin and run.run_now_was_due_at == planned
    assert run.due_at <= run.run_now_at + dt.timedelta(seconds=1)
    outbox.drain()
    assert Task.objects.filter(title__startswith="Day-30 check-in").count() == 1
    run.refresh_from_db()
    assert run.state == StepRun.State.DONE

    # A finished step cannot be brought forward again: it says why and changes nothing.
    again = client.post(
        reverse("admin:engine_steprun_changelist"),
        {"action": "run_now_selected", "_selected_action": [run.pk]},
        follow=True,
    )
    assert "Only a pending or failed step can run now" in again.content.decode()
