"""An explainable account health score: weighted factors configured in admin
(``HealthFactor``), the band thresholds (``HealthSettings``), each account's latest score
with every factor's value and contribution (``AccountHealth``), and one snapshot per
account and day (``HealthSnapshot``) for the history chart."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core import clock
from apps.customers.models import Account


class Band(models.TextChoices):
    GREEN = "green", "Green"
    YELLOW = "yellow", "Yellow"
    RED = "red", "Red"
    # No factor had data (or every factor with data weighs 0): no score, said so.
    UNKNOWN = "unknown", "Not enough data"


class FactorKey(models.TextChoices):
    NPS = "nps", "Latest NPS answer"
    OVERDUE_TASKS = "overdue_tasks", "Overdue tasks"
    ONBOARDING = "onboarding", "Onboarding progress against plan"
    USAGE = "usage", "Usage utilisation"
    LAST_TOUCH = "last_touch", "Days since the last touch"
    ESCALATIONS = "escalations", "Open escalations"


class HealthFactor(models.Model):
    """One input of the score. Its raw value (a count, a number of days, a percentage)
    becomes 0–100 points on a straight line: 100 at ``full_at``, 0 at ``zero_at``, and
    clamped beyond them (``full_at`` may be above or below ``zero_at``). The latest NPS
    answer is scored by its band instead: promoter 100, passive ``passive_points``,
    detractor 0."""

    key = models.CharField(max_length=20, choices=FactorKey.choices, unique=True)
    label = models.CharField(max_length=100, help_text="As shown on the account page.")
    weight = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="How much it counts against the other factors; 0 leaves it out.",
    )
    full_at = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The raw value worth 100 points (or better). Not used by NPS.",
    )
    zero_at = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The raw value worth 0 points (or worse). Not used by NPS.",
    )
    passive_points = models.PositiveSmallIntegerField(
        default=50,
        validators=[MaxValueValidator(100)],
        help_text="NPS only: the points of a passive answer (7–8); promoters get 100, "
        "detractors 0.",
    )
    queue_slug = models.SlugField(
        max_length=100,
        blank=True,
        help_text="Open escalations only: the queue whose open tasks are escalations.",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class HealthSettings(models.Model):
    """The band thresholds (one row): green from ``green_at``, yellow from
    ``yellow_at``, red below."""

    green_at = models.PositiveSmallIntegerField(
        default=70, validators=[MaxValueValidator(100)], help_text="Green from this score."
    )
    yellow_at = models.PositiveSmallIntegerField(
        default=40,
        validators=[MaxValueValidator(100)],
        help_text="Yellow from this score (below it: red).",
    )

    class Meta:
        verbose_name = verbose_name_plural = "health thresholds"

    def __str__(self) -> str:
        return f"Green ≥ {self.green_at}, yellow ≥ {self.yellow_at}, else red"

    @classmethod
    def current(cls) -> "HealthSettings":
        return cls.objects.order_by("pk").first() or cls()

    def band_of(self, score: int | None) -> str:
        if score is None:
            return Band.UNKNOWN
        if score >= self.green_at:
            return Band.GREEN
        return Band.YELLOW if score >= self.yellow_at else Band.RED


class AccountHealth(models.Model):
    """The account's latest score, with what made it: ``factors`` is a list, one entry
    per configured factor, of {key, label, has_data, raw, value, points, weight,
    share, contribution, why} (see ``scoring.FactorResult``)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="health")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=10, choices=Band.choices)
    factors = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = verbose_name_plural = "account health"
        indexes = [models.Index(fields=["band", "score"], name="accounthealth_band_idx")]

    def __str__(self) -> str:
        return f"{self.account}: {self.score} ({self.band})"


class HealthSnapshot(models.Model):
    """An account's score on one day, for the history chart; the nightly job writes it
    (again on the same day: the same row)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_snapshots")
    date = models.DateField()
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    band = models.CharField(max_length=10, choices=Band.choices)

    class Meta:
        ordering = ["account", "date"]
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="one_health_snapshot_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.account} on {self.date}: {self.score} ({self.band})"
