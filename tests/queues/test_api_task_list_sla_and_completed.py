"""The task API's SLA and completion filters, the same as the queue view's: SLA breached
or met, completed by someone (or me), completed in an ISO week (the asker's time zone);
a value the list cannot apply is a 400 naming the filter."""

import pytest
from rest_framework.test import APIClient

from apps.core import clock
from apps.core.models import Profile
from tests.factories import QueueFactory, UserFactory
from tests.queues.sla_and_completion import NOW, sla_and_completion_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(cs_manager):
    return sla_and_completion_tasks(cs_manager)


def get(user, **params):
    client = APIClient()
    client.force_authenticate(user=user)
    with clock.frozen(NOW):
        return client.get("/api/tasks/", {"page_size": 100, **params})


def titles(user, **params) -> list[str]:
    response = get(user, **params)
    assert response.status_code == 200, response.json()
    return sorted(row["title"] for row in response.json()["results"])


def test_sla_breached_takes_open_marked_and_finished_late_tasks(cs_manager, tasks):
    assert titles(cs_manager, sla="breached") == [
        "Done late",
        "Marked breached",
        "Open, past its SLA",
    ]
    assert titles(cs_manager, sla="breached", status="open") == [
        "Marked breached",
        "Open, past its SLA",
    ]


def test_sla_met_takes_tasks_with_an_sla_not_missed(cs_manager, tasks):
    assert titles(cs_manager, sla="met") == ["Done in time", "Open, within its SLA"]


def test_completed_by_takes_a_user_id_or_me(cs_manager, tasks):
    carla, chris = tasks

    assert titles(cs_manager, completed_by=carla.pk) == ["Done by Carla"]
    assert titles(carla, completed_by="me") == ["Done by Carla"]
    assert titles(chris, completed_by="me", completed_week="2026-W47") == [
        "Done in time",
        "Done late",
    ]


def test_completed_week_is_monday_to_sunday_in_the_askers_time_zone(cs_manager, tasks):
    _carla, chris = tasks

    assert titles(cs_manager, completed_by=chris.pk, completed_week="2026-W46") == [
        "Done last week",
        "Done late Sunday",
    ]
    Profile.objects.update_or_create(user=cs_manager, defaults={"timezone": "Europe/Berlin"})
    assert titles(cs_manager, completed_by=chris.pk, completed_week="2026-W47") == [
        "Done in time",
        "Done late",
        "Done late Sunday",
    ]


def test_the_new_filters_narrow_only_what_the_asker_may_see(tasks):
    carla, _chris = tasks
    outsider_csm = UserFactory(username="olga", role="CSM")
    QueueFactory(name="Renewals", members=[outsider_csm])

    assert titles(outsider_csm, sla="breached") == []
    assert titles(outsider_csm, completed_by=carla.pk) == []


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        ("sla", "sometimes", '"sometimes" is not a valid choice.'),
        ("sla", "due_soon", '"due_soon" is not a valid choice.'),
        ("completed_by", "bob", 'Use a user id or "me".'),
        ("completed_by", "0", 'Use a user id or "me".'),
        ("completed_by", "99999999999999999999", 'Use a user id or "me".'),
        ("completed_week", "last week", 'Use an ISO week such as "2026-W48".'),
        ("completed_week", "2026-W4", 'Use an ISO week such as "2026-W48".'),
        ("completed_week", "2026-W60", "2026-W60 is not a week of that year."),
        ("completed_week", "2025-W53", "2025-W53 is not a week of that year."),
    ],
)
def test_a_bad_value_is_a_400_naming_the_filter(cs_manager, tasks, param, value, message):
    response = get(cs_manager, **{param: value})

    assert response.status_code == 400
    assert response.json() == {param: [message]}


def test_every_bad_filter_is_named_at_once(cs_manager, tasks):
    response = get(cs_manager, sla="late", completed_by="me,you", completed_week="W47")

    assert response.status_code == 400
    assert set(response.json()) == {"sla", "completed_by", "completed_week"}
