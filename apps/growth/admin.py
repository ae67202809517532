from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.growth.models import CrossSellRule, ExpansionDeal, UsageSnapshot, UsageThreshold


@admin.register(CrossSellRule)
class CrossSellRuleAdmin(admin.ModelAdmin):
    """ "Owns family A and not B → suggest B", with who it fits and why."""

    list_display = (
        "name",
        "owns_family",
        "suggest_family",
        "min_tier",
        "min_customer_days",
        "active",
    )
    list_filter = ("active", "min_tier")
    search_fields = ("name", "reason")


@admin.register(UsageThreshold)
class UsageThresholdAdmin(admin.ModelAdmin):
    """A product's utilisation threshold (80 % when a product has none)."""

    list_display = ("product", "percent")
    autocomplete_fields = ("product",)


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Usage as integrations sent it. Read-only: snapshots come through the API."""

    list_display = ("account", "product", "measured_at", "used_units", "licensed_units", "crossed")
    list_filter = ("crossed",)
    search_fields = ("account__name", "product__sku")
    date_hierarchy = "measured_at"
    list_select_related = ("account", "product")


@admin.register(ExpansionDeal)
class ExpansionDealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Expansion deals playbook steps opened, and what they won: the attribution."""

    list_display = ("deal", "playbook", "version_number", "step_key", "won_at", "won_amount")
    list_filter = ("playbook",)
    search_fields = ("deal__name", "step_key")
    list_select_related = ("deal", "playbook")
