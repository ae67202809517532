"""The queue view's SLA and completion filters, which the team dashboard's figures link
to: SLA breached or met, completed by someone, completed in an ISO week (the viewer's
time zone)."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.models import Profile
from apps.queues.models import Task
from tests.factories import QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)  # Wednesday of ISO week 47
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def tasks(cs_manager):
    carla = UserFactory(username="carla", role="CSM")
    chris = UserFactory(username="chris", role="CSM")
    queue = QueueFactory(name="Onboarding", members=[carla, chris], manager=cs_manager)

    def task(title, **kwargs):
        return TaskFactory(queue=queue, title=title, **kwargs)

    task("Open, past its SLA", assignee=carla, sla_due_at=NOW - HOUR)
    task("Open, within its SLA", assignee=carla, sla_due_at=NOW + HOUR)
    task("Marked breached", assignee=carla, sla_due_at=NOW + HOUR, sla_breached_at=NOW - HOUR)
    done = Task.Status.DONE
    monday = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)
    task(
        "Done late", status=done, completed_by=chris, completed_at=monday, sla_due_at=monday - HOUR
    )
    task(
        "Done in time",
        status=done,
        completed_by=chris,
        completed_at=monday,
        sla_due_at=monday + HOUR,
    )
    task("Done by Carla", status=done, completed_by=carla, completed_at=monday)
    task("Done last week", status=done, completed_by=chris, completed_at=monday - 7 * 24 * HOUR)
    # Sunday 23:30 UTC is already Monday of week 47 in Berlin.
    task(
        "Done late Sunday",
        status=done,
        completed_by=chris,
        completed_at=dt.datetime(2026, 11, 15, 23, 30, tzinfo=dt.UTC),
    )
    return carla, chris


def titles(client, user, **params):
    client.force_login(user)
    with clock.frozen(NOW):
        response = client.get("/tasks/", {"snoozed": "include", **params})
    assert response.status_code == 200
    return sorted(row.task.title for row in response.context["rows"])


def test_sla_breached_and_met(client, cs_manager, tasks):
    assert titles(client, cs_manager, sla="breached", status="all") == [
        "Done late",
        "Marked breached",
        "Open, past its SLA",
    ]
    assert titles(client, cs_manager, sla="met", status="all") == [
        "Done in time",
        "Open, within its SLA",
    ]
    assert titles(client, cs_manager, sla="breached") == ["Marked breached", "Open, past its SLA"]


def test_completed_by_someone_in_a_week(client, cs_manager, tasks):
    _carla, chris = tasks
    assert titles(
        client, cs_manager, status="done", completed_by=chris.pk, completed_week="2026-W47"
    ) == [
        "Done in time",
        "Done late",
    ]
    assert titles(
        client, cs_manager, status="done", completed_by=chris.pk, completed_week="2026-W46"
    ) == [
        "Done last week",
        "Done late Sunday",
    ]
    Profile.objects.update_or_create(user=cs_manager, defaults={"timezone": "Europe/Berlin"})
    assert "Done late Sunday" in titles(
        client, cs_manager, status="done", completed_by=chris.pk, completed_week="2026-W47"
    )


def test_a_malformed_week_or_sla_is_dropped_like_any_stale_filter(client, cs_manager, tasks):
    everything = titles(client, cs_manager, status="done")
    assert titles(client, cs_manager, status="done", completed_week="2026-W60") == everything
    assert titles(client, cs_manager, status="done", completed_week="last week") == everything
    assert titles(client, cs_manager, status="done", sla="sometimes") == everything
