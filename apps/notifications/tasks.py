from celery import shared_task

from apps.notifications import services


@shared_task(name="notifications.deliver_email")
def deliver_email(email_id: int) -> str:
    """Send one outbox email (a duplicate message finds it claimed or sent)."""
    return services.email_deliver(email_id=email_id)


@shared_task(name="notifications.deliver_due_emails")
def deliver_due_emails() -> int:
    """Periodic: retry failed emails when due and deliver those whose message was lost."""
    return services.emails_deliver_due()
