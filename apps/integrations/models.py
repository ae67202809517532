"""CRM connections and what they send: raw deliveries, the events in them, the links
between CRM records and Afterwin's, and the count of refused requests."""

from django.conf import settings
from django.db import models

from apps.core import clock
from apps.core.models import TimeStampedModel
from apps.core.validators import validate_currency


class Vendor(models.TextChoices):
    HUBSPOT = "hubspot", "HubSpot"
    SALESFORCE = "salesforce", "Salesforce"
    PIPEDRIVE = "pipedrive", "Pipedrive"
    CLOSE = "close", "Close"
    ZOHO = "zoho", "Zoho CRM"


class CrmConnection(TimeStampedModel):
    """One CRM account whose deals Afterwin follows.

    ``secret`` is what proves a delivery came from the CRM: HubSpot's app client secret,
    Close's signature key (hex), Pipedrive's Basic-auth password, Zoho's notification
    token, and for Salesforce (which signs nothing) the key in the URL it is given, made
    by Afterwin; ``allowed_networks`` may also limit where Salesforce's requests come
    from. ``api_token`` lets Afterwin read records from CRMs that send only ids (HubSpot,
    Zoho). With OAuth refresh set up (client id, client secret, refresh token),
    ``api_token`` is the current access token, replaced before it expires
    (``apps.integrations.tokens``). No secret or token is shown again after it is saved
    (Salesforce's key once, in the URL to give it), nor logged."""

    name = models.CharField(max_length=100)
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    tenant_id = models.CharField(
        "tenant id",
        max_length=64,
        help_text=(
            "HubSpot portal (hub) id, Salesforce organization id (15 or 18 characters), "
            "Pipedrive company id, Close organization id (orga_…), Zoho notification "
            "channel id."
        ),
    )
    enabled = models.BooleanField(default=True)
    secret = models.CharField(max_length=500, blank=True)
    allowed_networks = models.TextField(
        "allowed source networks",
        blank=True,
        help_text=(
            "Salesforce: the networks its requests may come from, one per line in CIDR "
            "form (e.g. 13.108.0.0/14), as Salesforce publishes its IP ranges. Empty: any."
        ),
    )
    basic_auth_username = models.CharField(
        "Basic-auth username",
        max_length=100,
        blank=True,
        help_text="Pipedrive: the HTTP Basic-auth user name set on the webhook.",
    )
    api_token = models.CharField("API token", max_length=1000, blank=True)
    api_base_url = models.URLField(
        "API base URL",
        blank=True,
        help_text=(
            "Where Afterwin reads records from: https://api.hubapi.com for HubSpot, your "
            "data centre's https://www.zohoapis.com (or .eu, .in, …) for Zoho."
        ),
    )
    oauth_client_id = models.CharField(
        "OAuth client id",
        max_length=200,
        blank=True,
        help_text=(
            "HubSpot public app or Zoho client: with its secret and a refresh token, Afterwin "
            "gets a new access token itself when the current one expires. Empty it to turn "
            "OAuth refresh off (the secret and refresh token are forgotten)."
        ),
    )
    oauth_client_secret = models.CharField("OAuth client secret", max_length=500, blank=True)
    oauth_refresh_token = models.CharField("OAuth refresh token", max_length=1000, blank=True)
    oauth_token_url = models.URLField(
        "OAuth token URL",
        blank=True,
        help_text=(
            "Where the access token is refreshed. Empty: HubSpot's "
            "https://api.hubapi.com/oauth/v1/token, or Zoho's https://accounts.zoho.com (the "
            "US data centre). Zoho elsewhere: your accounts server, e.g. "
            "https://accounts.zoho.eu, .in, .com.au, .jp or https://accounts.zohocloud.ca "
            "(/oauth/v2/token is added to a server given alone)."
        ),
    )
    access_token_expires_at = models.DateTimeField(
        "access token expires at",
        null=True,
        blank=True,
        editable=False,
        help_text="When the current access token (the API token) expires; empty: not known.",
    )
    won_stages = models.TextField(
        blank=True,
        help_text=(
            "HubSpot and Zoho: the stages that mean won, one per line (HubSpot's internal "
            "stage ids, e.g. closedwon; Zoho's stage names, e.g. Closed Won). Empty: the "
            "CRM's default. The other CRMs say won themselves."
        ),
    )
    lost_stages = models.TextField(
        blank=True, help_text="The stages that mean lost, one per line, as for won stages."
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Owns deals whose CRM owner matches no Afterwin user.",
    )
    default_csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="default CSM",
        help_text=(
            "A user with the CSM role: the CSM of the accounts this CRM brings in, and of an "
            "account without one when one of its deals is won through this CRM."
        ),
    )
    default_win_reason = models.ForeignKey(
        "deals.WinReason",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The win reason when the CRM's reason names none of Afterwin's.",
    )
    default_loss_reason = models.ForeignKey(
        "deals.LossReason",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The loss reason when the CRM's reason names none of Afterwin's.",
    )
    line_items_separate = models.BooleanField(
        "line items come in their own messages",
        default=False,
        help_text=(
            "Salesforce with an outbound message on OpportunityLineItem: a won deal waits a "
            "few minutes for its line items before it closes."
        ),
    )
    default_currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency], help_text="ISO 4217"
    )
    default_product = models.ForeignKey(
        "customers.Product",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=(
            "The line item of a won deal the CRM sends no products for (Pipedrive, Close, "
            "Salesforce without line-item messages): one of this product at the deal's amount."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "CRM connection"
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "tenant_id"],
                name="one_connection_per_crm_tenant",
                violation_error_message="A connection for this CRM account exists already.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_vendor_display()})"


class CrmOwnerMapping(models.Model):
    """A CRM owner (by id or email) who is this Afterwin user."""

    connection = models.ForeignKey(
        CrmConnection, on_delete=models.CASCADE, related_name="owner_mappings"
    )
    crm_owner = models.CharField(
        "CRM owner", max_length=200, help_text="The owner's id in the CRM, or their email."
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = "CRM owner mapping"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "crm_owner"], name="one_mapping_per_crm_owner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.crm_owner} → {self.user}"


class CrmLink(models.Model):
    """A CRM record and the Afterwin row it became (account, contact, deal, line item)."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", "Account"
        CONTACT = "contact", "Contact"
        DEAL = "deal", "Deal"
        LINE_ITEM = "line_item", "Line item"

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    crm_id = models.CharField("CRM id", max_length=100)
    local_id = models.BigIntegerField()
    # For deals: the newest CRM change applied, so an older delivery arriving late
    # changes nothing; and the CRM contact that should be the primary one.
    last_change_at = models.DateTimeField(null=True, blank=True)
    crm_contact_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        verbose_name = "CRM link"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "crm_id"], name="one_link_per_crm_record"
            )
        ]
        indexes = [models.Index(fields=["kind", "local_id"], name="crmlink_local_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.crm_id} → {self.local_id}"


class InboundDelivery(models.Model):
    """One authenticated request from a CRM, stored as received before anything reads it."""

    connection = models.ForeignKey(
        CrmConnection, on_delete=models.PROTECT, related_name="deliveries"
    )
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    headers = models.JSONField(default=dict, help_text="The headers that matter (no secrets).")
    body = models.TextField()
    received_at = models.DateTimeField(default=clock.now, db_index=True)
    events_new = models.PositiveIntegerField(default=0)
    events_repeated = models.PositiveIntegerField(
        default=0, help_text="Events in this delivery that an earlier one brought already."
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "inbound deliveries"

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} delivery {self.pk}"


class InboundEvent(models.Model):
    """One event of a delivery (HubSpot and Salesforce batch up to 100), processed once:
    ``event_key`` is the CRM's own id for it, unique per connection."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        BLOCKED = "blocked", "Blocked (Afterwin's rules)"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(CrmConnection, on_delete=models.PROTECT, related_name="events")
    delivery = models.ForeignKey(InboundDelivery, on_delete=models.CASCADE, related_name="events")
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    event_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=60, help_text="What the CRM says happened.")
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    payload = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    reason = models.TextField(blank=True, help_text="Why it was ignored, or what failed.")
    blockers = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "event_key"], name="one_event_per_crm_event_key"
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="inboundevent_due_idx"),
            models.Index(fields=["connection", "object_id"], name="inboundevent_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()} {self.kind} {self.object_id}".strip()


class InboundRejection(models.Model):
    """Refused requests, counted (the requests themselves are not stored): per vendor,
    connection (when the tenant was known) and reason."""

    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    connection = models.ForeignKey(
        CrmConnection, null=True, blank=True, on_delete=models.CASCADE, related_name="rejections"
    )
    # The connection's id, or "" when no connection was found: NULLs are never equal in
    # a unique constraint, so the count's key is a plain string.
    scope = models.CharField(max_length=20, default="", editable=False)
    reason = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField(default=clock.now)
    last_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-last_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "scope", "reason"], name="one_rejection_count_per_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_vendor_display()}: {self.reason} ×{self.count}"
