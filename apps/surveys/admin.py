from django.contrib import admin

from apps.core.admin_tools import ReadOnlyAdminMixin
from apps.surveys.models import ContactPolicy, Invitation, Response, Survey
from apps.surveys.services import answer_url


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """The wording of each survey; playbooks' survey steps name one by its slug."""

    list_display = ("name", "slug", "kind", "question", "expires_after_days", "remind_after_days")
    list_filter = ("kind",)
    search_fields = ("name", "slug", "question")
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "question")}),
        (
            "Follow-up question, by answer",
            {
                "fields": ("follow_up_low", "follow_up_mid", "follow_up_high"),
                "description": "Low is a detractor (NPS 0–6) or a low score; mid a passive "
                "(7–8) or neutral; high a promoter (9–10) or a high score.",
            },
        ),
        ("Thank-you text, by answer", {"fields": ("thanks_low", "thanks_mid", "thanks_high")}),
        ("Timing", {"fields": ("expires_after_days", "remind_after_days")}),
    )


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin):
    """How often customers may be asked, across every playbook."""

    list_display = (
        "__str__",
        "contact_days",
        "account_max",
        "account_days",
        "quiet_during_escalation",
    )

    def has_add_permission(self, request) -> bool:
        return not ContactPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who was asked, and who the contact policy held back and why. Read-only."""

    list_display = (
        "id",
        "survey",
        "contact",
        "account",
        "status",
        "suppressed_reason",
        "created_at",
        "expires_at",
        "reminded_at",
    )
    list_filter = ("status", "survey")
    search_fields = ("contact__name", "contact__email", "account__name", "suppressed_reason")
    date_hierarchy = "created_at"
    list_select_related = ("survey", "contact", "account")
    readonly_fields = ("link",)

    @admin.display(description="Answer link")
    def link(self, invitation: Invitation) -> str:
        return answer_url(invitation) if invitation.status == Invitation.Status.SENT else "–"


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What customers answered: kept as given (follow-ups are made in the CS web UI)."""

    list_display = (
        "id",
        "answered_at",
        "account",
        "kind",
        "score",
        "band",
        "segment",
        "csm",
        "followed_up_at",
    )
    list_filter = ("kind", "band", "segment")
    search_fields = ("account__name", "contact__name", "comment")
    date_hierarchy = "answered_at"
    list_select_related = ("account", "csm")
