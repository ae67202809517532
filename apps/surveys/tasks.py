from celery import shared_task

from apps.core import clock
from apps.surveys.services import invitations_remind_due


@shared_task(name="surveys.send_reminders")
def send_reminders() -> int:
    """Periodic: the one reminder of each unanswered survey whose delay has passed."""
    return invitations_remind_due(now=clock.now())
