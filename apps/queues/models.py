import datetime as dt

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.core.validators import validate_country, validate_timezone
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.engine.models import StepRun

# Business hours of a team's working calendar, in the queue's time zone (Mon–Fri).
BUSINESS_DAY_START = dt.time(9, 0)
BUSINESS_DAY_END = dt.time(17, 0)

# Task kinds that cannot be completed without one of these outcomes.
CALL_OUTCOMES = {"reached": "Reached", "no_answer": "No answer", "rescheduled": "Rescheduled"}
OUTCOMES_BY_KIND: dict[str, dict[str, str]] = {
    "call": CALL_OUTCOMES,
    "onboarding_kickoff": CALL_OUTCOMES,
    "check_in": CALL_OUTCOMES,
    "handoff_call": CALL_OUTCOMES,
}


class Queue(TimeStampedModel):
    """A team's shared list of work, e.g. "Onboarding"."""

    class Strategy(models.TextChoices):
        ACCOUNT_CSM = "account_csm", "The account's CSM"
        DEAL_OWNER = "deal_owner", "The deal owner"
        ROUND_ROBIN = "round_robin", "Round-robin among members"
        LEAST_OPEN = "least_open", "Member with the least open work"
        UNASSIGNED = "unassigned", "Nobody (members claim tasks)"

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
    assignment_strategy = models.CharField(
        max_length=20,
        choices=Strategy.choices,
        default=Strategy.UNASSIGNED,
        help_text="Who gets a new task when neither the task nor its playbook step says.",
    )
    sla_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Business hours to finish a task (09:00–17:00 Mon–Fri, no public "
        "holidays); empty means no SLA.",
    )
    raise_priority_on_breach = models.BooleanField(
        default=False, help_text="Raise a task's priority by one level when its SLA is breached."
    )
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="The team's time zone (IANA name) for business hours.",
    )
    country = models.CharField(
        max_length=2,
        default="US",
        validators=[validate_country],
        help_text="Whose public holidays the team does not work (ISO 3166 alpha-2).",
    )
    # The id of the member who got the last round-robin task; the next one goes to the
    # member after them, so joining or leaving the queue does not reset the rotation.
    round_robin_cursor = models.PositiveBigIntegerField(default=0, editable=False)

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
    skipped_reason = models.TextField(blank=True)
    sla_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the SLA is breached (business hours)."
    )
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(
        null=True, blank=True, help_text="Hidden from work lists until then."
    )

    class Meta:
        ordering = ["priority", "due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_idx"),
            models.Index(fields=["queue", "status", "due_at"], name="task_queue_idx"),
            # Lists show open work by priority then due time: these let a page be read in
            # order and stop after it, instead of sorting every open task of a queue.
            models.Index(
                fields=["queue", "priority", "due_at", "id"],
                name="task_open_queue_order_idx",
                condition=models.Q(status__in=["open", "in_progress"]),
            ),
            models.Index(
                fields=["priority", "due_at", "id"],
                name="task_open_order_idx",
                condition=models.Q(status__in=["open", "in_progress"]),
            ),
            # The account page: its open tasks by urgency, its done tasks latest first,
            # read a page at a time however many tasks the account has.
            models.Index(
                fields=["account", "priority", "due_at", "id"],
                name="task_account_open_idx",
                condition=models.Q(status__in=["open", "in_progress"]),
            ),
            models.Index(fields=["account", "-completed_at", "-id"], name="task_account_done_idx"),
            # Done work by week (the team dashboard's SLA compliance and tasks done, the
            # queue statistics' done this week) reads recent completions only.
            models.Index(
                fields=["completed_at"],
                name="task_done_idx",
                condition=models.Q(status="done"),
            ),
            # The SLA check reads only open tasks that have not been marked breached yet.
            models.Index(
                fields=["sla_due_at"],
                name="task_sla_pending_idx",
                condition=models.Q(
                    status__in=["open", "in_progress"], sla_breached_at__isnull=True
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def outcome_choices(self) -> list[tuple[str, str]]:
        """The outcomes this task's kind requires on completion; empty if it needs none."""
        return list(OUTCOMES_BY_KIND.get(self.kind, {}).items())

    def is_snoozed(self, now: dt.datetime) -> bool:
        return self.snoozed_until is not None and self.snoozed_until > now

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


class TaskActivity(models.Model):
    """The task's audit trail and its comments: who did what, when, and why."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        ASSIGNED = "assigned", "Assigned"
        CLAIMED = "claimed", "Claimed"
        STARTED = "started", "Started"
        COMPLETED = "completed", "Completed"
        SKIPPED = "skipped", "Skipped"
        SNOOZED = "snoozed", "Snoozed"
        CANCELLED = "cancelled", "Cancelled"
        COMMENTED = "commented", "Commented"
        SLA_BREACHED = "sla_breached", "SLA breached"
        PRIORITY_RAISED = "priority_raised", "Priority raised"
        EDITED = "edited", "Edited"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField(blank=True, help_text="The comment, or why it happened.")
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "task activities"
        indexes = [models.Index(fields=["task", "created_at"], name="taskactivity_task_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on task {self.task_id}"
