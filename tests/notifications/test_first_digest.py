"""A person's first digest goes at their next digest time (08:00 by default, in their
zone), not at the next beat after they join or after the demo is seeded."""

import datetime as dt
import zoneinfo
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from apps.core import clock
from apps.core.models import Profile
from apps.notifications.models import EmailMessage
from apps.notifications.reminders import digests_send
from tests.factories import ProfileFactory, QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


def send(moment: dt.datetime) -> int:
    with clock.frozen(moment):
        return digests_send(now=moment)


def test_someone_who_joins_mid_afternoon_gets_the_first_digest_at_eight_next_morning():
    joined = local(24, 14, 0)
    with clock.frozen(joined):
        dana = UserFactory(username="dana", role="CSM", date_joined=joined)
        ProfileFactory(user=dana, timezone="America/Chicago")
        TaskFactory(queue=QueueFactory(members=[dana]), assignee=dana, due_at=local(24, 17, 0))

    assert send(local(24, 14, 5)) == 0
    assert send(local(24, 20, 0)) == 0
    assert send(local(25, 7, 55)) == 0
    assert send(local(25, 8, 0)) == 1
    [email] = EmailMessage.objects.filter(recipient=dana)
    assert email.subject.startswith("Your tasks for Wed 25 Nov 2026:")


def test_after_seeding_the_demo_at_two_pm_the_first_digest_goes_at_eight_next_morning(
    settings,
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with clock.frozen(local(24, 14, 0)):
        call_command("seed_demo", stdout=StringIO())
    carla = User.objects.get(username="carla.csm")
    assert Profile.objects.get(user=carla).timezone == "America/Chicago"
    TaskFactory(queue=QueueFactory(members=[carla]), assignee=carla, due_at=local(24, 17, 0))
    digests = EmailMessage.objects.filter(recipient=carla, subject__startswith="Your tasks")

    send(local(24, 14, 5))
    send(local(25, 7, 55))
    assert not digests.exists()

    send(local(25, 8, 0))
    assert digests.count() == 1
