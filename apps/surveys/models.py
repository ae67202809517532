"""Feedback surveys: what is asked (``Survey``), whom it was put to (``Invitation``, also
when the contact policy held it back) and what they said (``Response``)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.customers.models import Account, Contact


class Kind(models.TextChoices):
    NPS = "nps", "NPS (0–10)"
    CSAT = "csat", "CSAT (1–5)"
    CES = "ces", "CES (1–7)"


# The scale of each kind, and where its bands start: (low, high, first "mid", first "high").
SCALES: dict[str, tuple[int, int, int, int]] = {
    Kind.NPS: (0, 10, 7, 9),
    Kind.CSAT: (1, 5, 3, 4),
    Kind.CES: (1, 7, 4, 6),
}
# Band names per kind: NPS speaks of detractors, passives and promoters.
BAND_NAMES: dict[str, tuple[str, str, str]] = {
    Kind.NPS: ("detractor", "passive", "promoter"),
    Kind.CSAT: ("low", "neutral", "high"),
    Kind.CES: ("low", "neutral", "high"),
}
BANDS = ("detractor", "passive", "promoter", "low", "neutral", "high")
# What the ends of each scale mean, in the email and on the answer page.
SCALE_LABELS: dict[str, tuple[str, str]] = {
    Kind.NPS: ("Not at all likely", "Extremely likely"),
    Kind.CSAT: ("Very dissatisfied", "Very satisfied"),
    Kind.CES: ("Very difficult", "Very easy"),
}


def band_of(kind: str, score: int) -> str:
    _, _, mid, high = SCALES[kind]
    low_name, mid_name, high_name = BAND_NAMES[kind]
    if score >= high:
        return high_name
    return mid_name if score >= mid else low_name


class Survey(TimeStampedModel):
    """The wording of one survey. Playbooks' ``survey`` steps name it by its slug."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    question = models.CharField(
        max_length=300,
        help_text="Shown in the email and on the page; {{ company }} is the customer's name.",
    )
    follow_up_low = models.CharField(
        max_length=300, default="What is the main reason for your score?"
    )
    follow_up_mid = models.CharField(max_length=300, default="What could we do better?")
    follow_up_high = models.CharField(max_length=300, default="What do you value most?")
    thanks_low = models.CharField(
        max_length=300, default="Thank you. Someone from our team will be in touch shortly."
    )
    thanks_mid = models.CharField(max_length=300, default="Thank you for your feedback.")
    thanks_high = models.CharField(max_length=300, default="Thank you, that means a lot to us!")
    expires_after_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    remind_after_days = models.PositiveSmallIntegerField(
        default=4,
        validators=[MaxValueValidator(365)],
        help_text="One reminder if unanswered after this many days; 0 sends none.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale(self) -> range:
        low, high, _, _ = SCALES[self.kind]
        return range(low, high + 1)

    def _by_band(self, band: str, low: str, mid: str, high: str) -> str:
        names = BAND_NAMES[self.kind]
        return {names[0]: low, names[1]: mid, names[2]: high}[band]

    def follow_up_for(self, band: str) -> str:
        return self._by_band(band, self.follow_up_low, self.follow_up_mid, self.follow_up_high)

    def thanks_for(self, band: str) -> str:
        return self._by_band(band, self.thanks_low, self.thanks_mid, self.thanks_high)


class ContactPolicy(models.Model):
    """How often customers may be asked, across every playbook (one row)."""

    contact_days = models.PositiveSmallIntegerField(
        default=90, help_text="At most one survey invitation per contact in this many days."
    )
    account_max = models.PositiveSmallIntegerField(
        default=3, help_text="At most this many invitations per account …"
    )
    account_days = models.PositiveSmallIntegerField(default=90, help_text="… in this many days.")
    quiet_during_escalation = models.BooleanField(
        default=True,
        help_text="No survey while the account has an open task in the escalation queue.",
    )
    escalation_queue = models.SlugField(
        default="escalations", help_text="The slug of the queue whose open tasks mean trouble."
    )

    class Meta:
        verbose_name = verbose_name_plural = "contact policy"

    def __str__(self) -> str:
        return "Contact policy"

    @classmethod
    def current(cls) -> "ContactPolicy":
        return cls.objects.order_by("pk").first() or cls()


class Invitation(models.Model):
    """A survey put to one contact by one step run: sent, or held back with the reason."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        SUPPRESSED = "suppressed", "Suppressed"
        ANSWERED = "answered", "Answered"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="invitations")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    step_run = models.ForeignKey(
        "engine.StepRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations",
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrollment_id = models.BigIntegerField(null=True, blank=True)
    step_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SENT)
    suppressed_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField()
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A step delivered twice invites nobody twice.
            models.UniqueConstraint(
                fields=["step_run", "contact"], name="one_invitation_per_step_run_and_contact"
            )
        ]
        indexes = [
            # The contact policy's look-backs.
            models.Index(fields=["contact", "status", "created_at"], name="invitation_contact_idx"),
            models.Index(fields=["account", "status", "created_at"], name="invitation_account_idx"),
            models.Index(
                fields=["status", "reminded_at", "created_at"], name="invitation_remind_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} to {self.contact}"


class Response(models.Model):
    """One answer to one invitation. Kept as given: staff add a follow-up, never edit it."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    score = models.SmallIntegerField()
    band = models.CharField(max_length=12)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(default=clock.now)
    # Copied from the invitation and its account so the Responses page and the metrics
    # filter and group on one table.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="responses")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    segment = models.CharField(max_length=64, blank=True)
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    follow_up_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["answered_at", "id"], name="response_answered_idx"),
            models.Index(fields=["kind", "answered_at"], name="response_kind_idx"),
            models.Index(fields=["band", "followed_up_at"], name="response_band_idx"),
            models.Index(fields=["account", "answered_at"], name="response_account_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__gte=0, score__lte=10), name="response_score_in_range"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score} from {self.account}"


# What a monthly count is kept per (and what the metrics can filter it on).
RESPONSE_MONTH_KEY = (
    "month",
    "kind",
    "band",
    "score",
    "segment",
    "csm_id",
    "playbook_id",
    "followed_up",
)
INVITATION_MONTH_KEY = ("month", "kind", "segment", "csm_id", "playbook_id", "suppressed")


class ResponseMonth(models.Model):
    """How many responses a month had for each combination of what the Responses page
    filters on: the metrics and counts read these few rows instead of every response.
    Kept by the services that write responses (``rollups.py``); 0 stands for "no CSM" and
    "no playbook" so that every key is comparable."""

    month = models.DateField()
    kind = models.CharField(max_length=10)
    band = models.CharField(max_length=12)
    score = models.SmallIntegerField()
    segment = models.CharField(max_length=64)
    csm_id = models.BigIntegerField()
    playbook_id = models.BigIntegerField()
    followed_up = models.BooleanField()
    responses = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=list(RESPONSE_MONTH_KEY), name="response_month_key")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind} {self.score}: {self.responses}"


class InvitationMonth(models.Model):
    """How many invitations were sent or held back in a month, by the same keys: the
    response rate's denominator and the suppression count, without reading invitations."""

    month = models.DateField()
    kind = models.CharField(max_length=10)
    segment = models.CharField(max_length=64)
    csm_id = models.BigIntegerField()
    playbook_id = models.BigIntegerField()
    suppressed = models.BooleanField()
    invitations = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=list(INVITATION_MONTH_KEY), name="invitation_month_key")
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind}: {self.invitations}"
