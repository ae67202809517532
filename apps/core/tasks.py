from celery import shared_task

from apps.core import events, outbox


@shared_task(name="core.process_event")
def process_event(event_id: int) -> None:
    """Run the handlers of one outbox event (a duplicate message finds it processed)."""
    events.event_process(event_id=event_id)


@shared_task(name="core.sweep_events")
def sweep_events() -> int:
    """Periodic: process events whose message never arrived or whose handlers failed."""
    return events.events_sweep()


@shared_task(name="core.drain")
def drain() -> dict[str, int]:
    """Do the work that is due in the database (events, step runs) until none is left."""
    return outbox.drain()
