"""The task actions over the API: who may do what (404, 403), conflicts (409), bad input (400)."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.core import clock
from apps.queues.models import Task, TaskActivity
from apps.queues.services import task_claim
from tests.factories import QueueFactory, TaskFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def post(user, task, action, data=None):
    return client_for(user).post(f"/api/tasks/{task.pk}/{action}/", data or {}, format="json")


@pytest.fixture
def rita(db):
    return UserFactory(username="rita", first_name="Rita", last_name="Jones", role="CSM")


@pytest.fixture
def onboarding(csm, rita, cs_manager):
    return QueueFactory(name="Onboarding", members=[csm, rita], manager=cs_manager)


@pytest.fixture
def renewals(db):
    return QueueFactory(name="Renewals", members=[UserFactory(username="rob", role="CSM")])


# Seeing -----------------------------------------------------------------------------------


def test_a_csm_gets_404_for_another_queues_task_whatever_the_action(csm, renewals):
    task = TaskFactory(queue=renewals)

    assert client_for(csm).get(f"/api/tasks/{task.pk}/").status_code == 404
    for action in ("claim", "complete", "snooze", "cancel", "comments"):
        assert post(csm, task, action).status_code == 404, action
    assert Task.objects.get(pk=task.pk).assignee is None


def test_a_cs_manager_sees_only_the_queues_they_run(cs_manager, onboarding, renewals):
    TaskFactory(title="Onboarding work", queue=onboarding)
    other = TaskFactory(title="Renewals work", queue=renewals)

    response = client_for(cs_manager).get("/api/tasks/")

    assert [t["title"] for t in response.json()["results"]] == ["Onboarding work"]
    assert client_for(cs_manager).get(f"/api/tasks/{other.pk}/").status_code == 404


def test_the_detail_shows_outcome_choices_and_the_activity(csm, onboarding):
    task = TaskFactory(queue=onboarding, kind="call")
    task_claim(task=task, actor=csm)

    body = client_for(csm).get(f"/api/tasks/{task.pk}/").json()

    assert [c["value"] for c in body["outcome_choices"]] == ["reached", "no_answer", "rescheduled"]
    assert [(a["kind"], a["actor_username"]) for a in body["activities"]] == [("claimed", "carla")]
    assert body["sla_state"] == "none"


# Claiming and assigning ---------------------------------------------------------------------


def test_claim_then_a_second_claim_is_a_409_naming_the_owner(csm, rita, onboarding):
    task = TaskFactory(queue=onboarding)

    first = post(csm, task, "claim")
    second = post(rita, task, "claim")

    assert (first.status_code, first.json()["assignee_username"]) == (200, "carla")
    assert second.status_code == 409
    assert second.json()["detail"] == f"This task is already claimed by {csm.get_full_name()}."
    assert Task.objects.get(pk=task.pk).assignee == csm


def test_a_rep_cannot_claim_queue_work(rep, onboarding):
    task = TaskFactory(queue=onboarding)
    own = TaskFactory(queue=onboarding, assignee=rep)

    assert post(rep, task, "claim").status_code == 403
    assert post(rep, own, "assign", {"assignee": None}).status_code == 403
    assert Task.objects.get(pk=task.pk).assignee is None


def test_a_rep_completes_their_own_reminder(rep, onboarding):
    own = TaskFactory(queue=onboarding, assignee=rep, kind="handoff_call")

    response = post(rep, own, "complete", {"outcome": "reached", "notes": "Intro done"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"


def test_the_manager_assigns_and_a_csm_cannot_take_a_colleagues_task(
    csm, rita, cs_manager, onboarding
):
    task = TaskFactory(queue=onboarding, assignee=rita)

    assert post(csm, task, "assign", {"assignee": csm.pk}).status_code == 403
    response = post(cs_manager, task, "assign", {"assignee": csm.pk, "reason": "Rita is out"})

    assert response.status_code == 200
    assert response.json()["assignee_username"] == "carla"
    assert response.json()["assignment_reason"].endswith(": Rita is out")


def test_assigning_to_someone_outside_the_queue_is_a_400_on_assignee(cs_manager, onboarding):
    task = TaskFactory(queue=onboarding)
    stranger = UserFactory(username="stan", role="CSM")

    response = post(cs_manager, task, "assign", {"assignee": stranger.pk})
    unknown = post(cs_manager, task, "assign", {"assignee": 999_999})

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
    assert unknown.status_code == 400 and list(unknown.json()) == ["assignee"]


# Working -----------------------------------------------------------------------------------


def test_a_csm_cannot_complete_a_colleagues_task(csm, rita, onboarding):
    task = TaskFactory(queue=onboarding, assignee=rita)

    response = post(csm, task, "complete")

    assert response.status_code == 403
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_completing_a_call_without_an_outcome_is_a_400_on_outcome(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm, kind="call")

    response = post(csm, task, "complete", {"notes": "Spoke to Jo"})

    assert response.status_code == 400
    assert list(response.json()) == ["outcome"]
    assert post(csm, task, "complete", {"outcome": "reached"}).status_code == 200
    assert post(csm, task, "complete", {"outcome": "reached"}).status_code == 409


def test_snooze_needs_a_future_time(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)

    with clock.frozen(NOW):
        past = post(csm, task, "snooze", {"until": "2026-11-22T10:00:00Z"})
        missing = post(csm, task, "snooze", {})
        ok = post(csm, task, "snooze", {"until": "2026-11-24T09:00:00Z"})

    assert (past.status_code, list(past.json())) == (400, ["until"])
    assert (missing.status_code, list(missing.json())) == (400, ["until"])
    assert ok.status_code == 200
    assert ok.json()["snoozed_until"] == "2026-11-24T09:00:00Z"


def test_cancel_needs_a_reason_and_a_second_cancel_is_a_409(csm, onboarding):
    task = TaskFactory(queue=onboarding, assignee=csm)

    assert list(post(csm, task, "cancel", {}).json()) == ["reason"]
    assert post(csm, task, "cancel", {"reason": "Duplicate"}).status_code == 200
    again = post(csm, task, "cancel", {"reason": "Duplicate"})

    assert again.status_code == 409
    assert again.json()["detail"] == "This task is already cancelled."


def test_skip_and_start(csm, onboarding):
    task = TaskFactory(queue=onboarding)

    started = post(csm, task, "start")
    skipped = post(csm, task, "skip", {"reason": "Customer did it"})

    assert (started.status_code, started.json()["status"]) == (200, "in_progress")
    assert (skipped.status_code, skipped.json()["skipped_reason"]) == (200, "Customer did it")


def test_comments_go_into_the_activity(csm, onboarding):
    task = TaskFactory(queue=onboarding)

    response = post(csm, task, "comments", {"body": "Waiting for their IT team"})
    empty = post(csm, task, "comments", {"body": ""})

    assert response.status_code == 201
    assert response.json()["kind"] == "commented"
    assert list(empty.json()) == ["body"]
    assert TaskActivity.objects.get(task=task).message == "Waiting for their IT team"


def test_someone_without_a_role_cannot_act_at_all(outsider, onboarding):
    task = TaskFactory(queue=onboarding, assignee=outsider)

    assert post(outsider, task, "complete").status_code == 403
    assert post(outsider, task, "claim").status_code == 403
