from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.core.validators import validate_currency
from apps.customers.models import Account, Contact, Product


class Stage(models.TextChoices):
    NEW = "new", "New"
    QUALIFIED = "qualified", "Qualified"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"


OPEN_STAGES = (Stage.NEW, Stage.QUALIFIED, Stage.PROPOSAL, Stage.NEGOTIATION)
CLOSED_STAGES = (Stage.CLOSED_WON, Stage.CLOSED_LOST)


def _open_except(stage: str) -> list[str]:
    return [s for s in OPEN_STAGES if s != stage]


class Reason(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WinReason(Reason):
    class Meta(Reason.Meta):
        pass


class LossReason(Reason):
    class Meta(Reason.Meta):
        pass


class Deal(ConcurrentTransitionMixin, TimeStampedModel):
    """A sales opportunity. ``stage`` changes only through the transitions below, which
    are called only from ``apps.deals.services``; the mixin makes a concurrent second
    transition from the same stage fail instead of writing twice."""

    class Kind(models.TextChoices):
        NEW_BUSINESS = "new_business", "New business"
        EXPANSION = "expansion", "Expansion"
        RENEWAL = "renewal", "Renewal"

    class Source(models.TextChoices):
        """Where the deal came from: the sales team, a customer's referral, or a
        playbook step that prompted it (the details are its origin, see ``origins``)."""

        SALES = "sales", "Sales"
        REFERRAL = "referral", "Referral"
        PLAYBOOK = "playbook", "Playbook prompt"

    name = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deals")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_deals",
        help_text="The sales rep responsible for the deal.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.NEW_BUSINESS)
    pipeline = models.CharField(max_length=64, default="sales")
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.SALES, editable=False
    )
    stage = FSMField(default=Stage.NEW, choices=Stage.choices, protected=True, db_index=True)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="USD",
        validators=[validate_currency],
        help_text="ISO 4217",
    )
    close_date = models.DateField(null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(
        "term (months)",
        default=12,
        validators=[MinValueValidator(1)],
        help_text="How long the contract runs from the close date; ARR and renewal read it.",
    )
    primary_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    win_reason = models.ForeignKey(
        WinReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    win_notes = models.TextField(blank=True)
    loss_reason = models.ForeignKey(
        LossReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    loss_notes = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("close_deal", "Can close deals as won or lost"),
            ("reopen_deal", "Can reopen closed deals"),
            ("act_on_any_deal", "Can change, close and re-own deals other reps own"),
        ]
        indexes = [models.Index(fields=["account", "stage"], name="deal_account_stage_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    # Transitions: state changes only; validation and side effects live in services.

    @transition(
        field=stage,
        source=_open_except(Stage.NEW),
        target=Stage.NEW,
        permission="deals.change_deal",
        custom={"label": "Back to new"},
    )
    def move_to_new(self) -> None:
        pass

    @transition(
        field=stage,
        source=_open_except(Stage.QUALIFIED),
        target=Stage.QUALIFIED,
        permission="deals.change_deal",
        custom={"label": "Qualify"},
    )
    def qualify(self) -> None:
        pass

    @transition(
        field=stage,
        source=_open_except(Stage.PROPOSAL),
        target=Stage.PROPOSAL,
        permission="deals.change_deal",
        custom={"label": "Proposal"},
    )
    def propose(self) -> None:
        pass

    @transition(
        field=stage,
        source=_open_except(Stage.NEGOTIATION),
        target=Stage.NEGOTIATION,
        permission="deals.change_deal",
        custom={"label": "Negotiation"},
    )
    def negotiate(self) -> None:
        pass

    @transition(
        field=stage,
        source=list(OPEN_STAGES),
        target=Stage.CLOSED_WON,
        permission="deals.close_deal",
        custom={"label": "Close as won"},
    )
    def close_won(self) -> None:
        self.closed_at = clock.now()

    @transition(
        field=stage,
        source=list(OPEN_STAGES),
        target=Stage.CLOSED_LOST,
        permission="deals.close_deal",
        custom={"label": "Close as lost"},
    )
    def close_lost(self) -> None:
        self.closed_at = clock.now()

    @transition(
        field=stage,
        source=list(CLOSED_STAGES),
        target=Stage.NEGOTIATION,
        permission="deals.reopen_deal",
        custom={"label": "Reopen"},
    )
    def reopen(self) -> None:
        self.closed_at = None


class DealLineItem(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="line_items")
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class StageChange(models.Model):
    """Immutable audit of a deal transition, written in the transition's transaction."""

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        UI = "ui", "Web UI"
        API = "api", "API"
        WEBHOOK = "webhook", "CRM webhook"
        SYSTEM = "system", "System"

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    transition = models.CharField(max_length=32)
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    reason = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["deal", "occurred_at"], name="stagechange_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal}: {self.from_stage} → {self.to_stage}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Stage changes are an audit trail and cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Stage changes are an audit trail and cannot be deleted.")


class DealFieldChange(models.Model):
    """Immutable audit of a change to one of a deal's fields or its line items (``field``
    is "line_items" for those), written in the same transaction as the change."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="field_changes")
    field = models.CharField(max_length=64)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=StageChange.Source.choices)
    occurred_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["deal", "occurred_at"], name="dealfieldchange_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal}: {self.field} {self.old_value!r} → {self.new_value!r}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Field changes are an audit trail and cannot be edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Field changes are an audit trail and cannot be deleted.")
