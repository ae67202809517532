from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count

from apps.core.admin_tools import ServiceWritesAdminMixin, admin_action_each
from apps.customers.models import Account, ConsentChange, Contact, Product, ProductFamily
from apps.customers.services import (
    account_create,
    account_mark_churned,
    account_update,
    contact_create,
    contact_update,
)


class ContactInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        primaries = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_primary") and not form.cleaned_data.get("DELETE")
        ]
        # The per-form constraint check only sees saved rows; two new primaries in one
        # submit would otherwise reach the database constraint.
        if len(primaries) > 1:
            raise forms.ValidationError("Only one contact can be the primary contact.")


class ContactInline(admin.TabularInline):
    model = Contact
    formset = ContactInlineFormSet
    fields = ("name", "email", "title", "is_primary", "unsubscribed")
    extra = 0


@admin.register(Account)
class AccountAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "country",
        "timezone",
        "tier",
        "segment",
        "lifecycle_status",
        "owner",
        "csm",
    )
    list_filter = ("tier", "lifecycle_status", "country", ("csm", admin.RelatedOnlyFieldListFilter))
    actions = ("mark_churned",)

    @admin.action(description="Mark selected accounts as churned", permissions=["change"])
    def mark_churned(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda account: account_mark_churned(
                account=account, actor=request.user, reason="Marked in admin"
            ),
            name=str,
            done=lambda n: f"{n} account(s) marked as churned; their playbooks stop.",
        )

    search_fields = ("name", "domain")
    list_select_related = ("owner", "csm")

    def create_through_service(self, request, form) -> Account:
        return account_create(actor=request.user, **form.cleaned_data)

    def update_through_service(self, request, obj: Account, changes: dict[str, Any]) -> None:
        # Churning cancels running playbooks: the service hands the lifecycle on.
        account_update(account=obj, actor=request.user, **changes)

    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "domain", "tier", "segment", "lifecycle_status")}),
        ("Location", {"fields": ("country", "timezone")}),
        ("People", {"fields": ("owner", "csm")}),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ContactInline,)


class ConsentChangeInline(admin.TabularInline):
    """When and how the contact said yes or no to customer email. A record: read-only."""

    model = ConsentChange
    fields = ("at", "unsubscribed", "how", "actor", "email_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "email", "title", "account", "is_primary", "unsubscribed")
    list_filter = ("is_primary", "unsubscribed")
    search_fields = ("name", "email", "account__name")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [ConsentChangeInline]

    def create_through_service(self, request, form) -> Contact:
        return contact_create(actor=request.user, **form.cleaned_data)

    def update_through_service(self, request, obj: Contact, changes: dict[str, Any]) -> None:
        contact_update(contact=obj, actor=request.user, **changes)


@admin.register(ProductFamily)
class ProductFamilyAdmin(admin.ModelAdmin):
    list_display = ("name", "product_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_count=Count("products"))

    @admin.display(description="products", ordering="product_count")
    def product_count(self, family: ProductFamily) -> int:
        return family.product_count


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "family", "list_price", "currency", "active")
    list_filter = ("family", "active", "currency")
    search_fields = ("sku", "name")
    list_select_related = ("family",)
    readonly_fields = ("created_at", "updated_at")
