from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin_tools import ReadOnlyAdminMixin, ServiceWritesAdminMixin, pretty_json
from apps.integrations.models import (
    CrmConnection,
    CrmOwnerMapping,
    InboundDelivery,
    InboundEvent,
    InboundRejection,
)
from apps.integrations.processing import events_replay
from apps.integrations.selectors import (
    COUNTED,
    connection_recent,
    csm_choices,
    salesforce_url,
    token_status,
    url_to_give,
    with_counts,
)
from apps.integrations.services import (
    CONNECTION_FIELDS,
    WRITE_ONLY_FIELDS,
    connection_create,
    connection_problems,
    connection_update,
)
from apps.integrations.tokens import TokenRefreshFailed, connection_token_refresh


def _write_only(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text + " Never shown again; leave empty to keep the saved one.",
    )


class CrmConnectionForm(forms.ModelForm):
    """Secrets are written, never shown: the inputs start empty, and empty keeps the
    saved value."""

    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=(
            "HubSpot: the app's client secret. Close: the webhook's signature_key. "
            "Pipedrive: the webhook's Basic-auth password. Zoho: the channel's token. "
            "Salesforce: the key in the URL it is given; leave empty and Afterwin makes one, "
            "shown once after saving (or type your own: 24 or more letters, digits, - or _). "
            "Never shown again; leave empty to keep the saved one."
        ),
    )
    api_token = _write_only(
        "API token",
        "HubSpot: a private app's access token (scopes crm.objects.deals.read, companies, "
        "contacts, line items, owners). Zoho: an OAuth access token (ZohoCRM.modules.READ), "
        "or nothing when OAuth refresh is set up below: Afterwin fetches one.",
    )
    oauth_client_secret = _write_only(
        "OAuth client secret", "The HubSpot public app's or the Zoho client's secret."
    )
    oauth_refresh_token = _write_only(
        "OAuth refresh token",
        "Zoho: from a self client's grant code, or your server-based client's "
        "authorization (access_type=offline). HubSpot: from the app's install.",
    )
    oauth_token_url = forms.URLField(
        label="OAuth token URL",
        required=False,
        assume_scheme="https",
        help_text=CrmConnection._meta.get_field("oauth_token_url").help_text,
    )

    api_base_url = forms.URLField(
        label="API base URL",
        required=False,
        assume_scheme="https",
        help_text=CrmConnection._meta.get_field("api_base_url").help_text,
    )

    class Meta:
        model = CrmConnection
        fields = CONNECTION_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_csm"].queryset = csm_choices()

    def clean(self):
        cleaned = super().clean()
        probe = CrmConnection(**{name: cleaned.get(name) for name in CONNECTION_FIELDS})
        # An emptied client id turns OAuth refresh off (connection_update forgets the rest).
        oauth_off = not cleaned.get("oauth_client_id")
        for name in WRITE_ONLY_FIELDS:
            if oauth_off and name in ("oauth_client_secret", "oauth_refresh_token"):
                continue
            if not cleaned.get(name) and self.instance.pk:
                setattr(probe, name, getattr(self.instance, name))
        probe.tenant_id = (probe.tenant_id or "").strip()
        if not self.errors:
            for name, problems in connection_problems(probe).items():
                for problem in problems:
                    self.add_error(name, problem)
        return cleaned


class OwnerMappingInline(admin.TabularInline):
    model = CrmOwnerMapping
    extra = 1
    raw_id_fields = ("user",)
    verbose_name = "CRM owner who is an Afterwin user"
    verbose_name_plural = (
        "Owners (matched by email first; list a CRM owner id or email here when it differs)"
    )


