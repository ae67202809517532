from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.engine.models import StepRun


class Queue(TimeStampedModel):
    """A team's shared list of work, e.g. "Onboarding"."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    team = models.CharField(max_length=100, blank=True)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_queues",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="task_queues"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Task(ConcurrentTransitionMixin, TimeStampedModel):
    """Human work in a queue, often created by a playbook step."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.IntegerChoices):
        P1 = 1, "P1 - urgent"
        P2 = 2, "P2 - high"
        P3 = 3, "P3 - normal"
        P4 = 4, "P4 - low"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    kind = models.CharField(max_length=50, default="general")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="tasks")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    step_run = models.OneToOneField(
        StepRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task",
        help_text="The playbook step that created this task (one task per step run).",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    assignment_reason = models.CharField(max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    due_at = models.DateTimeField(null=True, blank=True)
    status = FSMField(default=Status.OPEN, choices=Status.choices, protected=True)
    outcome = models.CharField(max_length=50, blank=True)
    outcome_notes = models.TextField(blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["priority", "due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_idx"),
            models.Index(fields=["queue", "status", "due_at"], name="task_queue_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @transition(field=status, source=Status.OPEN, target=Status.IN_PROGRESS)
    def start(self) -> None:
        pass

    @transition(field=status, source=list(OPEN_STATUSES), target=Status.DONE)
    def complete(self) -> None:
        self.completed_at = clock.now()

    @transition(field=status, source=list(OPEN_STATUSES), target=Status.SKIPPED)
    def skip(self) -> None:
        self.completed_at = clock.now()

    @transition(field=status, source=list(OPEN_STATUSES), target=Status.CANCELLED)
    def cancel(self) -> None:
        pass
