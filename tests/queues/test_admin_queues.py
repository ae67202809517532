"""Queues and tasks in Django admin: the assignment and SLA settings, the task's activity."""

import pytest

from apps.queues.models import Queue, Task, TaskActivity
from apps.queues.services import task_claim, task_create
from tests.factories import QueueFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_configures_a_queues_assignment_and_sla(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/queues/queue/add/",
        {
            "name": "Escalations",
            "slug": "escalations",
            "team": "Support",
            "assignment_strategy": "least_open",
            "sla_hours": "4",
            "raise_priority_on_breach": "on",
            "timezone": "Europe/Berlin",
            "country": "DE",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    queue = Queue.objects.get(slug="escalations")
    assert (queue.assignment_strategy, queue.sla_hours, queue.raise_priority_on_breach) == (
        "least_open",
        4,
        True,
    )
    assert (queue.timezone, queue.country) == ("Europe/Berlin", "DE")


def test_a_bad_time_zone_is_refused_next_to_the_field(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/queues/queue/add/",
        {"name": "X", "slug": "x", "assignment_strategy": "unassigned", "timezone": "Mars/Base"},
    )

    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors


def test_the_task_page_shows_its_activity(client, admin_user, csm):
    queue = QueueFactory(name="Onboarding", members=[csm])
    task = task_create(queue=queue, title="Kickoff call", actor=admin_user)
    task_claim(task=task, actor=csm)
    client.force_login(admin_user)

    page = client.get(f"/admin/queues/task/{task.pk}/change/").content.decode()

    assert "Claimed by" in page
    assert "Created by" in page


def test_reassigning_in_admin_goes_through_the_service(client, admin_user, csm):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    queue = QueueFactory(name="Onboarding", members=[csm, rita])
    task = task_create(queue=queue, title="Kickoff call", assignee=csm)
    client.force_login(admin_user)
    form = {
        "title": task.title,
        "body": "",
        "kind": task.kind,
        "queue": queue.pk,
        "priority": task.priority,
        "assignee": rita.pk,
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": str(task.activities.count()),
        "activities-MIN_NUM_FORMS": "0",
        "activities-MAX_NUM_FORMS": "0",
    }

    response = client.post(f"/admin/queues/task/{task.pk}/change/", form)

    assert response.status_code == 302
    task = Task.objects.get(pk=task.pk)
    assert task.assignee == rita
    assert task.assignment_reason.startswith("Assigned to Rita Jones by")
    assert TaskActivity.objects.filter(task=task, kind="assigned").count() == 2
