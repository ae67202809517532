"""Webhook subscriptions and the delivery log in admin. Every write calls a service."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.admin_tools import (
    ReadOnlyAdminMixin,
    ServiceWritesAdminMixin,
    admin_action_each,
    history_table,
    local_time,
    pretty_json,
)
from apps.webhooks import catalogue, selectors, services
from apps.webhooks.models import WebhookDelivery, WebhookSubscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        max_length=2000,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"size": 80}),
        help_text="An http(s) address on the internet; it receives a POST.",
    )
    event_types = forms.MultipleChoiceField(
        choices=catalogue.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events this address receives.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_types"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = (
        "name",
        "url",
        "events",
        "is_active",
        "consecutive_failures",
        "last_delivered_at",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = (
        "secret_note",
        "is_active",
        "consecutive_failures",
        "disabled_at",
        "disabled_reason",
        "last_delivered_at",
        "created_by",
        "created_at",
        "recent_deliveries",
    )
    actions = ("enable", "disable", "send_test_event")

    def get_fieldsets(self, request, obj=None):
        fields = [(None, {"fields": ["name", "url", "event_types"]})]
        if obj is None:
            return fields
        return [
            *fields,
            (
                "State",
                {
                    "fields": [
                        "secret_note",
                        "is_active",
                        "consecutive_failures",
                        "disabled_at",
                        "disabled_reason",
                        "last_delivered_at",
                        "created_by",
                        "created_at",
                    ]
                },
            ),
            ("Latest deliveries", {"fields": ["recent_deliveries"]}),
        ]

    def has_delete_permission(self, request, obj=None) -> bool:
        # The delivery log is a record: a subscription no longer wanted is disabled.
        return False

    @admin.display(description="events")
    def events(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_types)

    @admin.display(description="secret")
    def secret_note(self, subscription: WebhookSubscription) -> str:
        return "Shown once when it was made. “New secret” above replaces it."

    @admin.display(description="deliveries")
    def recent_deliveries(self, subscription: WebhookSubscription) -> str:
        rows = selectors.deliveries_recent(subscription=subscription, limit=10)
        return history_table(
            ("Created", "Event", "Status", "Attempts", "Last answer", ""),
            (
                (
                    local_time(delivery.created_at),
                    delivery.event_type,
                    delivery.get_status_display(),
                    delivery.attempts,
                    selectors.answer_text(delivery),
                    format_html(
                        '<a href="{}">log</a>',
                        reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]),
                    ),
                )
                for delivery in rows
            ),
            empty="Nothing sent yet.",
        )

    def create_through_service(self, request, form) -> Model:
        subscription, secret = services.subscription_create(
            name=form.cleaned_data["name"],
            url=form.cleaned_data["url"],
            event_types=form.cleaned_data["event_types"],
            actor=request.user,
        )
        request._webhook_secret = secret
        return subscription

    def update_through_service(self, request, obj: Model, changes: dict[str, Any]) -> None:
        services.subscription_update(subscription=obj, actor=request.user, **changes)

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secret_page(request, obj, secret, made=True)

    def _secret_page(self, request, subscription, secret: str, *, made: bool) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"Signing secret: {subscription}",
            "opts": self.opts,
            "subscription": subscription,
            "secret": secret,
            "made": made,
            "change_url": reverse(
                "admin:webhooks_webhooksubscription_change", args=[subscription.pk]
            ),
        }
        response = TemplateResponse(request, "admin/webhooks/secret_once.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Enable the selected subscriptions")
    def enable(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda row: services.subscription_enable(subscription=row, actor=request.user),
            name=str,
            done=lambda n: f"{n} subscription(s) enabled.",
        )

    @admin.action(description="Disable the selected subscriptions")
    def disable(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda row: services.subscription_disable(
                subscription=row, reason=f"Disabled by {request.user}.", actor=request.user
            ),
            name=str,
            done=lambda n: f"{n} subscription(s) disabled.",
        )

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda row: services.delivery_send_test(subscription=row, actor=request.user),
            name=str,
            done=lambda n: f"A test event is on its way to {n} subscription(s).",
        )

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="webhooks_webhooksubscription_send_test",
            ),
            path(
                "<path:object_id>/new-secret/",
                self.admin_site.admin_view(self.new_secret_view),
                name="webhooks_webhooksubscription_new_secret",
            ),
        ]
        # Before the defaults: their "<path:object_id>/" catch-all would match first.
        return custom + super().get_urls()

    def _confirm(self, request, subscription, *, action: str, explanation: str) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action}: {subscription}",
            "opts": self.opts,
            "subscription": subscription,
            "action": action,
            "explanation": explanation,
            "change_url": reverse(
                "admin:webhooks_webhooksubscription_change", args=[subscription.pk]
            ),
        }
        return TemplateResponse(request, "admin/webhooks/confirm.html", context)

    def _subscription_for_change(self, request, object_id: str) -> WebhookSubscription | None:
        subscription = self.get_object(request, unquote(object_id))
        if subscription is not None and not self.has_change_permission(request, subscription):
            raise PermissionDenied
        return subscription

    def send_test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        subscription = self._subscription_for_change(request, object_id)
        if subscription is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method != "POST":
            return self._confirm(
                request,
                subscription,
                action="Send test event",
                explanation=(
                    f"A signed “{catalogue.TEST_EVENT}” event goes to {subscription.url} now. "
                    "Its answer appears under Latest deliveries."
                ),
            )
        services.delivery_send_test(subscription=subscription, actor=request.user)
        messages.success(request, f"A test event is on its way to {subscription.url}.")
        return HttpResponseRedirect(
            reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
        )

    def new_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        subscription = self._subscription_for_change(request, object_id)
        if subscription is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method != "POST":
            return self._confirm(
                request,
                subscription,
                action="New secret",
                explanation=(
                    "A new signing secret replaces the current one at once: the receiver "
                    "must be given the new one, or it will refuse what is sent from now on."
                ),
            )
        secret = services.subscription_secret_rotate(subscription=subscription, actor=request.user)
        return self._secret_page(request, subscription, secret, made=False)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The delivery log: every message, its attempts and the answers they got."""

    list_display = (
        "created_at",
        "subscription",
        "event_type",
        "status",
        "attempts",
        "answer",
        "delivered_at",
    )
    list_filter = ("status", "event_type", "subscription")
    list_select_related = ("subscription",)
    search_fields = ("message_id", "subscription__name")
    raw_id_fields = ("event",)
    fields = (
        "subscription",
        "event_type",
        "event",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "attempt_log",
        "payload",
    )
    readonly_fields = fields
    actions = ("resend",)

    @admin.display(description="last answer")
    def answer(self, delivery: WebhookDelivery) -> str:
        return selectors.answer_text(delivery)

    @admin.display(description="attempts")
    def attempt_log(self, delivery: WebhookDelivery) -> str:
        return history_table(
            ("When", "HTTP status", "Error", "Took", "Response"),
            (
                (
                    local_time(attempt.attempted_at),
                    attempt.status_code or "—",
                    attempt.error or "—",
                    f"{attempt.duration_ms} ms",
                    attempt.response_excerpt[:300] or "—",
                )
                for attempt in delivery.log.all()
            ),
            empty="Not attempted yet.",
        )

    @admin.display(description="body")
    def payload(self, delivery: WebhookDelivery) -> str:
        return pretty_json(selectors.delivery_payload(delivery))

    @admin.action(description="Resend the selected deliveries", permissions=["resend"])
    def resend(self, request, queryset) -> None:
        sent = 0
        for delivery in queryset:
            sent += services.delivery_resend(delivery=delivery, actor=request.user)
        if sent:
            messages.success(request, f"{sent} delivery(ies) will be sent again now.")
        skipped = queryset.count() - sent
        if skipped:
            messages.warning(request, f"{skipped} delivery(ies) are being sent right now.")

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhookdelivery")
