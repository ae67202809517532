"""Snoozing a task past its due date or its SLA deadline is allowed, and the person is
told what it costs: in the snooze form beforehand and in the result."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task
from apps.queues.services import task_create
from tests.factories import QueueFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # Monday
HTMX = {"HTTP_HX_REQUEST": "true"}


def task_due_today(csm, *, pause: bool = False) -> Task:
    Profile.objects.create(user=csm, timezone="UTC")
    queue = QueueFactory(timezone="UTC", country="GB", sla_hours=4, pause_sla_while_snoozed=pause)
    queue.members.add(csm)
    with clock.frozen(NOW):
        return task_create(
            queue=queue, title="Call back", assignee=csm, due_at=NOW + dt.timedelta(hours=8)
        )


def snooze(client, csm, task, until: str):
    client.force_login(csm)
    with clock.frozen(NOW):
        return client.post(f"/tasks/{task.pk}/snooze/", {"until": until}, **HTMX)


def test_snoozing_past_the_due_date_and_the_sla_warns_and_still_snoozes(client, csm):
    task = task_due_today(csm)

    response = snooze(client, csm, task, "2026-12-01T09:00")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Snoozed until Tue 1 Dec 2026, 09:00." in html
    assert "It comes back after it is due (Mon 30 Nov 2026, 17:00): it will be overdue." in html
    assert (
        "Its SLA deadline (Mon 30 Nov 2026, 13:00) passes while it is snoozed: "
        "the SLA will be breached." in html
    )
    task.refresh_from_db()
    assert task.snoozed_until == dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_a_pausing_queue_warns_about_the_due_date_only(client, csm):
    task = task_due_today(csm, pause=True)

    html = snooze(client, csm, task, "2026-12-01T09:00").content.decode()

    assert "it will be overdue" in html
    assert "the SLA will be breached" not in html


def test_a_short_snooze_has_no_warning(client, csm):
    task = task_due_today(csm)

    html = snooze(client, csm, task, "2026-11-30T11:00").content.decode()

    assert "Snoozed until Mon 30 Nov 2026, 11:00." in html
    assert "overdue" not in html and "breached" not in html


def test_the_snooze_form_says_when_the_task_is_due_and_its_sla_deadline(client, csm):
    task = task_due_today(csm)
    client.force_login(csm)

    with clock.frozen(NOW):
        html = client.get(f"/tasks/{task.pk}/").content.decode()

    assert (
        "Due Mon 30 Nov 2026, 17:00; SLA deadline Mon 30 Nov 2026, 13:00. "
        "You may snooze past them" in html
    )
