from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.admin_tools import ReadOnlyAdminMixin, admin_action_each
from apps.core.errors import ValidationFailed
from apps.growth.forms import UsageUploadForm
from apps.growth.models import (
    CrossSellRule,
    ExpansionDeal,
    Referral,
    ReferralRequest,
    Reward,
    RewardRule,
    UsageSnapshot,
    UsageThreshold,
)
from apps.growth.referrals import reward_issue
from apps.growth.services import MAX_BATCH, usage_record_many
from apps.growth.usage_csv import COLUMNS, usage_csv_errors, usage_csv_read


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
    """Usage as integrations sent it. Read-only: snapshots come through the API or an
    uploaded CSV file ("Upload usage CSV"), never typed in."""

    list_display = ("account", "product", "measured_at", "used_units", "licensed_units", "crossed")
    list_filter = ("crossed",)
    search_fields = ("account__name", "product__sku")
    date_hierarchy = "measured_at"
    list_select_related = ("account", "product")

    def get_urls(self):
        upload = self.admin_site.admin_view(self.upload_view)
        return [
            path("upload/", upload, name="growth_usagesnapshot_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        """Snapshots from a CSV file, all or none, like the API's batch. The admin's add
        permission is off (snapshots are not typed in), so the model permission is
        checked here."""
        if not request.user.has_perm("growth.add_usagesnapshot"):
            raise PermissionDenied
        changelist = reverse("admin:growth_usagesnapshot_changelist")
        form, line_errors = UsageUploadForm(), []
        if request.method == "POST":
            form = UsageUploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                parsed = None
                try:
                    parsed = usage_csv_read(upload, name=upload.name, size=upload.size)
                    result = usage_record_many(items=parsed.rows)
                except ValidationFailed as exc:
                    if parsed is None:
                        form.add_error("file", exc.errors.get("file") or exc.message)
                    else:
                        line_errors = usage_csv_errors(parsed, exc)
                else:
                    messages.success(
                        request,
                        f"{result.created} stored, {result.duplicates} duplicates, "
                        f"{result.crossings} threshold crossings.",
                    )
                    return HttpResponseRedirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload usage CSV",
            "opts": self.opts,
            "form": form,
            "line_errors": line_errors,
            "columns": COLUMNS,
            "max_rows": MAX_BATCH,
            "changelist_url": changelist,
        }
        status = 400 if form.errors or line_errors else 200
        return TemplateResponse(
            request, "admin/growth/usagesnapshot/upload.html", context, status=status
        )


@admin.register(ExpansionDeal)
class ExpansionDealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Expansion deals playbook steps opened, and what they won: the attribution."""

    list_display = ("deal", "playbook", "version_number", "step_key", "won_at", "won_amount")
    list_filter = ("playbook",)
    search_fields = ("deal__name", "step_key")
    list_select_related = ("deal", "playbook")


@admin.register(ReferralRequest)
class ReferralRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Referral asks playbook steps sent (or held back, with the reason)."""

    list_display = ("contact", "account", "status", "step_key", "created_at", "opened_at")
    list_filter = ("status", "playbook")
    search_fields = ("contact__name", "contact__email", "account__name")
    date_hierarchy = "created_at"
    list_select_related = ("contact", "account")


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What referrers sent, as they sent it, and what it became."""

    list_display = (
        "company",
        "contact_name",
        "referrer_contact",
        "referrer_account",
        "outcome",
        "deal",
        "submitted_at",
        "converted_at",
    )
    list_filter = ("outcome", ("converted_at", admin.EmptyFieldListFilter))
    search_fields = ("company", "contact_name", "email", "referrer_account__name")
    date_hierarchy = "submitted_at"
    list_select_related = ("referrer_contact", "referrer_account", "deal")


@admin.register(RewardRule)
class RewardRuleAdmin(admin.ModelAdmin):
    """What a converted referral earns: the newest active rule applies at the win."""

    list_display = ("name", "kind", "amount", "percent", "currency", "active", "created_at")
    list_filter = ("active", "kind")


@admin.register(Reward)
class RewardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Rewards owed to referrers; select them and mark them issued once paid or sent."""

    list_display = ("referral", "amount", "currency", "status", "created_at", "issued_at")
    list_filter = ("status",)
    search_fields = ("referral__company", "referral__referrer_contact__name")
    list_select_related = ("referral__referrer_contact",)
    actions = ("issue_selected",)

    def has_issue_permission(self, request) -> bool:
        return request.user.has_perm("growth.change_reward")

    @admin.action(description="Mark selected rewards issued", permissions=["issue"])
    def issue_selected(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda reward: reward_issue(reward=reward, actor=request.user),
            name=lambda reward: f"Reward {reward.pk}",
            done=lambda n: f"{n} reward(s) marked issued.",
        )
