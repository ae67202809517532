"""Queue statistics: open, overdue, breached and done this week, per queue and per person."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.core import clock
from apps.queues.services import task_complete
from tests.factories import QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

# Wednesday 25 Nov 2026, noon UTC; the week started on Monday 23 Nov.
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def team(csm, cs_manager):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    onboarding = QueueFactory(name="Onboarding", members=[csm, rita], manager=cs_manager)
    renewals = QueueFactory(name="Renewals", manager=UserFactory(username="max", role="CS Manager"))
    TaskFactory(queue=onboarding, assignee=csm, due_at=NOW - HOUR)  # overdue
    TaskFactory(queue=onboarding, assignee=csm, due_at=NOW + HOUR, sla_due_at=NOW - HOUR)
    TaskFactory(queue=onboarding, assignee=rita, due_at=NOW + HOUR)
    TaskFactory(queue=onboarding)  # unassigned
    with clock.frozen(NOW - dt.timedelta(days=1)):
        task_complete(task=TaskFactory(queue=onboarding, assignee=rita), actor=rita)
    with clock.frozen(NOW - dt.timedelta(days=5)):  # last week
        task_complete(task=TaskFactory(queue=onboarding, assignee=rita), actor=rita)
    TaskFactory(queue=renewals, due_at=NOW - HOUR)
    return onboarding, renewals, rita


def counts(row) -> tuple[int, int, int, int]:
    return (row["open"], row["overdue"], row["breached"], row["done_this_week"])


def test_the_manager_sees_their_queue_and_its_people(cs_manager, csm, team):
    with clock.frozen(NOW):
        response = client_for(cs_manager).get("/api/queues/stats/")

    assert response.status_code == 200
    body = response.json()
    assert [(q["slug"], counts(q)) for q in body["queues"]] == [("onboarding", (4, 1, 1, 1))]
    people = {p["username"]: counts(p) for p in body["people"]}
    assert people == {"carla": (2, 1, 1, 0), "rita": (1, 0, 0, 1)}


def test_an_admin_sees_every_queue(admin_user, team):
    with clock.frozen(NOW):
        body = client_for(admin_user).get("/api/queues/stats/").json()

    assert [(q["slug"], counts(q)) for q in body["queues"]] == [
        ("onboarding", (4, 1, 1, 1)),
        ("referrals", (0, 0, 0, 0)),  # created by the growth migrations
        ("renewals", (1, 1, 0, 0)),
    ]


def test_a_rep_gets_no_queue_statistics(rep, team):
    assert client_for(rep).get("/api/queues/stats/").status_code == 403


def test_a_csm_sees_the_queues_they_belong_to(csm, team):
    with clock.frozen(NOW):
        body = client_for(csm).get("/api/queues/stats/").json()

    assert [q["slug"] for q in body["queues"]] == ["onboarding"]
    assert {p["username"] for p in body["people"]} == {"carla", "rita"}
