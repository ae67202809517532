from django.conf import settings
from django.db import models

from apps.core import clock
from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.engine.models import StepRun


class Notification(models.Model):
    """An in-app message to one person: a task assigned, a reminder from a playbook."""

    class Reason(models.TextChoices):
        TASK_ASSIGNED = "task_assigned", "Task assigned"
        TASK_DUE_SOON = "task_due_soon", "Task due soon"
        TASK_OVERDUE = "task_overdue", "Task overdue"
        SLA_BREACHED = "sla_breached", "SLA breached"
        HANDOFF_REMINDER = "handoff_reminder", "Hand-off reminder"
        PLAYBOOK_REMINDER = "playbook_reminder", "Playbook reminder"
        REFERRAL_RECEIVED = "referral_received", "Referral received"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where the notification leads.")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    step_run = models.ForeignKey(
        StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    dedupe_key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="One notification per key, e.g. one reminder per task per reason.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The unread badge and the "unread" list: only unread rows are indexed.
            models.Index(
                fields=["recipient", "created_at"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailMessage(models.Model):
    """The outbox for every outgoing email: a row first, sent by a delivery task after
    commit, retried with backoff by the periodic sweep."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, retry scheduled"
        DEAD = "dead", "Dead"
        WITHDRAWN = "withdrawn", "Withdrawn"

    to_email = models.EmailField()
    to_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        default=clock.now, help_text="When the sweep next tries to deliver it."
    )
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    withdrawn_reason = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    idempotency_key = models.CharField(max_length=200, unique=True)
    step_run = models.ForeignKey(
        StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails_received",
        help_text="The user it goes to, for emails to staff.",
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="emails_received",
        help_text="The customer contact it goes to; an unsubscribe stops it before sending.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="email_sweep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email} ({self.status})"


class SilencedNotice(models.Model):
    """A notice that was due but that none of the person's channels delivers (switched
    off, or email only without an address). Recorded so that it is decided once: periodic
    reminders do not pick the same task up again on every run."""

    dedupe_key = models.CharField(max_length=200, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    def __str__(self) -> str:
        return self.dedupe_key
