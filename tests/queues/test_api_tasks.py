import datetime as dt

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.core import clock
from apps.queues.models import Task
from apps.queues.services import task_cancel
from tests.factories import (
    AccountFactory,
    DealFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(t["title"] for t in response.json()["results"])


@pytest.fixture
def two_teams(csm, cs_manager):
    """Carla (a CSM) is in the onboarding team; the renewals team is someone else's.
    Mona (a CS manager) manages both."""
    renewals_csm = UserFactory(username="rita", role="CSM")
    onboarding = QueueFactory(name="Onboarding", members=[csm], manager=cs_manager)
    renewals = QueueFactory(name="Renewals", members=[renewals_csm], manager=cs_manager)
    TaskFactory(title="Onboarding kickoff", queue=onboarding)
    TaskFactory(title="Carla's renewal call", queue=renewals, assignee=csm)
    TaskFactory(title="Rita's renewal call", queue=renewals, assignee=renewals_csm)
    return onboarding, renewals


def test_csm_sees_own_tasks_and_tasks_in_own_queues_only(csm, two_teams):
    response = client_for(csm).get("/api/tasks/")

    assert titles(response) == ["Carla's renewal call", "Onboarding kickoff"]


def test_csm_cannot_open_another_teams_task(csm, two_teams):
    other = Task.objects.get(title="Rita's renewal call")

    response = client_for(csm).get(f"/api/tasks/{other.pk}/")

    assert response.status_code == 404


def test_csm_opens_a_task_in_own_queue(csm, two_teams):
    task = Task.objects.get(title="Onboarding kickoff")

    response = client_for(csm).get(f"/api/tasks/{task.pk}/")

    assert response.status_code == 200
    assert (response.json()["title"], response.json()["queue_slug"]) == (
        "Onboarding kickoff",
        "onboarding",
    )


@pytest.mark.parametrize("manager_fixture", ["cs_manager", "admin_user"])
def test_the_teams_manager_and_admins_see_every_task(request, manager_fixture, two_teams):
    manager = request.getfixturevalue(manager_fixture)

    response = client_for(manager).get("/api/tasks/")

    assert titles(response) == [
        "Carla's renewal call",
        "Onboarding kickoff",
        "Rita's renewal call",
    ]


def test_rep_sees_only_tasks_assigned_to_them(rep, two_teams):
    onboarding, _ = two_teams
    TaskFactory(title="Hand-off call", queue=onboarding, assignee=rep)

    assert titles(client_for(rep).get("/api/tasks/")) == ["Hand-off call"]


def test_mine_lists_only_my_tasks(csm, two_teams):
    assert titles(client_for(csm).get("/api/tasks/", {"mine": "true"})) == ["Carla's renewal call"]


def test_queue_filter_takes_a_slug_or_an_id(cs_manager, two_teams):
    _, renewals = two_teams
    client = client_for(cs_manager)

    assert titles(client.get("/api/tasks/", {"queue": "onboarding"})) == ["Onboarding kickoff"]
    assert titles(client.get("/api/tasks/", {"queue": renewals.pk})) == [
        "Carla's renewal call",
        "Rita's renewal call",
    ]


def test_status_and_priority_filters(cs_manager, two_teams):
    onboarding, _ = two_teams
    urgent = TaskFactory(title="Escalation", queue=onboarding, priority=Task.Priority.P1)
    task_cancel(task=TaskFactory(title="Obsolete", queue=onboarding), reason="Deal reopened")
    client = client_for(cs_manager)

    assert titles(client.get("/api/tasks/", {"status": "cancelled"})) == ["Obsolete"]
    assert titles(client.get("/api/tasks/", {"priority": 1})) == [urgent.title]
    assert "Obsolete" not in titles(client.get("/api/tasks/", {"status": ["open", "in_progress"]}))


def test_user_without_task_permission_is_refused(outsider, two_teams):
    onboarding, _ = two_teams
    TaskFactory(title="Assigned to otto anyway", queue=onboarding, assignee=outsider)

    response = client_for(outsider).get("/api/tasks/")

    assert response.status_code == 403
    assert "results" not in response.json()


def test_anonymous_is_refused(two_teams):
    assert APIClient().get("/api/tasks/").status_code == 401


def test_tasks_are_read_only(cs_manager, two_teams):
    task = Task.objects.get(title="Onboarding kickoff")

    response = client_for(cs_manager).patch(
        f"/api/tasks/{task.pk}/", {"title": "Renamed"}, format="json"
    )

    assert response.status_code == 405
    assert Task.objects.get(pk=task.pk).title == "Onboarding kickoff"


EVERY_FILTER = {
    "due": "week",
    "assignee": "me",
    "sla": "met",
    "completed_by": "me",
    "completed_week": "2026-W48",
}


@pytest.mark.parametrize(
    "filters",
    [
        {"due": "week", "assignee": "me"},
        {"sla": "met", "completed_by": "me", "completed_week": "2026-W48"},
        EVERY_FILTER,
    ],
    ids=["due-and-assignee", "sla-and-completion", "every-filter"],
)
def test_list_runs_a_fixed_number_of_queries(csm, django_assert_max_num_queries, filters):
    onboarding = QueueFactory(name="Onboarding", members=[csm])
    for _ in range(30):
        account = AccountFactory()
        TaskFactory(
            queue=onboarding,
            assignee=csm,
            account=account,
            deal=DealFactory(account=account),
            status=Task.Status.DONE,
            completed_by=csm,
            completed_at=MONDAY,
            due_at=MONDAY,
            sla_due_at=MONDAY + dt.timedelta(hours=1),
        )
    query_counts = []
    for page_size in (5, 30):
        # A fresh user object per request, as each real request loads one (no warm caches).
        client = client_for(User.objects.get(pk=csm.pk))
        with clock.frozen(MONDAY), django_assert_max_num_queries(6) as captured:
            response = client.get("/api/tasks/", {"page_size": page_size, **filters})
        query_counts.append(len(captured.captured_queries))

    assert query_counts[0] == query_counts[1]
    rows = response.json()["results"]
    assert len(rows) == 30
    assert all(r["queue_name"] and r["account_name"] and r["deal_name"] for r in rows)
    assert all(r["assignee_username"] == "carla" for r in rows)


def test_assignee_filter_takes_me_none_or_an_id(cs_manager, csm, two_teams):
    client = client_for(cs_manager)
    rita = User.objects.get(username="rita")

    assert titles(client.get("/api/tasks/", {"assignee": "none"})) == ["Onboarding kickoff"]
    assert titles(client.get("/api/tasks/", {"assignee": rita.pk})) == ["Rita's renewal call"]
    assert titles(client_for(csm).get("/api/tasks/", {"assignee": "me"})) == [
        "Carla's renewal call"
    ]


def test_search_kind_and_account_filters(cs_manager, two_teams):
    onboarding, _ = two_teams
    globex = AccountFactory(name="Globex")
    TaskFactory(title="QBR", queue=onboarding, kind="check_in", account=globex)
    client = client_for(cs_manager)

    assert titles(client.get("/api/tasks/", {"search": "globex"})) == ["QBR"]
    assert titles(client.get("/api/tasks/", {"kind": "check_in"})) == ["QBR"]
    assert titles(client.get("/api/tasks/", {"account": globex.pk})) == ["QBR"]


def test_bad_filter_values_are_a_400_keyed_by_filter(cs_manager, two_teams):
    response = client_for(cs_manager).get(
        "/api/tasks/", {"due": "someday", "assignee": "bob", "status": "lost", "priority": 9}
    )

    assert response.status_code == 400
    assert set(response.json()) == {"due", "assignee", "status", "priority"}


def test_the_list_is_sorted_by_priority_then_due_date(cs_manager, two_teams):
    onboarding, _ = two_teams
    Task.objects.all().delete()
    now = MONDAY
    TaskFactory(title="P3 soon", queue=onboarding, due_at=now)
    TaskFactory(title="P3 no date", queue=onboarding)
    TaskFactory(title="P1 later", queue=onboarding, priority=1, due_at=now + dt.timedelta(days=3))
    TaskFactory(title="P3 later", queue=onboarding, due_at=now + dt.timedelta(days=1))

    response = client_for(cs_manager).get("/api/tasks/")

    assert [t["title"] for t in response.json()["results"]] == [
        "P1 later",
        "P3 soon",
        "P3 later",
        "P3 no date",
    ]
