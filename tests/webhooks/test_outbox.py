"""Events become deliveries once per subscription that asked for them, in the
transaction that processes the event."""

import pytest

from apps.core.events import event_process
from apps.core.models import DomainEvent
from apps.webhooks.models import WebhookDelivery
from apps.webhooks.services import (
    deliveries_create_for_events,
    subscription_disable,
)
from tests.deals.test_close_won import close_won
from tests.factories import closable_deal

pytestmark = pytest.mark.django_db


def won_event(rep) -> DomainEvent:
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    return DomainEvent.objects.get(name="deal.closed_won", aggregate_id=deal.pk)


def test_an_event_is_delivered_to_each_subscription_that_chose_its_type(subscribe, receiver, rep):
    warehouse, _ = subscribe(receiver.url, ["deal.closed_won", "task.completed"])
    crm, _ = subscribe(receiver.url, ["deal.closed_won"], name="CRM")
    subscribe(receiver.url, ["survey.answered"], name="Survey tool")
    event = won_event(rep)

    assert event_process(event_id=event.pk)

    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.subscription_id for d in deliveries} == {warehouse.pk, crm.pk}
    assert len({d.message_id for d in deliveries}) == 2


def test_an_event_processed_twice_makes_its_deliveries_once(subscribe, receiver, rep):
    subscribe(receiver.url)
    event = won_event(rep)

    assert deliveries_create_for_events([event]) == 1
    assert deliveries_create_for_events([event]) == 0

    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_a_disabled_subscription_gets_no_new_deliveries(subscribe, receiver, rep):
    subscription, _ = subscribe(receiver.url)
    subscription_disable(subscription=subscription, reason="Receiver retired.")
    event = won_event(rep)

    assert event_process(event_id=event.pk)

    assert not WebhookDelivery.objects.exists()


def test_no_subscription_means_no_delivery_and_the_event_is_still_processed(rep):
    event = won_event(rep)

    assert event_process(event_id=event.pk)

    assert not WebhookDelivery.objects.exists()
    event.refresh_from_db()
    assert event.processed_at is not None


def test_events_nobody_subscribed_to_cost_the_workers_nothing(subscribe, receiver, rep):
    from apps.engine.execution import steps_drain
    from tests.engine.test_walking_skeleton import win_and_process
    from tests.factories import onboarding_playbook

    onboarding_playbook()
    win_and_process(closable_deal(owner=rep), rep)
    # Nobody listens to enrollment.started yet: written as a record, already processed.
    [quiet] = DomainEvent.objects.filter(name="enrollment.started")
    assert quiet.processed_at is not None

    subscription, _ = subscribe(receiver.url, ["enrollment.started", "enrollment.completed"])
    enrollment = win_and_process(closable_deal(owner=rep), rep)
    heard = DomainEvent.objects.get(name="enrollment.started", aggregate_id=enrollment.pk)
    assert heard.processed_at is None  # waits for the drain, which makes the delivery
    assert event_process(event_id=heard.pk)
    steps_drain()  # the only step: the enrollment completes
    completed = DomainEvent.objects.get(name="enrollment.completed", aggregate_id=enrollment.pk)
    assert event_process(event_id=completed.pk)

    assert list(
        WebhookDelivery.objects.filter(subscription=subscription)
        .order_by("id")
        .values_list("event_type", flat=True)
    ) == ["enrollment.started", "enrollment.completed"]
