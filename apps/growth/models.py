"""What each account could buy next: cross-sell rules and usage signals."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core import clock
from apps.core.validators import validate_currency
from apps.customers.models import Account, Product, ProductFamily


class CrossSellRule(models.Model):
    """ "Owns family A and not B → suggest B", for customers that fit."""

    name = models.CharField(max_length=200)
    owns_family = models.ForeignKey(
        ProductFamily, on_delete=models.PROTECT, related_name="+", verbose_name="owns"
    )
    suggest_family = models.ForeignKey(
        ProductFamily, on_delete=models.PROTECT, related_name="+", verbose_name="suggest"
    )
    min_tier = models.CharField(
        max_length=20,
        choices=Account.Tier.choices,
        blank=True,
        help_text="Only for accounts of this tier or larger; empty for every tier.",
    )
    min_customer_days = models.PositiveIntegerField(
        default=0, help_text="Only once the account has been a customer this many days."
    )
    reason = models.CharField(max_length=300, help_text="Shown to the rep with the suggestion.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(owns_family=models.F("suggest_family")),
                name="cross_sell_suggests_another_family",
                violation_error_message="Suggest a family the account does not already own.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class UsageThreshold(models.Model):
    """Where a product's utilisation becomes an expansion signal (80 % unless set)."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="+")
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("1000"))],
    )

    def __str__(self) -> str:
        return f"{self.product.sku}: {self.percent} %"


class UsageSnapshot(models.Model):
    """Licensed and used units of one product at one account at one moment. Sent by
    integrations; the same account, product and moment sent again is the same snapshot."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="usage")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    measured_at = models.DateTimeField()
    licensed_units = models.PositiveIntegerField()
    used_units = models.PositiveIntegerField()
    received_at = models.DateTimeField(default=clock.now, editable=False)
    # Whether this snapshot crossed the threshold upward (and raised the event).
    crossed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "product", "measured_at"], name="one_snapshot_per_moment"
            )
        ]
        indexes = [
            models.Index(fields=["account", "product", "-measured_at"], name="usage_latest_idx")
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.product.sku}: {self.used_units}/{self.licensed_units}"

    @property
    def utilisation(self) -> Decimal | None:
        if not self.licensed_units:
            return None
        return (Decimal(self.used_units) * 100 / self.licensed_units).quantize(Decimal("0.1"))


class ExpansionDeal(models.Model):
    """An expansion deal a playbook step opened: where it came from, and what it won.
    Attribution is read from here (revenue by playbook, version and step)."""

    deal = models.OneToOneField(
        "deals.Deal", on_delete=models.CASCADE, related_name="expansion_source"
    )
    originating_deal = models.ForeignKey(
        "deals.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    step_run = models.ForeignKey(
        "engine.StepRun", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    version_number = models.PositiveIntegerField(null=True)
    step_key = models.CharField(max_length=64)
    families = models.JSONField(default=list, help_text="The product families suggested.")
    created_at = models.DateTimeField(default=clock.now, editable=False)
    won_at = models.DateTimeField(null=True, blank=True)
    won_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.deal} (prompted by {self.step_key})"


# Referrals -------------------------------------------------------------------------------


class ReferralRequest(models.Model):
    """A customer contact asked for a referral by a playbook step: the personal link in
    the email names this row. Held back (with the reason) when the contact may not be
    asked now."""

    class Status(models.TextChoices):
        ASKED = "asked", "Asked"
        SUPPRESSED = "suppressed", "Held back"

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="referral_requests"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    step_run = models.ForeignKey(
        "engine.StepRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    playbook = models.ForeignKey(
        "playbooks.Playbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version_number = models.PositiveIntegerField(null=True, blank=True)
    step_key = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ASKED)
    suppressed_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    expires_at = models.DateTimeField()
    # The first time the link was opened (the funnel's second stage).
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["step_run", "contact"], name="one_referral_ask_per_step_and_contact"
            )
        ]
        indexes = [models.Index(fields=["contact", "-created_at"], name="referral_ask_recent_idx")]

    def __str__(self) -> str:
        return f"Referral ask to {self.contact} ({self.get_status_display()})"


class Referral(models.Model):
    """A company a customer referred through their link: what they wrote, and what it
    became (the account it was linked to or created, and the deal). A record: what the
    referrer sent is never edited."""

    class Outcome(models.TextChoices):
        NEW_ACCOUNT = "new_account", "New account and deal"
        EXISTING_ACCOUNT = "existing_account", "Linked to an existing account"
        OPEN_DEAL = "open_deal", "Account already has an open deal"

    request = models.ForeignKey(ReferralRequest, on_delete=models.PROTECT, related_name="referrals")
    referrer_contact = models.ForeignKey(
        "customers.Contact", on_delete=models.PROTECT, related_name="referrals_made"
    )
    referrer_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    company = models.CharField(max_length=200)
    contact_name = models.CharField(max_length=200)
    email = models.EmailField()
    title = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)
    consent_at = models.DateTimeField(
        help_text="When the referrer confirmed the referred person agreed to be contacted."
    )
    submitted_at = models.DateTimeField(default=clock.now, editable=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    # For the rep: why this one needs a look (an account matched by the email's domain).
    flag = models.CharField(max_length=300, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="referrals")
    contact = models.ForeignKey(
        "customers.Contact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    deal = models.OneToOneField(
        "deals.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="referral"
    )
    converted_at = models.DateTimeField(null=True, blank=True)
    won_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "email"], name="one_referral_per_link_and_email"
            )
        ]

    def __str__(self) -> str:
        return f"{self.company} (referred by {self.referrer_contact})"


class RewardRule(models.Model):
    """What a converted referral earns its referrer. The newest active rule applies when
    the referred deal is won."""

    class Kind(models.TextChoices):
        FIXED = "fixed", "A fixed amount"
        PERCENT = "percent", "A percentage of the deal's first-year amount"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="For a fixed reward.",
    )
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="For a percentage of the deal's first-year amount.",
    )
    currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency], help_text="ISO 4217"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="fixed", amount__isnull=False))
                | (models.Q(kind="percent", percent__isnull=False)),
                name="reward_rule_has_its_value",
                violation_error_message="A fixed reward needs an amount; a percentage reward "
                "needs a percent.",
            )
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.FIXED:
            return f"{self.name}: {self.amount} {self.currency}"
        return f"{self.name}: {self.percent} % of the first-year amount"

    def reward_for(self, deal_amount: Decimal | None) -> Decimal:
        if self.kind == self.Kind.FIXED:
            return self.amount or Decimal("0")
        return ((deal_amount or Decimal("0")) * (self.percent or 0) / 100).quantize(Decimal("0.01"))


class Reward(models.Model):
    """A reward owed to a referrer for a won referred deal; an admin marks it issued."""

    class Status(models.TextChoices):
        OWED = "owed", "Owed"
        ISSUED = "issued", "Issued"

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="reward")
    rule = models.ForeignKey(RewardRule, on_delete=models.PROTECT, related_name="rewards")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OWED)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} to {self.referral.referrer_contact} ({self.status})"
