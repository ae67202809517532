"""``account.health_changed`` is a trigger: a playbook filtered on the band entered starts
when an account becomes red, and not when it becomes yellow."""

import pytest

from apps.core import outbox
from apps.engine.models import Enrollment
from apps.health.services import health_recompute
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from tests.health.conftest import customer, nps_answer, open_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalation_playbook():
    Queue.objects.get_or_create(slug="escalations", defaults={"name": "Escalations"})
    playbook = Playbook.objects.create(
        name="Red account escalation",
        trigger="account.health_changed",
        filters={"health_bands": ["red"]},
    )
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="call",
        name="Call the customer",
        kind="task",
        config={
            "queue": "escalations",
            "title": "{{ account.name }} became red",
            "assign_to": "account_csm",
            "priority": 1,
            "task_kind": "escalation",
        },
    )
    playbook_publish(playbook=playbook, actor=None)
    return playbook


def test_an_account_becoming_red_starts_the_playbook(now, escalation_playbook):
    red, yellow = customer(name="Redwood"), customer(name="Yellowstone")
    nps_answer(red, 1)
    for _ in range(5):
        open_task(red, due_in_days=-3)
    nps_answer(yellow, 8)
    open_task(yellow, due_in_days=-3)
    health_recompute(account_ids=[red.pk, yellow.pk])
    outbox.drain()

    enrolled = Enrollment.objects.filter(playbook=escalation_playbook)
    assert list(enrolled.values_list("account__name", flat=True)) == ["Redwood"]
    task = Task.objects.get(queue__slug="escalations")
    assert task.title == "Redwood became red"


def test_the_band_filter_is_offered_with_the_bands(escalation_playbook):
    from apps.core import event_registry

    trigger = event_registry.trigger("account.health_changed")
    (band_filter,) = trigger.payload_filters
    assert band_filter.payload_field == "band"
    assert {value for value, _ in band_filter.choices} >= {"green", "yellow", "red"}
