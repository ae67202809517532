import pytest
from rest_framework.test import APIClient

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


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def titles(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(t["title"] for t in response.json()["results"])


@pytest.fixture
def two_teams(csm):
    """Carla (a CSM) is in the onboarding team; the renewals team is someone else's."""
    renewals_csm = UserFactory(username="rita", role="CSM")
    onboarding = QueueFactory(name="Onboarding", members=[csm])
    renewals = QueueFactory(name="Renewals", members=[renewals_csm])
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
def test_managers_and_admins_see_every_task(request, manager_fixture, two_teams):
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
    assert APIClient().get("/api/tasks/").status_code in (401, 403)


def test_tasks_are_read_only(cs_manager, two_teams):
    task = Task.objects.get(title="Onboarding kickoff")

    response = client_for(cs_manager).patch(
        f"/api/tasks/{task.pk}/", {"title": "Renamed"}, format="json"
    )

    assert response.status_code == 405
    assert Task.objects.get(pk=task.pk).title == "Onboarding kickoff"


def test_list_runs_a_fixed_number_of_queries(csm, django_assert_max_num_queries):
    onboarding = QueueFactory(name="Onboarding", members=[csm])
    for _ in range(30):
        account = AccountFactory()
        TaskFactory(
            queue=onboarding, assignee=csm, account=account, deal=DealFactory(account=account)
        )
    client = client_for(csm)

    with django_assert_max_num_queries(6):
        response = client.get("/api/tasks/", {"page_size": 30})

    rows = response.json()["results"]
    assert len(rows) == 30
    assert all(r["queue_name"] and r["account_name"] and r["deal_name"] for r in rows)
    assert all(r["assignee_username"] == "carla" for r in rows)
