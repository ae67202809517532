"""Enroll existing accounts in the admin: a form, a preview with the counts, a
confirmation, then the run's page with a progress bar that htmx refreshes."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.admin_tools import admin_action_each
from apps.core.errors import ValidationFailed
from apps.customers.models import Account, Product
from apps.engine.bulk import (
    ENROLLABLE_LIFECYCLES,
    FILTER_FIELDS,
    MAX_SPREAD_BUSINESS_DAYS,
    account_countries,
    account_segments,
    bulk_enrollment_preview,
    bulk_enrollment_resume,
    bulk_enrollment_start,
    bulk_enrollment_summary,
)
from apps.engine.models import BulkEnrollment
from apps.playbooks.models import Playbook

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
SHORT_LIST = forms.SelectMultiple(attrs={"size": 5})


class PlaybookChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, playbook: Playbook) -> str:
        if playbook.status == Playbook.Status.ACTIVE and playbook.current_version:
            return f"{playbook.name} (v{playbook.current_version.number})"
        return f"{playbook.name} ({playbook.get_status_display().lower()})"


class BulkEnrollmentForm(forms.Form):
    """The request as fields; the service checks it and the form shows its problems
    next to the fields they concern."""

    playbook = PlaybookChoiceField(
        queryset=Playbook.objects.select_related("current_version"),
        help_text="An active playbook with a published version.",
    )
    lifecycle_status = forms.MultipleChoiceField(
        choices=[c for c in Account.Lifecycle.choices if c[0] in ENROLLABLE_LIFECYCLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[Account.Lifecycle.ACTIVE],
        label="Lifecycle status",
        help_text="None ticked: every status. Churned accounts are never enrolled.",
    )
    tier = forms.MultipleChoiceField(
        choices=Account.Tier.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    segment = forms.MultipleChoiceField(
        choices=lambda: [(s, s) for s in account_segments()], required=False, widget=SHORT_LIST
    )
    country = forms.MultipleChoiceField(
        choices=lambda: [(c, c) for c in account_countries()], required=False, widget=SHORT_LIST
    )
    csm = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(managed_accounts__isnull=False).distinct(),
        required=False,
        widget=SHORT_LIST,
        label="CSM",
    )
    products = forms.ModelMultipleChoiceField(
        queryset=Product.objects.all(),
        to_field_name="sku",
        required=False,
        widget=SHORT_LIST,
        help_text="Bought in any of the account's won deals.",
    )
    customer_since_from = forms.DateField(
        required=False,
        widget=DATE_INPUT,
        label="Customer since, from",
        help_text="Customer since: the close date of the account's earliest won deal.",
    )
    customer_since_to = forms.DateField(
        required=False, widget=DATE_INPUT, label="Customer since, to"
    )
    spread_business_days = forms.IntegerField(
        initial=0,
        label="Spread over business days",
        help_text=f"0 starts everyone now; up to {MAX_SPREAD_BUSINESS_DAYS} spreads the start "
        "dates evenly over that many business days in each account's calendar.",
    )

    FIELDSETS = (
        ("Playbook", ("playbook",)),
        ("Which accounts", tuple(FILTER_FIELDS)),
        ("When they start", ("spread_business_days",)),
    )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.FIELDSETS]

    def request_fields(self) -> dict[str, Any]:
        """What the bulk enrollment services take."""
        data = self.cleaned_data
        filters: dict[str, Any] = {
            name: list(data[name])
            for name in ("lifecycle_status", "tier", "segment", "country")
            if data[name]
        }
        if data["csm"]:
            filters["csm"] = [user.pk for user in data["csm"]]
        if data["products"]:
            filters["products"] = [product.sku for product in data["products"]]
        for name in ("customer_since_from", "customer_since_to"):
            if data[name]:
                filters[name] = data[name].isoformat()
        return {
            "playbook": data["playbook"],
            "filters": filters,
            "spread_business_days": data["spread_business_days"],
        }

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        """Put each problem next to its field (``filters.tier`` → tier); a problem with
        the filters as a whole (no account matches) goes at the top."""
        for key, key_messages in problems.items():
            name = key.removeprefix("filters.")
            self.add_error(name if name in self.fields else None, key_messages)


@admin.register(BulkEnrollment)
class BulkEnrollmentAdmin(admin.ModelAdmin):
    """Runs are records: started from the form, changed only by the run itself."""

    list_display = (
        "id",
        "playbook",
        "state",
        "total",
        "enrolled",
        "skipped_count",
        "progress",
        "requested_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("state", "playbook")
    list_select_related = ("playbook", "requested_by")
    date_hierarchy = "created_at"
    # What the run is; how far it got (state, counts, times, error) is the progress
    # panel above these fields, which refreshes itself.
    fields = (
        "playbook",
        "version",
        "filter_description",
        "spread_business_days",
        "requested_by",
        "trigger_event",
        "created_at",
    )
    readonly_fields = fields
    actions = ("resume_selected",)

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("engine.add_bulkenrollment")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("<int:pk>/progress/", progress, name="engine_bulkenrollment_progress"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """The form; "Preview" shows the counts, "Enroll" starts the run."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BulkEnrollmentForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            fields = form.request_fields()
            try:
                if "_confirm" in request.POST:
                    run = bulk_enrollment_start(**fields, actor=request.user)
                    messages.success(request, f"Enrolling the accounts of “{run.playbook}”.")
                    return redirect("admin:engine_bulkenrollment_change", run.pk)
                preview = bulk_enrollment_preview(**fields)
            except ValidationFailed as exc:
                form.add_problems(exc.errors)
        context = {
            **self.admin_site.each_context(request),
            "title": "Enroll existing accounts",
            "opts": self.opts,
            "form": form,
            "preview": preview,
            "max_spread": MAX_SPREAD_BUSINESS_DAYS,
        }
        return TemplateResponse(request, "admin/engine/bulkenrollment/enroll.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        extra = {**(extra_context or {}), **self._progress_context(run)} if run else extra_context
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def progress_view(self, request, pk: int):
        """The progress bar alone, for htmx to swap in every second until the run ends."""
        run = get_object_or_404(BulkEnrollment.objects.select_related("playbook"), pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/engine/bulkenrollment/_progress.html", self._progress_context(run)
        )

    def _progress_context(self, run: BulkEnrollment) -> dict[str, Any]:
        return {
            "run": run,
            "summary": bulk_enrollment_summary(run),
            "progress_url": reverse("admin:engine_bulkenrollment_progress", args=[run.pk]),
        }

    @admin.action(
        description="Resume selected runs (send again, or continue a failed one)",
        permissions=["add"],
    )
    def resume_selected(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda run: bulk_enrollment_resume(bulk_enrollment=run, actor=request.user),
            name=lambda run: f"Run {run.pk}",
            done=lambda n: f"{n} run(s) will continue where they stand.",
        )

    @admin.display(description="skipped")
    def skipped_count(self, run: BulkEnrollment) -> int:
        return run.skipped

    @admin.display(description="progress")
    def progress(self, run: BulkEnrollment) -> str:
        return f"{run.percent}%"

    @admin.display(description="filters")
    def filter_description(self, run: BulkEnrollment) -> str:
        if not run.filters:
            return "Every account that has not churned"
        return "; ".join(
            f"{name.replace('_', ' ')}: "
            + (", ".join(map(str, value)) if isinstance(value, list) else str(value))
            for name, value in run.filters.items()
        )
