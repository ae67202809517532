from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from knox import admin as knox_admin  # noqa: F401  (its registration runs before ours)
from knox.models import AuthToken as KnoxAuthToken

from apps.apitokens.models import ApiToken
from apps.apitokens.services import api_tokens_revoke

# knox registers its own token model, which ours replaces (KNOX_TOKEN_MODEL); its admin
# would also make tokens and show their keys.
if admin.site.is_registered(KnoxAuthToken):
    admin.site.unregister(KnoxAuthToken)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Anyone's tokens, to revoke. Nothing here makes a token or shows a key (only its
    digest is stored; the digest is not shown either)."""

    list_display = ["name", "user", "created", "expiry", "last_used_at"]
    list_select_related = ["user"]
    list_filter = ["created", "expiry"]
    search_fields = ["name", "user__username", "user__email"]
    date_hierarchy = "created"
    fields = ["user", "name", "created", "expiry", "last_used_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # "Revoke" is the same, in words that fit
        return actions

    @admin.action(description="Revoke the selected tokens", permissions=["delete"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)

    def delete_model(self, request: HttpRequest, obj: ApiToken) -> None:
        api_tokens_revoke(tokens=ApiToken.objects.filter(pk=obj.pk))