@admin.register(CrmConnection)
class CrmConnectionAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    form = CrmConnectionForm
    inlines = [OwnerMappingInline]
    list_display = ("name", "vendor", "tenant_id", "enabled", "event_counts", "test_link")
    list_filter = ("vendor", "enabled")
    search_fields = ("name", "tenant_id")
    raw_id_fields = ("default_owner",)
    readonly_fields = (
        "url_to_give",
        "secret_saved",
        "api_token_saved",
        "oauth_refresh",
        "access_token_expiry",
    )
    fieldsets = (
        (None, {"fields": ("name", "vendor", "tenant_id", "enabled", "url_to_give")}),
        (
            "Credentials (write-only)",
            {
                "fields": (
                    "secret",
                    "secret_saved",
                    "allowed_networks",
                    "basic_auth_username",
                    "api_token",
                    "api_token_saved",
                    "api_base_url",
                )
            },
        ),
        (
            "OAuth refresh (HubSpot public apps, Zoho): the API token is kept current",
            {
                "fields": (
                    "oauth_refresh",
                    "access_token_expiry",
                    "oauth_client_id",
                    "oauth_client_secret",
                    "oauth_refresh_token",
                    "oauth_token_url",
                )
            },
        ),
        (
            "What a CRM deal becomes",
            {
                "fields": (
                    "won_stages",
                    "lost_stages",
                    "default_owner",
                    "default_csm",
                    "default_win_reason",
                    "default_loss_reason",
                    "default_currency",
                    "default_product",
                    "line_items_separate",
                )
            },
        ),
    )

    def get_queryset(self, request):
        # The list's counts come with its one query (a subquery per state).
        return with_counts(super().get_queryset(request).select_related("default_owner"))

    @admin.display(description="events")
    def event_counts(self, connection: CrmConnection) -> str:
        shown = [
            f"{getattr(connection, f'n_{state}', 0) or 0} {state}"
            for state in COUNTED
            if getattr(connection, f"n_{state}", 0)
        ]
        return ", ".join(shown) or "none yet"

    @admin.display(description="last deliveries")
    def test_link(self, connection: CrmConnection) -> str:
        url = reverse("admin:integrations_crmconnection_test", args=[connection.pk])
        return format_html('<a href="{}">Test</a>', url)

    @admin.display(description="URL to give the CRM")
    def url_to_give(self, connection: CrmConnection) -> str:
        if not connection.vendor:
            return "Choose the CRM and save: the URL is shown here."
        return format_html("<code>{}</code>", url_to_give(connection))

    @admin.display(description="secret saved")
    def secret_saved(self, connection: CrmConnection) -> str:
        return "yes (hidden)" if connection.secret else "no"

    @admin.display(description="API token saved")
    def api_token_saved(self, connection: CrmConnection) -> str:
        return "yes (hidden)" if connection.api_token else "no"

    @admin.display(description="OAuth refresh")
    def oauth_refresh(self, connection: CrmConnection) -> str:
        return token_status(connection).refresh if connection.pk else "—"

    @admin.display(description="current access token")
    def access_token_expiry(self, connection: CrmConnection) -> str:
        return token_status(connection).expiry if connection.pk else "—"

    def save_model(self, request, obj, form, change) -> None:
        before = (
            CrmConnection.objects.filter(pk=obj.pk).values_list("secret", flat=True).first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        saved = CrmConnection.objects.get(pk=obj.pk)
        if saved.vendor == "salesforce" and saved.secret and saved.secret != before:
            # The key is write-only like every secret: this is the one time it is shown.
            messages.warning(
                request,
                format_html(
                    "The URL to give Salesforce, with the connection's key (shown this once; "
                    "copy it into the outbound messages' Endpoint URL now): <code>{}</code>",
                    salesforce_url(saved, key=saved.secret),
                ),
            )

    def create_through_service(self, request, form):
        return connection_create(**{name: form.cleaned_data[name] for name in CONNECTION_FIELDS})

    def update_through_service(self, request, obj, changes) -> None:
        connection_update(connection=obj, **changes)

    def get_urls(self):
        custom = [
            path(
                "<int:object_id>/test/",
                self.admin_site.admin_view(self.test_view),
                name="integrations_crmconnection_test",
            ),
            path(
                "<int:object_id>/refresh-token/",
                self.admin_site.admin_view(self.refresh_token_view),
                name="integrations_crmconnection_refresh_token",
            ),
        ]
        return custom + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["test_url"] = reverse("admin:integrations_crmconnection_test", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        connection = get_object_or_404(CrmConnection, pk=object_id)
        if not self.has_view_permission(request, connection):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": f"Last deliveries: {connection}",
            "opts": self.opts,
            "connection": connection,
            "change_url": reverse("admin:integrations_crmconnection_change", args=[connection.pk]),
            "events_url": reverse("admin:integrations_inboundevent_changelist")
            + f"?connection__id__exact={connection.pk}",
            "refresh_url": (
                reverse("admin:integrations_crmconnection_refresh_token", args=[connection.pk])
                if self.has_change_permission(request, connection)
                else ""
            ),
            **connection_recent(connection),
        }
        return TemplateResponse(request, "admin/integrations/crmconnection/test.html", context)

    def refresh_token_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """*Refresh token now* on the Test page (POST): a new access token at once, or the
        reason there is none."""
        connection = get_object_or_404(CrmConnection, pk=object_id)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            connection_token_refresh(connection=connection, force=True)
        except TokenRefreshFailed as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"New access token: {token_status(connection).expiry}.")
        return HttpResponseRedirect(
            reverse("admin:integrations_crmconnection_test", args=[connection.pk])
        )


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "connection",
        "vendor",
        "kind",
        "object_id",
        "state",
        "summary",
        "attempts",
    )
    list_filter = ("vendor", "state", "connection")
    search_fields = ("object_id", "event_key", "reason")
    list_select_related = ("connection",)
    date_hierarchy = "created_at"
    actions = ["replay"]
    fields = (
        "connection",
        "delivery",
        "vendor",
        "event_key",
        "kind",
        "object_type",
        "object_id",
        "occurred_at",
        "state",
        "reason",
        "blockers_shown",
        "result_shown",
        "payload_shown",
        "attempts",
        "next_attempt_at",
        "processed_at",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="result or reason")
    def summary(self, event: InboundEvent) -> str:
        if event.blockers:
            return "; ".join(m for messages in event.blockers.values() for m in messages)[:300]
        if event.result.get("deal"):
            return f"{event.result['deal']}: {event.result.get('transition', 'updated')}"
        return (event.reason or str(event.result.get("account") or ""))[:300]

    @admin.display(description="blockers")
    def blockers_shown(self, event: InboundEvent) -> str:
        return pretty_json(event.blockers) if event.blockers else "—"

    @admin.display(description="parsed result")
    def result_shown(self, event: InboundEvent) -> str:
        return pretty_json(event.result) if event.result else "—"

    @admin.display(description="payload")
    def payload_shown(self, event: InboundEvent) -> str:
        return pretty_json(event.payload)

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("integrations.change_inboundevent")

    @admin.action(
        description="Replay (process again; a deal already won stays won once)",
        permissions=["replay"],
    )
    def replay(self, request, queryset):
        count = events_replay(event_ids=list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} event(s) will be processed again.")


@admin.register(InboundDelivery)
class InboundDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "connection", "vendor", "events_new", "events_repeated")
    list_filter = ("vendor", "connection")
    list_select_related = ("connection",)
    date_hierarchy = "received_at"
    fields = (
        "connection",
        "vendor",
        "received_at",
        "headers",
        "body_shown",
        "events_new",
        "events_repeated",
    )
    readonly_fields = fields

    @admin.display(description="body, as received")
    def body_shown(self, delivery: InboundDelivery) -> str:
        # Zoho puts its token in the body: it is taken out before storing, and a body
        # stored before that still never shows it.
        body, secret = delivery.body, delivery.connection.secret
        if secret:
            body = body.replace(secret, "•••• (the connection's secret)")
        return format_html("<pre>{}</pre>", body)


@admin.register(InboundRejection)
class InboundRejectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("vendor", "connection", "reason", "count", "first_at", "last_at")
    list_filter = ("vendor", "reason", "connection")
    list_select_related = ("connection",)
