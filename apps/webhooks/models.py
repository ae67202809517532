"""Outbound webhooks: who wants which events where, and every delivery and attempt."""

from django.conf import settings
from django.db import models

from apps.core import clock
from apps.core.models import DomainEvent


class WebhookSubscription(models.Model):
    """An integrator's endpoint and the event types it receives, signed with its secret
    the Standard Webhooks way. The secret is shown once, when it is made."""

    name = models.CharField(max_length=200, help_text="What receives these events.")
    url = models.URLField(
        max_length=2000, help_text="An http(s) address on the internet; it receives a POST."
    )
    event_types = models.JSONField(default=list, help_text="The event names it receives.")
    secret = models.CharField(max_length=200, editable=False)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Failed attempts since the last delivered one."
    )
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One message to one subscription: the body is fixed when the event is processed,
    so every retry sends the same bytes with the same ``webhook-id``."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed, will retry"
        DEAD = "dead", "Failed, gave up"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # None for a test event.
    event = models.ForeignKey(
        DomainEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_type = models.CharField(max_length=100)
    message_id = models.CharField(max_length=64, unique=True)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event processed twice makes one delivery per subscription.
            models.UniqueConstraint(
                fields=["subscription", "event"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status__in=["pending", "sending", "failed"]),
                name="webhook_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back: the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="log")
    attempted_at = models.DateTimeField(default=clock.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code}"
