"""The engine's rows, read-only: enrollments and step runs change only through the
engine's services, so the admin is for watching runs, not for editing them."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path

from apps.core import clock
from apps.core.admin_tools import ReadOnlyAdminMixin, admin_action_each, json_table
from apps.core.errors import ValidationFailed
from apps.deals.models import Deal
from apps.engine import (
    bulk_admin,  # noqa: F401  (registers the bulk enrollment admin)
    move_admin,  # noqa: F401  (registers the enrollment moves admin)
)
from apps.engine.models import CompanyHoliday, Enrollment, StepRun
from apps.engine.selectors import playbook_numbers
from apps.engine.services import (
    enrollment_pause,
    enrollment_resume,
    step_run_retry,
    step_run_run_now,
)
from apps.engine.simulation import playbook_simulate
from apps.playbooks.builder_views import preview_deals
from apps.playbooks.models import Playbook


class PreviewForm(forms.Form):
    deal = forms.IntegerField(
        required=False,
        min_value=1,
        label="Deal id",
        help_text="Type an id, or pick one of the latest won deals. Empty: a sample deal.",
        widget=forms.NumberInput(attrs={"list": "preview-deals"}),
    )
    days = forms.IntegerField(min_value=1, max_value=730, initial=180)

    def clean_deal(self):
        deal_id = self.cleaned_data["deal"]
        if deal_id is None:
            return None
        deal = Deal.objects.select_related("account").filter(pk=deal_id).first()
        if deal is None:
            raise forms.ValidationError(f"There is no deal with id {deal_id}.")
        return deal


class StepRunInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StepRun
    fields = (
        "step_key",
        "occurrence",
        "kind",
        "state",
        "due_at",
        "moved_because",
        "attempts",
        "last_error",
    )
    readonly_fields = fields
    ordering = ("due_at", "id")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "deal", "account", "playbook", "version_number", "state", "created_at")
    list_filter = ("state", "playbook")
    search_fields = ("deal__name", "account__name", "playbook__name")
    list_select_related = ("deal", "account", "playbook", "version")
    date_hierarchy = "created_at"
    fields = (
        "playbook",
        "version",
        "deal",
        "account",
        "trigger_event",
        "state",
        "generation",
        "cancelled_reason",
        "paused_at",
        "context_json",
        "created_at",
        "timed_from",
        "updated_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = (StepRunInline,)

    class Media:
        css = {"all": ("core/admin-readable.css",)}

    actions = ("pause_selected", "resume_selected")

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("engine.change_enrollment")

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        numbers = self.admin_site.admin_view(self.numbers_view)
        return [
            path("preview/<int:playbook_id>/", preview, name="engine_playbook_preview"),
            path("numbers/<int:playbook_id>/", numbers, name="engine_playbook_numbers"),
            *super().get_urls(),
        ]

    def preview_view(self, request, playbook_id: int):
        """The playbook's current draft run against a deal on a virtual clock, rolled back."""
        if not request.user.has_perm("playbooks.view_playbook"):
            raise PermissionDenied
        playbook = get_object_or_404(Playbook, pk=playbook_id)
        form = PreviewForm(request.GET or None)
        rows, problems = None, None
        if not form.is_bound or form.is_valid():
            data = form.cleaned_data if form.is_bound else {"deal": None, "days": 180}
            try:
                rows = playbook_simulate(playbook=playbook, deal=data["deal"], days=data["days"])
            except ValidationFailed as exc:
                problems = exc.errors
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview timeline: {playbook.name}",
            "playbook": playbook,
            "form": form,
            "rows": rows,
            "problems": problems,
            "preview_deals": preview_deals(),
            "opts": Playbook._meta,
        }
        return TemplateResponse(request, "admin/engine/playbook_preview.html", context)

    def numbers_view(self, request, playbook_id: int):
        """A playbook's numbers: enrolled, active, completed, cancelled, and per step
        reached, done, skipped, dead. The playbook's page loads the table (htmx); without
        JavaScript its link opens this page."""
        if not request.user.has_perm("playbooks.view_playbook"):
            raise PermissionDenied
        playbook = get_object_or_404(Playbook, pk=playbook_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Numbers: {playbook.name}",
            "playbook": playbook,
            "numbers": playbook_numbers(playbook=playbook),
            "opts": Playbook._meta,
        }
        template = "admin/engine/_playbook_numbers.html" if request.htmx else None
        return TemplateResponse(request, template or "admin/engine/playbook_numbers.html", context)

    @admin.action(description="Pause selected enrollments", permissions=["manage"])
    def pause_selected(self, request, queryset) -> None:
        self._run_for_each(request, queryset, enrollment_pause, "Paused")

    @admin.action(description="Resume selected enrollments", permissions=["manage"])
    def resume_selected(self, request, queryset) -> None:
        self._run_for_each(request, queryset, enrollment_resume, "Resumed")

    def _run_for_each(self, request, queryset, service, verb: str) -> None:
        admin_action_each(
            request,
            queryset,
            lambda enrollment: service(enrollment=enrollment, actor=request.user),
            name=lambda enrollment: f"Enrollment {enrollment.pk}",
            done=lambda n: f"{verb} {n} enrollment{'s' if n != 1 else ''}.",
        )

    @admin.display(description="version", ordering="version__number")
    def version_number(self, enrollment: Enrollment) -> str:
        return f"v{enrollment.version.number}"

    @admin.display(description="context")
    def context_json(self, enrollment: Enrollment) -> str:
        return json_table(enrollment.context, empty="Nothing yet: no step has left a result.")


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    actions = ("run_now_selected", "retry_selected")

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("engine.change_steprun")

    @admin.action(description="Run selected scheduled steps now", permissions=["retry"])
    def run_now_selected(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda run: step_run_run_now(step_run=run, actor=request.user),
            name=lambda run: f"Step run {run.pk}",
            done=lambda n: f"{n} step run(s) are due now; a worker runs them in seconds.",
        )

    @admin.action(description="Retry selected dead or failed steps", permissions=["retry"])
    def retry_selected(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda run: step_run_retry(step_run=run, actor=request.user),
            name=lambda run: f"Step run {run.pk}",
            done=lambda n: f"{n} step run(s) will run at the next dispatch.",
        )

    def changelist_view(self, request, extra_context=None):
        now = clock.now()
        counts = StepRun.objects.aggregate(
            due=Count("id", filter=Q(state__in=StepRun.DUE_STATES, due_at__lte=now)),
            waiting=Count("id", filter=Q(state__in=StepRun.DUE_STATES, due_at__gt=now)),
            running=Count("id", filter=Q(state=StepRun.State.RUNNING)),
            dead=Count("id", filter=Q(state=StepRun.State.DEAD)),
        )
        summary = ", ".join(f"{n} {label}" for label, n in counts.items())
        extra_context = {**(extra_context or {}), "subtitle": f"Now: {summary}"}
        return super().changelist_view(request, extra_context=extra_context)

    list_display = (
        "id",
        "step_key",
        "occurrence",
        "kind",
        "deal",
        "playbook",
        "state",
        "due_at",
        "attempts",
        "short_error",
    )
    list_filter = ("state", "kind", "enrollment__playbook")
    search_fields = ("step_key", "enrollment__deal__name", "enrollment__account__name")
    list_select_related = ("enrollment__deal", "enrollment__playbook")
    date_hierarchy = "due_at"
    fields = (
        "enrollment",
        "step_key",
        "occurrence",
        "kind",
        "state",
        "planned_at",
        "due_at",
        "moved_because",
        "attempts",
        "lease_until",
        "generation",
        "last_error",
        "result_json",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("core/admin-readable.css",)}

    @admin.display(description="deal", ordering="enrollment__deal__name")
    def deal(self, run: StepRun):
        return run.enrollment.deal

    @admin.display(description="playbook", ordering="enrollment__playbook__name")
    def playbook(self, run: StepRun):
        return run.enrollment.playbook

    @admin.display(description="last error")
    def short_error(self, run: StepRun) -> str:
        return run.last_error[:80]

    @admin.display(description="result")
    def result_json(self, run: StepRun) -> str:
        return json_table(run.result, empty="No result yet.")

    def get_queryset(self, request):
        # The change page shows the enrollment's __str__ (deal and version).
        return (
            super()
            .get_queryset(request)
            .select_related(
                "enrollment__deal", "enrollment__playbook", "enrollment__version__playbook"
            )
        )


class CompanyHolidayForm(forms.ModelForm):
    class Meta:
        model = CompanyHoliday
        fields = ("date", "name", "countries")

    def clean_countries(self):
        countries = self.cleaned_data.get("countries") or []
        if not isinstance(countries, list) or not all(
            isinstance(c, str) and len(c) == 2 and c.isalpha() and c.isupper() for c in countries
        ):
            raise forms.ValidationError(
                'Use a list of two-letter country codes, e.g. ["DE", "AT"].'
            )
        return countries


@admin.register(CompanyHoliday)
class CompanyHolidayAdmin(admin.ModelAdmin):
    form = CompanyHolidayForm
    list_display = ("date", "name", "countries")
    search_fields = ("name",)
    date_hierarchy = "date"
