"""The queue view's SLA and completion filters, which the team dashboard's figures link
to: SLA breached or met, completed by someone, completed in an ISO week (the viewer's
time zone)."""

import pytest

from apps.core import clock
from apps.core.models import Profile
from tests.queues.sla_and_completion import NOW, sla_and_completion_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(cs_manager):
    return sla_and_completion_tasks(cs_manager)


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
