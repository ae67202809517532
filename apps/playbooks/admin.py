"""Playbooks in the admin: edit the draft steps, publish them as an immutable version."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header

from apps.core.admin_tools import ReadOnlyAdminMixin, raw_json_disclosure
from apps.core.errors import ValidationFailed
from apps.playbooks import builder_views
from apps.playbooks.forms import (
    PlaybookForm,
    PlaybookStepForm,
    PlaybookStepFormSet,
    payload_filter_fields,
    placeholder_choices,
)
from apps.playbooks.models import Playbook, PlaybookStep, PlaybookVersion
from apps.playbooks.readable import (
    cancel_on_text,
    filters_rows,
    rows_table,
    steps_table,
    trigger_text,
)
from apps.playbooks.selectors import version_diff
from apps.playbooks.services import (
    default_cancel_on,
    playbook_archive,
    playbook_publish,
)
from apps.playbooks.transfer import export_bytes, export_filename
from apps.playbooks.transfer_admin import PlaybookReuseAdminMixin


class PlaybookStepInline(admin.StackedInline):
    """The steps as a timeline: each one a line ("Day 30 at 10:00 — NPS survey (survey,
    nps)") that opens on its fields; a step with a problem is open."""

    model = PlaybookStep
    form = PlaybookStepForm
    formset = PlaybookStepFormSet
    template = "admin/playbooks/playbook/steps_inline.html"
    fieldsets = (
        (None, {"fields": (("name", "key"), "kind")}),
        (
            "When",
            {
                "fields": (
                    ("start", "after_step"),
                    ("delay_days", "delay_hours", "business_days"),
                    ("at_time", "window_start", "window_end"),
                    ("repeat_every_days", "repeat_max"),
                    "position",
                )
            },
        ),
        ("Only if", {"fields": ("conditions",)}),
    )
    ordering = ("position", "id")
    extra = 0


class PlaybookVersionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PlaybookVersion
    fields = ("number", "published_at", "published_by", "step_count")
    readonly_fields = fields
    ordering = ("-number",)
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("published_by")

    @admin.display(description="steps")
    def step_count(self, version: PlaybookVersion) -> int:
        return len(version.steps)


def problem_message(field: str, message: str) -> str:
    """``kickoff.config.queue`` → “Step “kickoff” (queue): …”."""
    if "." not in field:
        return message
    key, _, rest = field.partition(".")
    return f"Step “{key}” ({rest.removeprefix('config.').replace('_', ' ')}): {message}"


def publish_with_messages(request: HttpRequest, playbook: Playbook) -> PlaybookVersion | None:
    """Publish ``playbook`` and report the outcome as admin messages."""
    try:
        version = playbook_publish(playbook=playbook, actor=request.user)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        for field, field_messages in exc.errors.items():
            for message in field_messages:
                messages.error(request, problem_message(field, message))
        return None
    published = f"Published “{playbook}” as version {version.number}."
    if version.number == 1 or not request.user.has_perm("engine.add_enrollmentmove"):
        messages.success(request, published)
        return version
    # Enrollments already running stay on the version they started on; say so, with the
    # way to move them.
    move = reverse("admin:engine_enrollmentmove_add") + f"?to_version={version.pk}"
    messages.success(
        request,
        format_html(
            "{} Enrollments already running stay on their version: "
            '<a href="{}">move running enrollments to version {}</a>.',
            published,
            move,
            version.number,
        ),
    )
    return version


