from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.notifications.models import EmailMessage, Notification
from apps.notifications.services import email_retry


@admin.register(EmailMessage)
class EmailMessageAdmin(admin.ModelAdmin):
    """The email outbox, read-only: emails are written by services and sent by workers."""

    list_display = (
        "id",
        "to_email",
        "subject",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "created_at",
        "short_error",
    )
    list_filter = ("status",)
    search_fields = ("to_email", "to_name", "subject", "idempotency_key")
    date_hierarchy = "created_at"
    fields = (
        "to_email",
        "to_name",
        "subject",
        "body_text",
        "body_html",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_error",
        "withdrawn_reason",
        "sent_at",
        "created_at",
        "idempotency_key",
        "step_run",
        "recipient",
        "contact",
    )
    readonly_fields = fields
    actions = ("retry_now",)

    @admin.display(description="last error")
    def short_error(self, email: EmailMessage) -> str:
        return email.last_error[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry now (failed or dead emails)", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[EmailMessage]) -> None:
        retried = sum(email_retry(email=email) for email in queryset)
        ignored = queryset.count() - retried
        if retried:
            self.message_user(request, f"{retried} email(s) queued for delivery now.")
        if ignored:
            self.message_user(
                request,
                f"{ignored} email(s) left alone: only failed or dead emails are retried.",
                level=messages.WARNING,
            )


class UnreadFilter(admin.SimpleListFilter):
    title = "read"
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return [("no", "Unread"), ("yes", "Read")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=False)
        return queryset


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "recipient", "reason", "title", "created_at", "read_at")
    list_filter = ("reason", UnreadFilter)
    # The dedupe key finds every reminder about one task: "task:42:".
    search_fields = ("title", "recipient__username", "recipient__email", "dedupe_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    fields = (
        "recipient",
        "reason",
        "title",
        "body",
        "url",
        "account",
        "deal",
        "step_run",
        "read_at",
        "created_at",
        "dedupe_key",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
