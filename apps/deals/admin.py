"""Deals in the admin.

``stage`` is never a form field: each available transition is a button that opens a
small page with that transition's form, and the page changes the stage only through
``apps.deals.services.deal_transition``.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.text import capfirst

from apps.core.admin_tools import (
    ReadOnlyAdminMixin,
    ServiceWritesAdminMixin,
    history_table,
    local_time,
)
from apps.core.errors import DomainError
from apps.deals.models import Deal, DealLineItem, LossReason, Stage, StageChange, WinReason
from apps.deals.origins import origins_for
from apps.deals.selectors import deal_field_changes, deal_timeline
from apps.deals.services import (
    COMMERCIAL_FIELDS,
    TRANSITIONS,
    deal_available_transitions,
    deal_create,
    deal_transition,
    deal_update,
    line_item_add,
    line_item_remove,
    line_item_update,
    local_today,
)

# Transition forms ------------------------------------------------------------------------
# Fields are optional here on purpose: the service names every missing requirement at
# once, with its own wording, instead of the form stopping at the first empty field.


class CloseWonForm(forms.Form):
    win_reason = forms.ModelChoiceField(
        queryset=WinReason.objects.filter(active=True),
        required=False,
        empty_label="— choose a win reason —",
    )
    win_notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Why did the customer choose us?",
    )
    close_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The day it was won: today or before; empty means today in your time zone.",
    )


class CloseLostForm(forms.Form):
    loss_reason = forms.ModelChoiceField(
        queryset=LossReason.objects.filter(active=True),
        required=False,
        empty_label="— choose a loss reason —",
    )
    loss_notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 60})
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why is this deal being reopened? This cancels its running playbooks.",
    )


class StageMoveForm(forms.Form):
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


TRANSITION_FORMS: dict[str, type[forms.Form]] = {
    "close_won": CloseWonForm,
    "close_lost": CloseLostForm,
    "reopen": ReopenForm,
}


def transition_form_class(name: str) -> type[forms.Form]:
    return TRANSITION_FORMS.get(name, StageMoveForm)


# The order of the transition buttons: along the pipeline, then the closing ones.
BUTTON_ORDER = (
    "move_to_new",
    "qualify",
    "propose",
    "negotiate",
    "close_won",
    "close_lost",
    "reopen",
)


def transition_label(name: str) -> str:
    info = TRANSITIONS.get(name)
    return info.label if info else name


def transition_permitted(*, deal: Deal, name: str, user: Any) -> bool:
    """Whether ``user`` holds the permission of transition ``name``, whatever the stage."""
    transitions = Deal._meta.get_field("stage").get_all_transitions(Deal)
    return any(t.has_perm(deal, user) for t in transitions if t.name == name)


def error_label(field: str) -> str:
    if field in ("non_field_errors", "__all__"):
        return ""
    try:
        return capfirst(Deal._meta.get_field(field).verbose_name)
    except (FieldDoesNotExist, AttributeError):
        return capfirst(field.replace("_", " "))


def attach_domain_errors(form: forms.Form, error: DomainError) -> list[tuple[str, str]]:
    """Put the error's messages next to the form's fields; return the rest, labelled."""
    rest = []
    for field, field_messages in error.as_dict().items():
        if field in form.fields:
            form.add_error(field, list(field_messages))
        else:
            rest.extend((error_label(field), message) for message in field_messages)
    return rest


# Inlines ---------------------------------------------------------------------------------


class DealLineItemInline(admin.TabularInline):
    model = DealLineItem
    fields = ("product", "quantity", "unit_price", "total")
    readonly_fields = ("total",)
    autocomplete_fields = ("product",)
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    # A closed deal's line items are a record: shown, not editable (reopen the deal first).
    def has_add_permission(self, request, obj=None) -> bool:
        return not (obj and obj.is_closed) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not (obj and obj.is_closed) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not (obj and obj.is_closed) and super().has_delete_permission(request, obj)

    @admin.display(description="total")
    def total(self, item: DealLineItem):
        if item.unit_price is None or item.quantity is None:
            return "—"
        return item.total


# Admins ----------------------------------------------------------------------------------


@admin.register(Deal)
class DealAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "account",
        "stage",
        "amount",
        "currency",
        "close_date",
        "owner",
        "updated_at",
    )
    list_filter = (
        "stage",
        "kind",
        "pipeline",
        ("owner", admin.RelatedOnlyFieldListFilter),
        "win_reason",
        "loss_reason",
    )
    search_fields = ("name", "account__name")
    list_select_related = ("account", "owner")
    autocomplete_fields = ("account", "primary_contact")
    date_hierarchy = "close_date"
    # The stage and the transition payloads change only through the transition pages.
    readonly_fields = (
        "stage",
        "source",
        "origin",
        "closed_at",
        "win_reason",
        "win_notes",
        "loss_reason",
        "loss_notes",
        "timeline",
        "field_changes",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "account", "owner", "kind", "pipeline", "stage")}),
        ("Origin", {"fields": ("source", "origin")}),
        (
            "Commercials",
            {"fields": ("amount", "currency", "close_date", "term_months", "primary_contact")},
        ),
        (
            "Outcome",
            {"fields": ("closed_at", "win_reason", "win_notes", "loss_reason", "loss_notes")},
        ),
        ("Timeline", {"fields": ("timeline", "field_changes")}),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (DealLineItemInline,)

    def create_through_service(self, request, form) -> Deal:
        return deal_create(actor=request.user, **form.cleaned_data)

    def update_through_service(self, request, obj: Deal, changes: dict[str, Any]) -> None:
        deal_update(deal=obj, actor=request.user, source=StageChange.Source.ADMIN, **changes)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.is_closed:
            # A record now: the service refuses these too; reopen the deal to change them.
            return (*fields, *COMMERCIAL_FIELDS)
        return fields

    def save_formset(self, request, form, formset, change) -> None:
        """Line items go through the deal services too: audited, refused on a closed deal
        or for a rep who does not own it (the refusal comes back on the form)."""
        if formset.model is not DealLineItem:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        admin_source = StageChange.Source.ADMIN
        for item in formset.deleted_objects:
            line_item_remove(
                item=DealLineItem.objects.get(pk=item.pk), actor=request.user, source=admin_source
            )
        for item, fields in formset.changed_objects:
            line_item_update(
                item=DealLineItem.objects.select_related("deal", "product").get(pk=item.pk),
                actor=request.user,
                source=admin_source,
                **{name: getattr(item, name) for name in fields},
            )
        for item in formset.new_objects:
            line_item_add(
                deal=form.instance,
                actor=request.user,
                product=item.product,
                quantity=item.quantity,
                unit_price=item.unit_price,
                source=admin_source,
            )
        return None

    @admin.display(description="field changes")
    def field_changes(self, deal: Deal) -> str:
        changes = deal_field_changes(deal=deal) if deal.pk else []
        return history_table(
            ("Field", "Was", "Now", "Actor", "Source", "When"),
            (
                (
                    change.field.replace("_", " "),
                    change.old_value or "—",
                    change.new_value or "—",
                    change.actor or "—",
                    change.get_source_display(),
                    local_time(change.occurred_at),
                )
                for change in changes
            ),
            empty="No field changes yet.",
        )

    @admin.display(description="origin")
    def origin(self, deal: Deal) -> str:
        """ "Prompted by" (playbook, version, step) or "referred by", from the apps that
        made the deal."""
        found = origins_for([deal.pk]).get(deal.pk, []) if deal.pk else []
        if not found:
            return "—"
        return format_html_join(
            "", "<p><strong>{}</strong> {}</p>", ((o.label, o.text) for o in found)
        )

    @admin.display(description="stage changes")
    def timeline(self, deal: Deal) -> str:
        changes = deal_timeline(deal=deal) if deal.pk else []
        return history_table(
            ("From", "To", "Transition", "Actor", "Source", "Reason", "When"),
            (
                (
                    change.get_from_stage_display(),
                    change.get_to_stage_display(),
                    transition_label(change.transition),
                    change.actor or "—",
                    change.get_source_display(),
                    change.reason or "—",
                    local_time(change.occurred_at),
                )
                for change in changes
            ),
            empty="No stage changes yet.",
        )

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/transition/<slug:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="deals_deal_transition",
            )
        ]
        # Before the defaults: their "<path:object_id>/" catch-all would match first.
        return custom + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["deal_transitions"] = [
                {
                    "label": info.label,
                    "url": reverse("admin:deals_deal_transition", args=[obj.pk, info.name]),
                }
                for info in sorted(
                    deal_available_transitions(deal=obj, user=request.user),
                    key=lambda info: (
                        BUTTON_ORDER.index(info.name) if info.name in BUTTON_ORDER else 99
                    ),
                )
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request: HttpRequest, object_id: str, name: str) -> HttpResponse:
        info = TRANSITIONS.get(name)
        if info is None:
            raise Http404(f"There is no deal transition called “{name}”.")
        deal = self.get_object(request, unquote(object_id))
        if deal is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, deal) or not transition_permitted(
            deal=deal, name=name, user=request.user
        ):
            raise PermissionDenied
        change_url = reverse("admin:deals_deal_change", args=[deal.pk])
        if info not in deal_available_transitions(deal=deal, user=request.user):
            messages.error(
                request,
                f"A deal in stage “{deal.get_stage_display()}” cannot be moved with "
                f"“{info.label.lower()}”.",
            )
            return HttpResponseRedirect(change_url)

        form_class = transition_form_class(name)
        domain_error, other_errors = None, []
        if request.method == "POST":
            form = form_class(request.POST)
            if form.is_valid():
                try:
                    deal_transition(
                        deal=deal,
                        name=name,
                        actor=request.user,
                        source=StageChange.Source.ADMIN,
                        data=form.cleaned_data,
                    )
                except DomainError as exc:
                    domain_error = exc
                    other_errors = attach_domain_errors(form, exc)
                    # The service may have touched the in-memory deal before refusing.
                    deal = self.get_object(request, unquote(object_id))
                else:
                    messages.success(
                        request, f"“{deal}” is now {deal.get_stage_display().lower()}."
                    )
                    return HttpResponseRedirect(change_url)
        else:
            initial = {"close_date": local_today(request.user)} if name == "close_won" else {}
            form = form_class(initial=initial)

        context = {
            **self.admin_site.each_context(request),
            "title": f"{info.label}: {deal}",
            "opts": self.opts,
            "deal": deal,
            "transition": info,
            "target_label": Stage(info.target).label,
            "form": form,
            "domain_error": domain_error,
            "other_errors": other_errors,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/deals/deal/transition.html", context)


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The audit trail of deal transitions: read-only, written only by the services."""

    list_display = (
        "occurred_at",
        "deal",
        "from_stage",
        "to_stage",
        "transition",
        "actor",
        "source",
    )
    list_filter = ("source", "to_stage", "transition")
    search_fields = ("deal__name", "deal__account__name", "reason")
    list_select_related = ("deal", "actor")
    date_hierarchy = "occurred_at"
    fields = (
        "deal",
        "transition",
        "from_stage",
        "to_stage",
        "actor",
        "source",
        "reason",
        "occurred_at",
    )
    readonly_fields = fields


class ReasonAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "description")
    list_filter = ("active",)
    search_fields = ("name",)


@admin.register(WinReason)
class WinReasonAdmin(ReasonAdmin):
    pass


@admin.register(LossReason)
class LossReasonAdmin(ReasonAdmin):
    pass