@admin.register(Playbook)
class PlaybookAdmin(PlaybookReuseAdminMixin, admin.ModelAdmin):
    form = PlaybookForm
    list_display = ("name", "trigger", "status", "current_version", "step_count", "updated_at")
    list_filter = ("status", "trigger")
    search_fields = ("name", "description")
    list_select_related = ("current_version__playbook",)
    # Status changes only by publishing (active) or the archive action.
    readonly_fields = ("status", "current_version", "draft_state", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "description", "status")}),  # status: publish / archive
        ("Enrollment", {"fields": ("trigger", "enrollment_policy", "account_cooldown_days")}),
        (
            "Which deals enroll",
            {
                "fields": (
                    ("deal_kinds", "account_tiers"),
                    ("min_amount", "max_amount"),
                    ("account_segments", "countries"),
                    ("product_families", "products_bought", "products_not_bought"),
                ),
                "description": "Nothing chosen in a list: any value passes.",
            },
        ),
        ("Cancelling", {"fields": ("cancel_on",)}),
        ("Publishing", {"fields": ("current_version", "draft_state")}),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (PlaybookStepInline, PlaybookVersionInline)
    actions = ("publish_selected", "archive_selected")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(step_count=Count("steps"))

    def get_form(self, request, obj=None, change=False, **kwargs):
        # A trigger's own filters are added by the form itself (they are registered, so
        # the form class cannot declare them).
        own = payload_filter_fields()
        fields = kwargs.get("fields") or flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [field for field in fields if field not in own]
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        # Triggers register their own filters (the stage a deal entered) once apps are ready.
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fieldsets.append((name, options))
            if name == "Which deals enroll":
                own = {"fields": tuple(payload_filter_fields()), "classes": ("collapse",)}
                fieldsets.append(("Filters of a trigger (the stage entered, the band…)", own))
        return fieldsets

    @admin.display(description="steps", ordering="step_count")
    def step_count(self, playbook: Playbook) -> int:
        return playbook.step_count

    @admin.display(description="draft")
    def draft_state(self, playbook: Playbook) -> str:
        if playbook.pk is None:
            return "Not saved yet"
        version = playbook.current_version
        if version is None:
            return "Never published"
        draft = (
            playbook.trigger,
            playbook.filters,
            playbook.cancel_on or default_cancel_on(),
            [step.as_snapshot() for step in playbook.steps.all()],
        )
        if draft == (version.trigger, version.filters, version.cancel_on, version.steps):
            return f"Same as version {version.number}"
        return f"Changed since version {version.number}; publish to use the changes"

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("playbooks.publish_playbook")

    @admin.action(description="Publish selected playbooks", permissions=["publish"])
    def publish_selected(self, request: HttpRequest, queryset) -> None:
        for playbook in queryset:
            publish_with_messages(request, playbook)

    @admin.action(
        description="Archive selected playbooks (stop new enrollments)", permissions=["publish"]
    )
    def archive_selected(self, request: HttpRequest, queryset) -> None:
        for playbook in queryset:
            playbook_archive(playbook=playbook, actor=request.user)
        messages.success(
            request, f"Archived {queryset.count()} playbook(s); running enrollments finish."
        )

    def get_urls(self):
        custom = [
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="playbooks_playbook_publish",
            ),
            path(
                "builder/step-settings/",
                self.admin_site.admin_view(builder_views.step_config_view),
                name="playbooks_playbook_step_config",
            ),
            path(
                "builder/template-preview/",
                self.admin_site.admin_view(builder_views.template_preview_view),
                name="playbooks_playbook_template_preview",
            ),
        ]
        return custom + super().get_urls()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["placeholders"] = placeholder_choices()
        context["preview_deals"] = builder_views.preview_deals()
        if obj is not None and obj.pk and self.has_publish_permission(request):
            context["publish_url"] = reverse("admin:playbooks_playbook_publish", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def publish_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        playbook = self.get_object(request, unquote(object_id))
        if playbook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_publish_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:playbooks_playbook_change", args=[playbook.pk])
        if request.method == "POST":
            publish_with_messages(request, playbook)
            return HttpResponseRedirect(change_url)
        last = playbook.versions.order_by("-number").values_list("number", flat=True).first()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Publish {playbook}",
            "opts": self.opts,
            "playbook": playbook,
            "steps": playbook.steps.all(),
            "next_number": (last or 0) + 1,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/playbooks/playbook/publish.html", context)


@admin.register(PlaybookVersion)
class PlaybookVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Published versions are immutable; enrollments stay on the version they started on."""

    list_display = ("playbook", "number", "trigger", "step_count", "published_by", "published_at")
    list_filter = ("playbook", "trigger")
    search_fields = ("playbook__name",)
    list_select_related = ("playbook", "published_by")
    fields = (
        "playbook",
        "number",
        "trigger_label",
        "published_by",
        "published_at",
        "compare",
        "export",
        "filters_table",
        "cancel_on_list",
        "steps_readable",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("core/admin-readable.css",)}

    def get_urls(self):
        diff = self.admin_site.admin_view(self.diff_view)
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("<int:pk>/diff/", diff, name="playbooks_playbookversion_diff"),
            path("<int:pk>/export/", export, name="playbooks_playbookversion_export"),
            *super().get_urls(),
        ]

    @admin.display(description="compare")
    def compare(self, version: PlaybookVersion) -> str:
        if version.number == 1:
            return "First version"
        url = reverse("admin:playbooks_playbookversion_diff", args=[version.pk])
        return format_html('<a href="{}">Changes since v{}</a>', url, version.number - 1)

    def diff_view(self, request, pk: int):
        """What changed between this version and another (the previous one by default)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        new = get_object_or_404(PlaybookVersion.objects.select_related("playbook"), pk=pk)
        others = new.playbook.versions.exclude(pk=new.pk).order_by("-number")
        against = request.GET.get("against")
        if against is not None and not against.isdecimal():
            old, error = None, f"“{against}” is not a version number."
        else:
            number = int(against) if against else new.number - 1
            old = others.filter(number=number).first()
            error = None if old else f"{new.playbook.name} has no version {number} to compare with."
        context = {
            **self.admin_site.each_context(request),
            "title": f"{new.playbook.name}: changes in v{new.number}",
            "version": new,
            "other_versions": others,
            "old": old,
            "error": error,
            "diff": version_diff(old=old, new=new) if old else [],
            "opts": PlaybookVersion._meta,
        }
        return TemplateResponse(request, "admin/playbooks/playbookversion/diff.html", context)

    @admin.display(description="steps")
    def step_count(self, version: PlaybookVersion) -> int:
        return len(version.steps)

    @admin.display(description="export")
    def export(self, version: PlaybookVersion) -> str:
        url = reverse("admin:playbooks_playbookversion_export", args=[version.pk])
        return format_html(
            '<a href="{}" download>Export as a file ({})</a> — import it as a draft here or '
            "on another installation (Playbooks › Import from a file).",
            url,
            export_filename(version),
        )

    def export_view(self, request, pk: int) -> HttpResponse:
        """The version as a JSON file to download (``apps.playbooks.transfer``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(PlaybookVersion.objects.select_related("playbook"), pk=pk)
        response = HttpResponse(export_bytes(version), content_type="application/json")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=export_filename(version)
        )
        return response

    @admin.display(description="filters")
    def filters_table(self, version: PlaybookVersion) -> str:
        return raw_json_disclosure(rows_table(filters_rows(version.filters)), version.filters)

    @admin.display(description="cancel on")
    def cancel_on_list(self, version: PlaybookVersion) -> str:
        labels = cancel_on_text(version.cancel_on)
        readable = format_html_join("", "<li>{}</li>", ((label,) for label in labels))
        return raw_json_disclosure(
            format_html('<ul class="playbook-list">{}</ul>', readable) if labels else "Nothing",
            version.cancel_on,
        )

    @admin.display(description="steps")
    def steps_readable(self, version: PlaybookVersion) -> str:
        return raw_json_disclosure(steps_table(version.steps), version.steps)

    @admin.display(description="trigger", ordering="trigger")
    def trigger_label(self, version: PlaybookVersion) -> str:
        return trigger_text(version.trigger)
