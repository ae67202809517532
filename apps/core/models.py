from django.conf import settings
from django.db import models

from apps.core import clock


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DomainEvent(models.Model):
    """The outbox: a fact that happened, written in the transaction that made it happen.

    After commit a Celery message asks a worker to process it; the periodic sweep picks up
    any event whose message never arrived. ``processed_at`` is set in the same transaction
    as the handlers' effects, so an event is processed once in effect.
    """

    name = models.CharField(max_length=64, db_index=True)
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.BigIntegerField()
    payload = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(default=clock.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(
                fields=["occurred_at"],
                name="event_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="event_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.aggregate_type} {self.aggregate_id})"
