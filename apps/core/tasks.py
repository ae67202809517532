from celery import shared_task

from apps.core import events


@shared_task(name="core.process_event")
def process_event(event_id: int) -> None:
    """Run the handlers of one outbox event (a duplicate message finds it processed)."""
    events.event_process(event_id=event_id)


@shared_task(name="core.sweep_events")
def sweep_events() -> int:
    """Periodic: process events whose message never arrived or whose handlers failed."""
    return events.events_sweep()
