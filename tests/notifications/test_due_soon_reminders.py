"""Due-soon reminders come at the start of the assignee's working day, in their zone."""

import datetime as dt

import pytest

from apps.core import clock
from apps.notifications.models import EmailMessage, Notification
from apps.notifications.reminders import task_reminders_send
from apps.queues.services import task_complete
from tests.factories import ProfileFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

DUE_SOON = Notification.Reason.TASK_DUE_SOON
# Tuesday 24 November 2026, 14:00 UTC: 15:00 in Berlin, 09:00 in New York.
DUE_AT = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC)
CREATED_AT = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def utc(hour: int, minute: int = 0, day: int = 24) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def remind_at(moment: dt.datetime) -> int:
    with clock.frozen(moment):
        return task_reminders_send(now=moment)


def due_soon_for(user) -> list[str]:
    return list(
        Notification.objects.filter(recipient=user, reason=DUE_SOON).values_list("title", flat=True)
    )


def task_for(**fields):
    """A task created days before it is due (the assigned notification is long past)."""
    return TaskFactory(**{"created_at": CREATED_AT, **fields})


@pytest.fixture
def onboarding(csm):
    return QueueFactory(name="Onboarding", members=[csm])


def test_reminded_when_the_working_day_starts_in_berlin(csm, onboarding):
    ProfileFactory(user=csm, timezone="Europe/Berlin", work_start=dt.time(9, 0))
    task_for(title="Kickoff call", queue=onboarding, assignee=csm, due_at=DUE_AT)

    assert remind_at(utc(7, 55)) == 0  # 08:55 in Berlin
    assert due_soon_for(csm) == []

    assert remind_at(utc(8, 0)) == 1  # 09:00 in Berlin
    assert due_soon_for(csm) == ["Due soon: Kickoff call"]
    body = Notification.objects.get(recipient=csm).body
    assert "Due Tue 24 Nov 2026, 15:00 (Europe/Berlin)" in body


def test_the_same_due_time_is_reminded_later_for_someone_in_new_york(csm, onboarding):
    nina = UserFactory(username="nina", role="CSM")
    ProfileFactory(user=csm, timezone="Europe/Berlin", work_start=dt.time(9, 0))
    ProfileFactory(user=nina, timezone="America/New_York", work_start=dt.time(8, 30))
    task_for(title="Carla's call", queue=onboarding, assignee=csm, due_at=DUE_AT)
    task_for(title="Nina's call", queue=onboarding, assignee=nina, due_at=DUE_AT)

    remind_at(utc(8, 0))
    assert (due_soon_for(csm), due_soon_for(nina)) == (["Due soon: Carla's call"], [])

    remind_at(utc(13, 30))  # 08:30 in New York
    assert due_soon_for(nina) == ["Due soon: Nina's call"]


def test_running_the_job_again_sends_nothing_new(csm, onboarding):
    task_for(queue=onboarding, assignee=csm, due_at=DUE_AT)

    assert remind_at(utc(9, 0)) == 1
    assert remind_at(utc(9, 5)) == 0
    assert remind_at(utc(13, 0)) == 0
    assert Notification.objects.filter(recipient=csm, reason=DUE_SOON).count() == 1


def test_a_task_due_before_work_starts_is_reminded_the_working_day_before(csm, onboarding):
    ProfileFactory(user=csm, timezone="Europe/Berlin", work_start=dt.time(9, 0))
    task_for(title="Early call", queue=onboarding, assignee=csm, due_at=utc(7, 0))  # 08:00

    assert remind_at(utc(7, 59, day=23)) == 0
    assert remind_at(utc(8, 0, day=23)) == 1  # Monday 09:00 in Berlin


def test_no_reminder_for_a_task_already_done(csm, onboarding):
    task = task_for(queue=onboarding, assignee=csm, due_at=DUE_AT)
    task_complete(task=task, actor=csm)

    assert remind_at(utc(9, 0)) == 0
    assert not Notification.objects.exists()


def test_no_reminder_while_the_task_is_snoozed(csm, onboarding):
    task_for(queue=onboarding, assignee=csm, due_at=DUE_AT, snoozed_until=utc(12, 0))

    assert remind_at(utc(9, 0)) == 0
    assert remind_at(utc(12, 0)) == 1


def test_a_task_handed_over_on_its_due_day_gets_no_separate_due_soon_reminder(csm, onboarding):
    # Created at 11:00 and announced as assigned then; "due soon" would only repeat it.
    TaskFactory(queue=onboarding, assignee=csm, due_at=DUE_AT, created_at=utc(11, 0))

    assert remind_at(utc(11, 5)) == 0


def test_due_soon_stays_in_the_app_by_default(csm, onboarding):
    task_for(queue=onboarding, assignee=csm, due_at=DUE_AT)

    remind_at(utc(9, 0))

    assert Notification.objects.filter(recipient=csm, reason=DUE_SOON).count() == 1
    assert not EmailMessage.objects.exists()


def test_a_configured_lead_time_replaces_the_start_of_the_day(csm, onboarding, settings):
    settings.NOTIFICATIONS_DUE_SOON_LEAD_MINUTES = 120
    task_for(queue=onboarding, assignee=csm, due_at=DUE_AT)

    assert remind_at(utc(11, 59)) == 0
    assert remind_at(utc(12, 0)) == 1
