from django.conf import settings
from django.db import models

from apps.core import clock
from apps.core.models import DomainEvent, TimeStampedModel
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.playbooks.models import Playbook, PlaybookVersion


class Enrollment(TimeStampedModel):
    """An account running through one playbook version, with the deal it concerns: the
    triggering deal, or for an account event the account's latest won deal (or none).

    ``generation`` is a fence: cancelling or pausing bumps it, and a worker re-reads it
    under lock before writing effects, so a step claimed just before a cancellation
    writes nothing.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="enrollments")
    version = models.ForeignKey(
        PlaybookVersion, on_delete=models.PROTECT, related_name="enrollments"
    )
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.CASCADE, related_name="enrollments"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="enrollments")
    trigger_event = models.ForeignKey(
        DomainEvent, on_delete=models.PROTECT, related_name="enrollments"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    context = models.JSONField(default=dict, blank=True)
    generation = models.PositiveIntegerField(default=0)
    cancelled_reason = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the steps that start at enrollment are timed from, where that is not its
    # creation: a bulk enrollment spread over business days starts on a later day.
    timed_from = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "account", "trigger_event"],
                name="one_enrollment_per_trigger",
            )
        ]
        indexes = [models.Index(fields=["deal", "state"], name="enrollment_deal_state_idx")]

    def __str__(self) -> str:
        return f"{self.deal or self.account} in {self.version}"


class StepRun(models.Model):
    """One occurrence of a step for one enrollment: a row with ``due_at``, not a
    Celery countdown. The dispatcher claims due rows; a worker executes one."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed, retry scheduled"
        DEAD = "dead", "Dead"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.IntegerChoices):
        FIRST = 0, "An enrollment's first steps"
        SCHEDULED = 1, "Scheduled work"

    DUE_STATES = (State.PENDING, State.FAILED)
    FINISHED_STATES = (State.DONE, State.SKIPPED, State.DEAD, State.CANCELLED)

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="step_runs")
    step_key = models.SlugField(max_length=64)
    occurrence = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    # What the step's timing planned, before business days and the send window moved it;
    # repetitions count from it. ``moved_because`` says why ``due_at`` differs.
    planned_at = models.DateTimeField(null=True, blank=True)
    moved_because = models.CharField(max_length=200, blank=True)
    # Due work runs in (priority, due_at) order: a new enrollment's opening steps go
    # before older scheduled work, so a burst of closes shows first tasks first.
    priority = models.PositiveSmallIntegerField(
        choices=Priority.choices, default=Priority.SCHEDULED
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    generation = models.PositiveIntegerField(
        default=0, help_text="The enrollment generation this run was claimed under."
    )
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # "Run now": someone brought a scheduled step forward (trying a playbook, a customer
    # who asked early). When, who, and the time it was planned for.
    run_now_at = models.DateTimeField(null=True, blank=True)
    run_now_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    run_now_was_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step_key", "occurrence"], name="steprun_idempotency_key"
            )
        ]
        indexes = [
            # The dispatcher's scan: only due-able rows are indexed, so the index stays
            # small however many finished rows accumulate.
            models.Index(
                fields=["priority", "due_at", "id"],
                name="steprun_due_idx",
                condition=models.Q(state__in=["pending", "failed"]),
            ),
            models.Index(
                fields=["lease_until"],
                name="steprun_running_lease_idx",
                condition=models.Q(state="running"),
            ),
            models.Index(fields=["state", "due_at"], name="steprun_state_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.step_key}#{self.occurrence} ({self.state})"

    @property
    def idempotency_key(self) -> str:
        return f"{self.enrollment_id}:{self.step_key}:{self.occurrence}"


class CompanyHoliday(models.Model):
    """A day the company does not work (office closure, company-wide day off).

    Business-day offsets skip these as well as weekends and the account country's public
    holidays. Leave ``countries`` empty for a holiday everywhere.
    """

    date = models.DateField()
    name = models.CharField(max_length=100)
    countries = models.JSONField(
        default=list, blank=True, help_text='ISO codes, e.g. ["DE", "AT"]; empty means all.'
    )

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["date", "name"], name="unique_company_holiday")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class BulkEnrollment(models.Model):
    """One run of "enroll existing accounts": which accounts (a filter), into which
    playbook version, and how far it got.

    Every enrollment it makes has the run's own ``playbook.bulk_enrolled`` event as its
    trigger event, so the ``one_enrollment_per_trigger`` key makes a repeated chunk
    harmless; ``last_account_id`` is how far the run got (accounts are taken in id order),
    written in the same transaction as each chunk's enrollments.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    FINISHED_STATES = (State.DONE, State.FAILED)

    playbook = models.ForeignKey(
        Playbook, on_delete=models.PROTECT, related_name="bulk_enrollments"
    )
    version = models.ForeignKey(
        PlaybookVersion, on_delete=models.PROTECT, related_name="bulk_enrollments"
    )
    filters = models.JSONField(default=dict, blank=True)
    spread_business_days = models.PositiveSmallIntegerField(
        default=0, help_text="Start dates spread over this many business days; 0 starts all now."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_event = models.OneToOneField(
        DomainEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Accounts matching the filter.")
    enrolled = models.PositiveIntegerField(default=0)
    skipped_already_enrolled = models.PositiveIntegerField(default=0)
    skipped_cooldown = models.PositiveIntegerField(default=0)
    last_account_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Bulk enrollment #{self.pk} in {self.playbook}"

    @property
    def skipped(self) -> int:
        return self.skipped_already_enrolled + self.skipped_cooldown

    @property
    def processed(self) -> int:
        return self.enrolled + self.skipped

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE or not self.total:
            return 100 if self.state == self.State.DONE else 0
        return min(100, self.processed * 100 // self.total)

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES


class EnrollmentMove(models.Model):
    """One run of "move running enrollments to this version": which version they go to,
    from which (None: every other version of the playbook), how added and re-timed steps
    are scheduled, an optional canary size, and how far the run got.

    Enrollments are taken in id order; ``last_enrollment_id`` is the cursor, written in
    the transaction that moves each chunk, so a repeated message continues where the run
    stands. An enrollment already on the target version is left alone, which makes a
    second run change nothing.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class AddedSteps(models.TextChoices):
        FROM_START = "from_start", "As if there from the start: a time that has passed runs now"
        FROM_NOW = "from_now", "As if there from the start, or timed from now if that has passed"

    class RetimedSteps(models.TextChoices):
        RETIME = "retime", "Re-time what is still to run to the new timing"
        LEAVE = "leave", "Leave what is scheduled as it is"

    FINISHED_STATES = (State.DONE, State.FAILED)

    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="moves")
    to_version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="+")
    from_version = models.ForeignKey(
        PlaybookVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty: every other version of the playbook.",
    )
    added_steps = models.CharField(
        max_length=12, choices=AddedSteps.choices, default=AddedSteps.FROM_START
    )
    retimed_steps = models.CharField(
        max_length=8, choices=RetimedSteps.choices, default=RetimedSteps.RETIME
    )
    canary = models.PositiveIntegerField(
        null=True, blank=True, help_text="Move at most this many enrollments; empty moves all."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0, help_text="Enrollments to move.")
    moved = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(
        default=0, help_text="Already on the version, or finished before their turn."
    )
    last_enrollment_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Move #{self.pk} to {self.to_version}"

    @property
    def processed(self) -> int:
        return self.moved + self.failed + self.unchanged

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES


class EnrollmentVersionChange(models.Model):
    """The record of one enrollment moved to another version (or of a move that failed
    and left it where it was): who, when, from and to which version, and what happened to
    each step. Written once, never edited."""

    class Outcome(models.TextChoices):
        MOVED = "moved", "Moved"
        FAILED = "failed", "Failed, left on its version"

    move = models.ForeignKey(
        EnrollmentMove, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="version_changes"
    )
    from_version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(PlaybookVersion, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    steps = models.JSONField(
        default=list, blank=True, help_text="What happened to each step (kept, removed…)."
    )
    error = models.TextField(blank=True)
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moved_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-moved_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["move", "enrollment"],
                name="one_version_change_per_move",
            )
        ]

    def __str__(self) -> str:
        return f"Enrollment {self.enrollment_id}: {self.get_outcome_display().lower()}"
