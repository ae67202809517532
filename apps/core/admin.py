from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.core.models import DomainEvent, Profile


class ProcessedFilter(admin.SimpleListFilter):
    title = "processed"
    parameter_name = "processed"

    def lookups(self, request, model_admin):
        return [("yes", "Processed"), ("no", "Not processed yet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(processed_at__isnull=True)
        return queryset


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox, read-only: events are written by services and processed by workers."""

    list_display = (
        "id",
        "name",
        "aggregate_type",
        "aggregate_id",
        "actor",
        "occurred_at",
        "processed_at",
        "attempts",
        "short_error",
    )
    list_filter = ("name", ProcessedFilter, "aggregate_type")
    search_fields = ("name", "last_error")
    list_select_related = ("actor",)
    date_hierarchy = "occurred_at"
    fields = (
        "name",
        "aggregate_type",
        "aggregate_id",
        "payload",
        "actor",
        "occurred_at",
        "processed_at",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    readonly_fields = fields

    @admin.display(description="last error")
    def short_error(self, event: DomainEvent) -> str:
        return event.last_error[:80]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "timezone",
        "work_start",
        "work_end",
        "out_of_office_from",
        "out_of_office_until",
        "backup",
        "capacity",
        "digest_time",
    )
    list_select_related = ("user", "backup")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user", "backup")
