"""What each account could buy next: cross-sell rules and usage signals."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.core import clock
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
