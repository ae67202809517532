import pytest
from rest_framework.test import APIClient

from apps.queues.services import task_cancel
from tests.factories import QueueFactory, TaskFactory

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_queues_list_counts_open_tasks_only(csm):
    onboarding = QueueFactory(name="Onboarding", members=[csm])
    QueueFactory(name="Renewals", members=[csm])
    QueueFactory(name="Expansion")  # not Carla's: not listed
    TaskFactory(queue=onboarding)
    TaskFactory(queue=onboarding)
    task_cancel(task=TaskFactory(queue=onboarding), reason="Deal reopened")

    response = client_for(csm).get("/api/queues/")

    assert response.status_code == 200
    assert [(q["slug"], q["open_task_count"]) for q in response.json()["results"]] == [
        ("onboarding", 2),
        ("renewals", 0),
    ]


def test_rep_without_queue_permission_cannot_list_queues(rep):
    QueueFactory(name="Onboarding")
    assert client_for(rep).get("/api/queues/").status_code == 403
