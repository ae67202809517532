from celery import shared_task

from apps.webhooks import services


@shared_task(name="webhooks.deliver")
def deliver(delivery_id: int) -> str:
    """POST one webhook delivery (a duplicate message finds it claimed or delivered)."""
    return services.delivery_deliver(delivery_id=delivery_id)


@shared_task(name="webhooks.deliver_due")
def deliver_due() -> int:
    """Periodic: retries that are due and deliveries whose message was lost."""
    return services.deliveries_send_due()
