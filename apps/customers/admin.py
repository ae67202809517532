from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count

from apps.core.admin_tools import (
    ServiceWritesAdminMixin,
    admin_action_each,
    history_table,
    local_time,
)
from apps.customers.models import (
    Account,
    ConsentChange,
    Contact,
    Product,
    ProductFamily,
)
from apps.customers.services import (
    CONTACT_DETAILS,
    account_create,
    account_mark_churned,
    account_set_lifecycle,
    account_update,
    contact_create,
    contact_update,
    require_covers,
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
    actions = ("mark_churned", "mark_active")

    @admin.action(description="Mark selected accounts as active customers", permissions=["change"])
    def mark_active(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda account: account_set_lifecycle(
                account=account,
                status=Account.Lifecycle.ACTIVE,
                actor=request.user,
                reason="Onboarding done (marked in admin)",
            ),
            name=str,
            done=lambda n: f"{n} account(s) are active customers now.",
        )

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

    def save_formset(self, request, form, formset, change) -> None:
        """Contacts edited here go through the contact services too: coverage, the
        consent rules and their record (a refusal comes back on the form)."""
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        if formset.deleted_objects:
            for contact in formset.deleted_objects:
                require_covers(request.user, contact.account, "remove its contacts")
                contact.delete()
        for contact, fields in formset.changed_objects:
            contact_update(
                contact=Contact.objects.select_related("account").get(pk=contact.pk),
                actor=request.user,
                **{name: getattr(contact, name) for name in fields},
            )
        for contact in formset.new_objects:
            contact_create(
                actor=request.user,
                account=form.instance,
                **{name: getattr(contact, name) for name in CONTACT_DETAILS},
            )
        return None

    readonly_fields = ("lifecycle_history", "created_at", "updated_at")

    @admin.display(description="lifecycle history")
    def lifecycle_history(self, account: Account) -> str:
        """The account's lifecycle moves, with who and why (a record: read-only)."""
        moves = account.lifecycle_changes.select_related("actor") if account.pk else []
        return history_table(
            ("When", "From", "To", "By", "Why"),
            (
                (
                    local_time(move.at),
                    move.get_from_status_display(),
                    move.get_to_status_display(),
                    move.actor or "system",
                    move.reason or "—",
                )
                for move in moves
            ),
            empty="—",
        )

    fieldsets = (
        (None, {"fields": ("name", "domain", "tier", "segment", "lifecycle_status")}),
        ("Location", {"fields": ("country", "timezone")}),
        ("People", {"fields": ("owner", "csm")}),
        ("Lifecycle", {"fields": ("lifecycle_history",)}),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (ContactInline,)


class ConsentChangeInline(admin.TabularInline):
    """When and how the contact said yes or no to customer email. A record: read-only."""

    model = ConsentChange
    fields = ("at", "unsubscribed", "how", "actor", "reason", "email_id")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ContactAdminForm(forms.ModelForm):
    consent_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="To clear “unsubscribed” (admins only): why the contact may be emailed "
        "again, e.g. “asked us in writing on 3 Dec”. Recorded with the change.",
    )

    class Meta:
        model = Contact
        fields = ("account", *CONTACT_DETAILS)


@admin.register(Contact)
class ContactAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = ("name", "email", "title", "account", "is_primary", "unsubscribed")
    list_filter = ("is_primary", "unsubscribed")
    search_fields = ("name", "email", "account__name")
    list_select_related = ("account",)
    autocomplete_fields = ("account",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [ConsentChangeInline]

    form = ContactAdminForm

    def create_through_service(self, request, form) -> Contact:
        data = dict(form.cleaned_data)
        data.pop("consent_reason", None)
        return contact_create(actor=request.user, **data)

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
