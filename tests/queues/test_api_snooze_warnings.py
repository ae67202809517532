"""Snoozing over the API past a task's due date or its SLA deadline snoozes it and says
what it costs, in the same words as the task page, in the asker's time zone."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task, TaskActivity
from apps.queues.services import task_create
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # Monday
DUE_WARNING = "It comes back after it is due (Mon 30 Nov 2026, 17:00): it will be overdue."
SLA_WARNING = (
    "Its SLA deadline (Mon 30 Nov 2026, 13:00) passes while it is snoozed: "
    "the SLA will be breached."
)


def task_due_today(csm, *, pause: bool = False, timezone: str = "UTC") -> Task:
    Profile.objects.create(user=csm, timezone=timezone)
    queue = QueueFactory(timezone="UTC", country="GB", sla_hours=4, pause_sla_while_snoozed=pause)
    queue.members.add(csm)
    with clock.frozen(NOW):
        return task_create(
            queue=queue, title="Call back", assignee=csm, due_at=NOW + dt.timedelta(hours=8)
        )


def snooze(user, task, until: str):
    client = APIClient()
    client.force_authenticate(user=user)
    with clock.frozen(NOW):
        return client.post(f"/api/tasks/{task.pk}/snooze/", {"until": until}, format="json")


def test_snoozing_past_the_due_date_and_the_sla_warns_and_still_snoozes(csm):
    task = task_due_today(csm)

    response = snooze(csm, task, "2026-12-01T09:00:00Z")

    assert response.status_code == 200
    body = response.json()
    assert body["warnings"] == [DUE_WARNING, SLA_WARNING]
    assert body["snoozed_until"] == "2026-12-01T09:00:00Z"
    task.refresh_from_db()
    assert task.snoozed_until == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_the_warnings_are_worded_in_the_askers_time_zone(csm):
    task = task_due_today(csm, timezone="Europe/Berlin")

    body = snooze(csm, task, "2026-12-01T09:00:00Z").json()

    assert body["warnings"] == [
        "It comes back after it is due (Mon 30 Nov 2026, 18:00): it will be overdue.",
        "Its SLA deadline (Mon 30 Nov 2026, 14:00) passes while it is snoozed: "
        "the SLA will be breached.",
    ]


def test_a_pausing_queue_warns_about_the_due_date_only(csm):
    task = task_due_today(csm, pause=True)

    body = snooze(csm, task, "2026-12-01T09:00:00Z").json()

    assert body["warnings"] == [DUE_WARNING]
    # The clock paused: the deadline moved by the business hours spent snoozed.
    assert body["sla_due_at"] == "2026-12-01T13:00:00Z"


def test_a_short_snooze_has_no_warning(csm):
    task = task_due_today(csm)

    body = snooze(csm, task, "2026-11-30T11:00:00Z").json()

    assert body["warnings"] == []
    assert body["snoozed_until"] == "2026-11-30T11:00:00Z"


def test_a_refused_snooze_warns_of_nothing_and_changes_nothing(csm):
    task = task_due_today(csm)

    response = snooze(csm, task, "2026-11-29T09:00:00Z")

    assert response.status_code == 400
    assert set(response.json()) == {"until"}
    task.refresh_from_db()
    assert task.snoozed_until is None
    assert not task.activities.filter(kind=TaskActivity.Kind.SNOOZED).exists()
