from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.functional import cached_property

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.core.step_kinds import StepDefinition, conditions_from_json


class Playbook(TimeStampedModel):
    """What should happen after a trigger. Its steps here are the editable draft;
    publishing freezes them into a ``PlaybookVersion`` that enrollments pin."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # One of the registered triggers (apps.core.event_registry), checked on publish.
    trigger = models.CharField(max_length=64, default="deal.closed_won")
    filters = models.JSONField(
        default=dict,
        blank=True,
        help_text="Which deals enroll (deal kind, tier, country, amount…).",
    )
    cancel_on = models.JSONField(
        default=list,
        blank=True,
        help_text="Events that cancel a running enrollment; empty means every registered "
        "cancel event (deal reopened, deal closed lost, account churned…).",
    )

    class Policy(models.TextChoices):
        ONCE_PER_DEAL = "once_per_deal", "Once per deal"
        EVERY_TRIGGER = "every_trigger", "Every time the trigger happens"

    enrollment_policy = models.CharField(
        max_length=16, choices=Policy.choices, default=Policy.ONCE_PER_DEAL
    )
    account_cooldown_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Skip a deal whose account was enrolled in this playbook within this many days.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "PlaybookVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        permissions = [("publish_playbook", "Can publish playbook versions")]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    """A step of a playbook's draft. The engine never reads these; it reads versions."""

    class Start(models.TextChoices):
        ENROLLMENT = "enrollment", "At enrollment"
        AFTER_STEP = "after_step", "After another step completes"

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    key = models.SlugField(max_length=64, help_text="Stable identifier, unique in the playbook.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32)
    config = models.JSONField(default=dict, blank=True)
    start = models.CharField(max_length=16, choices=Start.choices, default=Start.ENROLLMENT)
    after_step = models.SlugField(
        max_length=64, blank=True, help_text="Key of the step to wait for."
    )
    delay_days = models.PositiveIntegerField(default=0)
    delay_hours = models.PositiveIntegerField(default=0, validators=[MinValueValidator(0)])
    business_days = models.BooleanField(
        default=False, help_text="Count the days as business days in the account's country."
    )
    at_time = models.TimeField(
        null=True, blank=True, help_text="Run at this time of day in the account's time zone."
    )
    window_start = models.TimeField(
        null=True, blank=True, help_text="Send window start (account's local time)."
    )
    window_end = models.TimeField(null=True, blank=True, help_text="Send window end.")
    repeat_every_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Repeat this step every N days (e.g. 90 for a QBR)."
    )
    repeat_max = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many occurrences in all."
    )
    conditions = models.JSONField(
        default=list,
        blank=True,
        help_text='Rules that must all hold, e.g. [{"field": "deal.amount", "op": ">=", '
        '"value": 10000}]; otherwise the step is skipped.',
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "key"], name="unique_step_key_per_playbook")
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"

    def as_definition(self) -> StepDefinition:
        return StepDefinition(
            key=self.key,
            name=self.name,
            kind=self.kind,
            config=self.config or {},
            start=self.start,
            after_step=self.after_step,
            delay_days=self.delay_days,
            delay_hours=self.delay_hours,
            business_days=self.business_days,
            at_time=self.at_time,
            window_start=self.window_start,
            window_end=self.window_end,
            repeat_every_days=self.repeat_every_days,
            repeat_max=self.repeat_max,
            **conditions_from_json(self.conditions),
        )

    def as_snapshot(self) -> dict:
        return self.as_definition().as_snapshot()


class PlaybookVersion(models.Model):
    """An immutable snapshot of a playbook, made by publishing."""

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=64)
    filters = models.JSONField(default=dict)
    cancel_on = models.JSONField(default=list)
    steps = models.JSONField(default=list)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["playbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.playbook.name} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Published playbook versions are immutable; publish a new one.")
        super().save(*args, **kwargs)

    @cached_property
    def definitions(self) -> tuple[StepDefinition, ...]:
        """The snapshot's steps, typed."""
        return tuple(StepDefinition.from_snapshot(step) for step in self.steps)

    def step(self, key: str) -> StepDefinition:
        for step in self.definitions:
            if step.key == key:
                return step
        raise KeyError(key)
