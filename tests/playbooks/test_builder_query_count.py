"""The playbook's admin page reads as many queries for sixteen steps as for three: the
queues, surveys, people and products its fields offer are read once, not per step."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core import step_kinds
from apps.playbooks.models import Playbook, PlaybookStep
from tests.factories import ProductFactory, QueueFactory, UserFactory

pytestmark = pytest.mark.django_db

STORED = {
    "task": {"queue": "onboarding", "title": "Kickoff", "assign_to": "account_csm"},
    "survey": {"survey": "nps", "to": "primary_contact"},
    "wait": {"until_event": "survey.answered", "for_step": "step-0"},
}


def playbook_with(count: int) -> Playbook:
    """A playbook whose steps go round a survey, a wait for its answer, a task and then
    every other registered kind, settings stored or not."""
    playbook = Playbook.objects.create(name=f"{count} steps")
    kinds = ["survey", "wait", "task"]
    kinds += [kind.name for kind in step_kinds.all_kinds() if kind.name not in kinds]
    for number in range(count):
        kind = kinds[number % len(kinds)]
        PlaybookStep.objects.create(
            playbook=playbook,
            key=f"step-{number}",
            name=f"Step {number}",
            kind=kind,
            position=number,
            config=STORED.get(kind, {}),
        )
    return playbook


def queries(client, playbook: Playbook) -> int:
    url = reverse("admin:playbooks_playbook_change", args=[playbook.pk])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_change_page_reads_as_many_queries_for_16_steps_as_for_3(client, admin_user):
    QueueFactory(slug="onboarding")
    QueueFactory(slug="escalations")
    UserFactory(is_staff=True)  # offered as "one person" to assign tasks to
    ProductFactory()
    few, many = playbook_with(3), playbook_with(16)
    assert len({step.kind for step in many.steps.all()}) == len(step_kinds.all_kinds())
    client.force_login(admin_user)
    client.get(reverse("admin:playbooks_playbook_change", args=[few.pk]))  # warm caches

    three = queries(client, few)
    sixteen = queries(client, many)

    assert sixteen == three
    assert three <= 16
