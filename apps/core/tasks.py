from celery import shared_task

from apps.core import events, outbox
from apps.core.login_throttle import login_records_prune


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


@shared_task(name="core.prune_login_records")
def prune_login_records() -> dict[str, int]:
    """Periodic: drop expired failed-login attempts and old login logs."""
    return login_records_prune()
