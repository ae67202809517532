from django.contrib import admin
from django.utils.html import format_html

from apps.core.admin_tools import ReadOnlyAdminMixin, ServiceWritesAdminMixin, history_table
from apps.health.models import (
    AccountHealth,
    FactorKey,
    HealthFactor,
    HealthSettings,
    HealthSnapshot,
)
from apps.health.services import health_factor_update, health_thresholds_update


@admin.register(HealthFactor)
class HealthFactorAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    """The factors of the score: each one's weight and how its raw value becomes 0–100
    points. The six factors are fixed; a weight of 0 leaves one out."""

    list_display = ("label", "weight", "scale")
    readonly_fields = ("key",)

    def get_fields(self, request, obj=None):
        # Only the parameters this factor reads.
        if obj is not None and obj.key == FactorKey.NPS:
            return ("key", "label", "weight", "passive_points")
        extra = ("queue_slug",) if obj is not None and obj.key == FactorKey.ESCALATIONS else ()
        return ("key", "label", "weight", "full_at", "zero_at", *extra)

    @admin.display(description="Points")
    def scale(self, factor: HealthFactor) -> str:
        if factor.key == FactorKey.NPS:
            return f"promoter 100, passive {factor.passive_points}, detractor 0"
        full = "—" if factor.full_at is None else f"{float(factor.full_at):g}"
        zero = "—" if factor.zero_at is None else f"{float(factor.zero_at):g}"
        where = f" (queue {factor.queue_slug})" if factor.key == FactorKey.ESCALATIONS else ""
        return f"100 at {full}, 0 at {zero}{where}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def update_through_service(self, request, obj, changes) -> None:
        health_factor_update(factor=obj, actor=request.user, **changes)


@admin.register(HealthSettings)
class HealthSettingsAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    """The band thresholds: green from one score, yellow from a lower one, red below."""

    list_display = ("__str__", "green_at", "yellow_at")
    fields = ("green_at", "yellow_at")

    def has_add_permission(self, request) -> bool:
        return not HealthSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def create_through_service(self, request, form):
        return health_thresholds_update(actor=request.user, **form.cleaned_data)

    def update_through_service(self, request, obj, changes) -> None:
        health_thresholds_update(actor=request.user, **changes)


@admin.register(AccountHealth)
class AccountHealthAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each account's score as last computed, with every factor's value and contribution.
    Read-only: scores change when their inputs do, and nightly."""

    list_display = ("account", "score", "band", "computed_at")
    list_filter = ("band",)
    list_select_related = ("account",)
    search_fields = ("account__name",)
    fields = ("account", "score", "band", "computed_at", "factor_table")
    readonly_fields = fields

    @admin.display(description="Factors")
    def factor_table(self, obj: AccountHealth) -> str:
        return history_table(
            ("Factor", "Value", "Points", "Share", "Contribution", "Why"),
            (
                (
                    item.get("label"),
                    item.get("value"),
                    "left out" if item.get("points") is None else item.get("points"),
                    f"{item.get('share', 0)} %",
                    item.get("contribution"),
                    item.get("why"),
                )
                for item in obj.factors or []
            ),
            empty=format_html("<p>{}</p>", "No factor."),
        )


@admin.register(HealthSnapshot)
class HealthSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("account", "date", "score", "band")
    list_filter = ("band", "date")
    list_select_related = ("account",)
    search_fields = ("account__name",)
    date_hierarchy = "date"
