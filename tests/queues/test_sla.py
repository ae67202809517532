"""SLA deadlines in the team's business hours, and breaches marked once."""

import datetime as dt
import zoneinfo

import pytest

from apps.core import clock
from apps.core.models import DomainEvent
from apps.engine.models import CompanyHoliday
from apps.queues.models import Task, TaskActivity
from apps.queues.selectors import sla_state
from apps.queues.services import task_complete, task_create, tasks_check_slas
from tests.factories import QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(tz, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def created_at(moment: dt.datetime, queue, **fields) -> Task:
    with clock.frozen(moment):
        return task_create(queue=queue, title="Reply to the customer", **fields)


@pytest.fixture
def berlin_team():
    return QueueFactory(name="Support DE", timezone="Europe/Berlin", country="DE", sla_hours=4)


def test_the_sla_clock_stops_over_the_weekend(berlin_team):
    task = created_at(at(BERLIN, 2026, 11, 27, 15, 0), berlin_team)  # Friday 15:00

    # Two hours on Friday, two on Monday morning.
    assert task.sla_due_at == at(BERLIN, 2026, 11, 30, 11, 0)


def test_the_sla_clock_skips_public_holidays(berlin_team):
    task = created_at(at(BERLIN, 2026, 12, 24, 16, 0), berlin_team)  # Thursday 24 Dec

    # One hour on Christmas Eve; Christmas Day (Friday) and the weekend are off.
    assert task.sla_due_at == at(BERLIN, 2026, 12, 28, 12, 0)


def test_the_sla_uses_the_teams_country_and_time_zone():
    us_team = QueueFactory(name="Support US", timezone="America/New_York", country="US")

    # Wednesday 16:00 in New York; Thanksgiving is on Thursday 26 Nov 2026.
    task = created_at(at(NEW_YORK, 2026, 11, 25, 16, 0), us_team, sla_hours=4)

    assert task.sla_due_at == at(NEW_YORK, 2026, 11, 27, 12, 0)


def test_company_holidays_count_too(berlin_team):
    CompanyHoliday.objects.create(date=dt.date(2026, 11, 30), name="Offsite", countries=["DE"])

    task = created_at(at(BERLIN, 2026, 11, 27, 15, 0), berlin_team)

    assert task.sla_due_at == at(BERLIN, 2026, 12, 1, 11, 0)


def test_work_created_at_night_starts_at_nine(berlin_team):
    task = created_at(at(BERLIN, 2026, 11, 24, 6, 30), berlin_team)

    assert task.sla_due_at == at(BERLIN, 2026, 11, 24, 13, 0)


def test_a_queue_without_an_sla_gives_none():
    task = created_at(at(BERLIN, 2026, 11, 24, 10, 0), QueueFactory(name="Ideas"))

    assert task.sla_due_at is None
    assert sla_state(task, at(BERLIN, 2026, 12, 24, 10, 0)) == "none"


def test_sla_state_moves_from_on_track_to_due_soon_to_breached(berlin_team, admin_user):
    task = created_at(at(BERLIN, 2026, 11, 24, 9, 0), berlin_team)  # due 13:00

    assert sla_state(task, at(BERLIN, 2026, 11, 24, 10, 0)) == "on_track"
    assert sla_state(task, at(BERLIN, 2026, 11, 24, 12, 15)) == "due_soon"
    assert sla_state(task, at(BERLIN, 2026, 11, 24, 13, 0)) == "breached"
    task_complete(task=task, actor=admin_user)
    assert sla_state(task, at(BERLIN, 2026, 11, 24, 14, 0)) == "none"


def test_a_breach_is_marked_once_and_raises_priority_once(cs_manager, csm):
    queue = QueueFactory(
        name="Escalations",
        timezone="Europe/Berlin",
        country="DE",
        sla_hours=2,
        raise_priority_on_breach=True,
        manager=cs_manager,
        members=[csm],
    )
    late = created_at(at(BERLIN, 2026, 11, 24, 9, 0), queue, assignee=csm)
    in_time = created_at(at(BERLIN, 2026, 11, 24, 10, 30), queue)
    done = created_at(at(BERLIN, 2026, 11, 24, 9, 0), queue)
    task_complete(task=done, actor=cs_manager)

    with clock.frozen(at(BERLIN, 2026, 11, 24, 11, 30)):
        assert tasks_check_slas() == 1
        assert tasks_check_slas() == 0  # the second run finds nothing new

    late.refresh_from_db()
    assert late.sla_breached_at == at(BERLIN, 2026, 11, 24, 11, 30)
    assert late.priority == Task.Priority.P2  # from P3, once
    assert Task.objects.get(pk=in_time.pk).sla_breached_at is None
    assert Task.objects.get(pk=done.pk).sla_breached_at is None
    assert list(
        TaskActivity.objects.filter(task=late, kind__in=["sla_breached", "priority_raised"])
        .order_by("id")
        .values_list("kind", "message")
    ) == [
        ("sla_breached", "SLA deadline 2026-11-24 10:00 UTC passed."),
        ("priority_raised", "Priority raised from P3 to P2 on the SLA breach."),
    ]
    event = DomainEvent.objects.get(name="task.sla_breached")
    assert event.payload == {
        "task_id": late.pk,
        "assignee_id": csm.pk,
        "manager_id": cs_manager.pk,
        "queue_id": queue.pk,
        "priority": 2,
        "priority_raised": True,
    }


def test_priority_stays_when_the_queue_does_not_ask_and_p1_stays_p1(berlin_team):
    plain = TaskFactory(queue=berlin_team, sla_due_at=at(BERLIN, 2026, 11, 24, 9, 0))
    berlin_team.raise_priority_on_breach = True
    berlin_team.save()
    urgent = TaskFactory(
        queue=berlin_team, priority=Task.Priority.P1, sla_due_at=at(BERLIN, 2026, 11, 24, 9, 0)
    )
    berlin_team.raise_priority_on_breach = False
    berlin_team.save()

    with clock.frozen(at(BERLIN, 2026, 11, 24, 12, 0)):
        assert tasks_check_slas() == 2

    assert Task.objects.get(pk=plain.pk).priority == Task.Priority.P3
    assert Task.objects.get(pk=urgent.pk).priority == Task.Priority.P1


def test_the_periodic_job_is_scheduled():
    from django.conf import settings

    from apps.queues.tasks import check_slas

    assert check_slas.name == "queues.check_slas"
    assert any(
        entry["task"] == "queues.check_slas" for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )
