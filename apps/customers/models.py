from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.core.validators import (
    validate_country,
    validate_currency,
    validate_domain,
    validate_timezone,
)


class Account(TimeStampedModel):
    class Tier(models.TextChoices):
        ENTERPRISE = "enterprise", "Enterprise"
        MID_MARKET = "mid_market", "Mid-market"
        SMB = "smb", "SMB"

    class Lifecycle(models.TextChoices):
        PROSPECT = "prospect", "Prospect"
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "Active customer"
        AT_RISK = "at_risk", "At risk"
        CHURNED = "churned", "Churned"

    name = models.CharField(max_length=200)
    domain = models.CharField(
        max_length=253, blank=True, validators=[validate_domain], help_text="e.g. acme.com"
    )
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone], help_text="IANA name"
    )
    country = models.CharField(
        max_length=2, default="US", validators=[validate_country], help_text="ISO 3166 alpha-2"
    )
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.SMB)
    segment = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        help_text="The sales rep who owns the relationship.",
    )
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_accounts",
        verbose_name="CSM",
    )
    lifecycle_status = models.CharField(
        max_length=20, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="account_name_idx")]
        permissions = [
            ("act_on_any_account", "Can edit the contacts of accounts they do not cover"),
            ("resubscribe_contact", "Can clear a contact's unsubscribe, with a written reason"),
        ]

    def __str__(self) -> str:
        return self.name


class AccountLifecycleChange(models.Model):
    """An account moved through its lifecycle: from where to where, why, through whom.
    Kept as a record: a later move adds a row, it never edits one."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lifecycle_changes")
    from_status = models.CharField(max_length=20, choices=Account.Lifecycle.choices)
    to_status = models.CharField(max_length=20, choices=Account.Lifecycle.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["account", "at"], name="lifecycle_change_account_idx"),
            # Time to onboard: an account's first move from onboarding to active after a
            # close, looked up once per won deal.
            models.Index(
                fields=["account", "at"],
                name="lifecycle_onboarded_idx",
                condition=models.Q(from_status="onboarding", to_status="active"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Lifecycle changes are a record and cannot be edited.")
        super().save(*args, **kwargs)


class Contact(TimeStampedModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=200, blank=True)
    is_primary = models.BooleanField(default=False)
    unsubscribed = models.BooleanField(
        default=False, help_text="No customer emails are sent to this contact."
    )

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(is_primary=True),
                name="one_primary_contact_per_account",
                violation_error_message="This account already has a primary contact.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


class ProductFamily(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "product families"

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    family = models.ForeignKey(ProductFamily, on_delete=models.PROTECT, related_name="products")
    list_price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency], help_text="ISO 4217"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["family__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class ConsentChange(models.Model):
    """A contact said yes or no to customer email: when, how, and through whom. Kept as a
    record: a later change adds a row, it never edits one."""

    class How(models.TextChoices):
        EMAIL_LINK = "email_link", "Unsubscribe link in an email"
        ONE_CLICK = "one_click", "One-click unsubscribe (mail client)"
        STAFF = "staff", "Changed by staff"
        API = "api", "Changed through the API"
        RESUBSCRIBE_LINK = "resubscribe_link", "Re-subscribe link (the contact)"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_changes")
    unsubscribed = models.BooleanField()
    how = models.CharField(max_length=20, choices=How.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email_id = models.BigIntegerField(
        null=True, blank=True, help_text="The email whose link was used, if any."
    )
    reason = models.TextField(blank=True, help_text="Why staff changed it (required to clear).")
    at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        verb = "unsubscribed" if self.unsubscribed else "subscribed again"
        return f"{self.contact} {verb} ({self.get_how_display()})"
