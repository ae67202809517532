"""The daily digest: at the digest time in each person's zone, once a day, only with work."""

import datetime as dt

import pytest

from apps.core import clock
from apps.notifications.models import EmailMessage
from apps.notifications.reminders import digests_send
from apps.queues.services import task_complete
from tests.factories import ProfileFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

# Tuesday 24 November 2026.
TUESDAY = dt.date(2026, 11, 24)


def utc(hour: int, minute: int = 0, day: int = 24) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def send(moment: dt.datetime) -> int:
    with clock.frozen(moment):
        return digests_send(now=moment)


def digests_to(user) -> list[EmailMessage]:
    return list(EmailMessage.objects.filter(recipient=user).order_by("id"))


@pytest.fixture
def queue(csm):
    return QueueFactory(name="Onboarding", members=[csm])


@pytest.fixture
def nina(db):
    user = UserFactory(username="nina", first_name="Nina", role="CSM")
    ProfileFactory(user=user, timezone="America/New_York")
    return user


def test_digest_lists_overdue_due_today_and_later_this_week(csm, queue):
    ProfileFactory(user=csm, timezone="Europe/Berlin")
    TaskFactory(title="Overdue check-in", queue=queue, assignee=csm, due_at=utc(10, day=20))
    TaskFactory(title="Kickoff call today", queue=queue, assignee=csm, due_at=utc(15))
    TaskFactory(title="Survey follow-up Friday", queue=queue, assignee=csm, due_at=utc(9, day=27))
    TaskFactory(title="Next week's QBR", queue=queue, assignee=csm, due_at=utc(9, day=30))
    done = TaskFactory(title="Done already", queue=queue, assignee=csm, due_at=utc(15))
    task_complete(task=done, actor=csm)

    assert send(utc(7, 0)) == 1  # 08:00 in Berlin

    [email] = digests_to(csm)
    assert email.subject == (
        "Your tasks for Tue 24 Nov 2026: 1 overdue, 1 due today, 1 later this week"
    )
    text = email.body_text
    assert text.index("Overdue (1)") < text.index("Overdue check-in")
    assert text.index("Due today (1)") < text.index("Kickoff call today")
    assert text.index("Later this week (1)") < text.index("Survey follow-up Friday")
    # Due times are in Carla's zone.
    assert "- Kickoff call today, due Tue 24 Nov 2026, 16:00 (Europe/Berlin)" in text
    assert "Next week's QBR" not in text
    assert "Done already" not in text
    assert "Survey follow-up Friday" in email.body_html


def test_digest_comes_at_eight_local_time_for_people_in_two_zones(csm, nina, queue):
    ProfileFactory(user=csm, timezone="Europe/Berlin")
    TaskFactory(queue=queue, assignee=csm, due_at=utc(16))
    TaskFactory(queue=queue, assignee=nina, due_at=utc(20))

    assert send(utc(6, 55)) == 0  # 07:55 in Berlin
    assert send(utc(7, 0)) == 1  # 08:00 in Berlin, 02:00 in New York
    assert (len(digests_to(csm)), len(digests_to(nina))) == (1, 0)

    assert send(utc(13, 0)) == 1  # 08:00 in New York
    assert (len(digests_to(csm)), len(digests_to(nina))) == (1, 1)


def test_not_twice_the_same_day_but_again_the_next(csm, queue):
    TaskFactory(queue=queue, assignee=csm, due_at=utc(10, day=20))

    assert send(utc(8, 0)) == 1
    assert send(utc(8, 5)) == 0
    assert send(utc(23, 55)) == 0
    assert send(utc(8, 0, day=25)) == 1
    assert len(digests_to(csm)) == 2


def test_no_digest_when_there_is_nothing_to_list(csm, queue):
    TaskFactory(queue=queue, assignee=csm, due_at=utc(9, day=30))  # next week
    TaskFactory(queue=queue, assignee=csm, due_at=None)

    assert send(utc(8, 0)) == 0
    assert not EmailMessage.objects.exists()


def test_no_digest_while_out_of_office(csm, queue):
    ProfileFactory(user=csm, out_of_office_from=TUESDAY, out_of_office_until=TUESDAY)
    TaskFactory(queue=queue, assignee=csm, due_at=utc(15))

    assert send(utc(8, 0)) == 0
    assert send(utc(8, 0, day=25)) == 1  # back on Wednesday


def test_no_digest_when_switched_off(csm, queue):
    ProfileFactory(user=csm, digest_time=None)
    TaskFactory(queue=queue, assignee=csm, due_at=utc(15))

    assert send(utc(8, 0)) == 0


def test_a_later_digest_time_is_respected(csm, queue):
    ProfileFactory(user=csm, digest_time=dt.time(17, 30))
    TaskFactory(queue=queue, assignee=csm, due_at=utc(10, day=20))

    assert send(utc(17, 25)) == 0
    assert send(utc(17, 30)) == 1


def test_snoozed_tasks_are_left_out(csm, queue):
    TaskFactory(queue=queue, assignee=csm, due_at=utc(15), snoozed_until=utc(12))

    assert send(utc(8, 0)) == 0
    assert send(utc(12, 0)) == 1


def test_beat_runs_the_digest_job_every_five_minutes(csm, queue, settings):
    from apps.notifications import tasks  # noqa: F401  (as the worker's autodiscovery does)
    from config.celery import app

    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "notifications.send_digests"
    ]
    TaskFactory(queue=queue, assignee=csm, due_at=utc(15))

    with clock.frozen(utc(8, 0)):
        assert app.tasks[entry["task"]]() == 1

    assert entry["schedule"] == 300
    assert len(digests_to(csm)) == 1
