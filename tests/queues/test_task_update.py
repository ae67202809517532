"""Editing a task's details: only what changed is saved, a new assignee is handed the task
like any reassignment, and a refusal names the field and saves nothing, in admin too."""

import pytest

from apps.core.errors import NotPermitted, ValidationFailed
from apps.core.models import DomainEvent
from apps.queues.models import Task, TaskActivity
from apps.queues.services import task_complete, task_create, task_update
from tests.factories import QueueFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kickoff(csm, cs_manager):
    queue = QueueFactory(name="Onboarding", members=[csm], manager=cs_manager)
    return task_create(queue=queue, title="Kickoff call", assignee=csm)


def test_editing_details_saves_what_changed_and_keeps_the_rest(kickoff, cs_manager):
    task_update(task=kickoff, actor=cs_manager, title="Kickoff call (moved)", priority=1)

    task = Task.objects.get(pk=kickoff.pk)
    assert (task.title, task.priority, task.assignee, task.status) == (
        "Kickoff call (moved)",
        1,
        kickoff.assignee,
        Task.Status.OPEN,
    )


def test_a_blank_title_is_refused_naming_the_field_and_nothing_is_saved(kickoff, cs_manager):
    with pytest.raises(ValidationFailed) as refused:
        task_update(task=kickoff, actor=cs_manager, title="", priority=1)

    assert list(refused.value.errors) == ["title"]
    assert Task.objects.get(pk=kickoff.pk).priority == Task.Priority.P3


def test_a_new_assignee_is_handed_the_task_like_any_reassignment(kickoff, cs_manager):
    rita = UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")
    kickoff.queue.members.add(rita)

    task_update(task=kickoff, actor=cs_manager, assignee=rita, reason="Carla is travelling.")

    task = Task.objects.get(pk=kickoff.pk)
    assert task.assignee == rita
    assert task.assignment_reason.endswith(": Carla is travelling.")
    assert DomainEvent.objects.filter(name="task.assigned", payload__assignee_id=rita.pk).exists()


def test_handing_a_task_to_someone_outside_its_queue_is_refused_and_saves_nothing(
    kickoff, cs_manager, rep
):
    with pytest.raises(ValidationFailed) as refused:
        task_update(task=kickoff, actor=cs_manager, title="Renamed", assignee=rep)

    assert list(refused.value.errors) == ["assignee"]
    task = Task.objects.get(pk=kickoff.pk)
    assert (task.title, task.assignee) == ("Kickoff call", kickoff.assignee)


def test_someone_without_task_permissions_may_not_edit_a_task(kickoff, outsider):
    with pytest.raises(NotPermitted):
        task_update(task=kickoff, actor=outsider, title="Mine now")

    assert Task.objects.get(pk=kickoff.pk).title == "Kickoff call"


def admin_form(task, **changes):
    return {
        "title": task.title,
        "body": task.body,
        "kind": task.kind,
        "queue": task.queue_id,
        "priority": task.priority,
        "assignee": task.assignee_id or "",
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": str(task.activities.count()),
        "activities-MIN_NUM_FORMS": "0",
        "activities-MAX_NUM_FORMS": "0",
        **changes,
    }


def test_admin_edits_go_through_the_service(client, admin_user, kickoff):
    client.force_login(admin_user)

    response = client.post(
        f"/admin/queues/task/{kickoff.pk}/change/", admin_form(kickoff, priority=1)
    )

    assert response.status_code == 302
    assert Task.objects.get(pk=kickoff.pk).priority == 1


def test_admin_shows_a_refusal_next_to_the_field_and_saves_nothing(
    client, admin_user, kickoff, rep
):
    client.force_login(admin_user)

    response = client.post(
        f"/admin/queues/task/{kickoff.pk}/change/",
        admin_form(kickoff, title="Renamed", assignee=rep.pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not work the Onboarding queue" in errors["assignee"][0]
    task = Task.objects.get(pk=kickoff.pk)
    assert (task.title, task.assignee) == ("Kickoff call", kickoff.assignee)
    assert TaskActivity.objects.filter(task=task, kind="assigned").count() == 1  # at creation


def test_admin_cannot_hand_on_a_finished_task(client, admin_user, kickoff, csm):
    task_complete(task=kickoff, actor=csm)
    rita = UserFactory(username="rita", role="CSM")
    kickoff.queue.members.add(rita)
    client.force_login(admin_user)

    response = client.post(
        f"/admin/queues/task/{kickoff.pk}/change/", admin_form(kickoff, assignee=rita.pk)
    )

    assert response.status_code == 200
    assert "already done" in str(response.context["adminform"].form.non_field_errors())
    assert Task.objects.get(pk=kickoff.pk).assignee == kickoff.assignee
