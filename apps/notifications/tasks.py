from celery import shared_task

from apps.core import clock
from apps.notifications import reminders, services


@shared_task(name="notifications.deliver_email")
def deliver_email(email_id: int) -> str:
    """Send one outbox email (a duplicate message finds it claimed or sent)."""
    return services.email_deliver(email_id=email_id)


@shared_task(name="notifications.deliver_due_emails")
def deliver_due_emails() -> int:
    """Periodic: retry failed emails when due and deliver those whose message was lost."""
    return services.emails_deliver_due()


@shared_task(name="notifications.send_task_reminders")
def send_task_reminders() -> int:
    """Periodic: the due-soon and overdue reminders due now, each sent once."""
    return reminders.task_reminders_send(now=clock.now())


@shared_task(name="notifications.send_digests")
def send_digests() -> int:
    """Periodic: the daily digest of everyone whose digest time has come today."""
    return reminders.digests_send(now=clock.now())
