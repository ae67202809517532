from celery import shared_task

from apps.integrations.models import InboundEvent
from apps.integrations.processing import events_process, events_process_due


@shared_task(name="integrations.process_delivery")
def process_delivery(delivery_id: int) -> int:
    """After a delivery commits: process its events, in the order the CRM sent them."""
    ids = list(
        InboundEvent.objects.filter(delivery_id=delivery_id)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    return events_process(event_ids=ids)


@shared_task(name="integrations.process_events")
def process_events(event_ids: list[int]) -> int:
    """Replayed events, and blocked ones a later delivery may have unblocked."""
    return events_process(event_ids=list(event_ids))


@shared_task(name="integrations.sweep")
def sweep() -> int:
    """Every minute: events whose message was lost, and failed ones due again."""
    return events_process_due()
