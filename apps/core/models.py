import datetime

from django.conf import settings
from django.db import models

from apps.core import clock
from apps.core.validators import validate_timezone


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
            # The drain's claim walks it in id order and stops at a batch. A plain index
            # scan marks the entries of processed events dead as it passes them, so a
            # claim stays cheap between vacuums; the former (occurred_at) index was read
            # whole, as a bitmap, dead entries and all, and a claim grew with the table.
            models.Index(
                fields=["id"],
                name="event_unprocessed_idx",
                condition=models.Q(processed_at__isnull=True),
            ),
            models.Index(fields=["aggregate_type", "aggregate_id"], name="event_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.aggregate_type} {self.aggregate_id})"


class Profile(models.Model):
    """How a person works: their time zone and hours, absences and capacity.

    Assignment passes over people who are out of office (to their backup) or at capacity;
    reminders and the daily digest use their time zone, hours and digest time.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="IANA name"
    )
    work_start = models.TimeField(default=datetime.time(9, 0))
    work_end = models.TimeField(default=datetime.time(17, 0))
    out_of_office_from = models.DateField(null=True, blank=True)
    out_of_office_until = models.DateField(null=True, blank=True)
    backup = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backup_for",
        help_text="Gets this person's new work while they are out of office.",
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most open tasks at once; empty means no limit."
    )
    digest_time = models.TimeField(
        null=True,
        blank=True,
        default=datetime.time(8, 0),
        help_text="Local time of the daily digest email; empty means no digest.",
    )
    channels = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per notification reason, e.g. {"task_assigned": ["in_app", "email"]}.',
    )

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    def is_out_of_office(self, day: datetime.date) -> bool:
        start, end = self.out_of_office_from, self.out_of_office_until
        return bool(start and start <= day and (end is None or day <= end))
