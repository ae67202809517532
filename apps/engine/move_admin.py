"""Moving running enrollments to another version, in the admin: a form whose dry run
lists what happens to each enrollment's steps, a confirmation, then the move's page with a
progress bar that htmx refreshes, and the record of each enrollment's move."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin_tools import ReadOnlyAdminMixin, admin_action_each
from apps.core.errors import ValidationFailed
from apps.engine.models import EnrollmentMove, EnrollmentVersionChange
from apps.engine.moves import (
    CHANGE_LABELS,
    enrollment_move_preview,
    enrollment_move_resume,
    enrollment_move_start,
    enrollment_move_summary,
    move_request_check,
)
from apps.playbooks.models import PlaybookVersion

PLANS_PER_PAGE = 25
NO_SUCH_VERSION = (
    "There is no published version with id %(value)s. A draft must be published before "
    "enrollments can move to it."
)


def _version_label(version: PlaybookVersion) -> str:
    return f"{version.playbook.name} v{version.number}"


class MoveForm(forms.Form):
    """The request as fields; the service checks it (nothing to move included) and the
    form shows each problem next to its field."""

    to_version = forms.TypedChoiceField(
        coerce=int,
        label="Move to",
        error_messages={"invalid_choice": NO_SUCH_VERSION},
    )
    from_version = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Move enrollments on",
        error_messages={"invalid_choice": "Choose a version of the same playbook."},
    )
    added_steps = forms.ChoiceField(
        choices=EnrollmentMove.AddedSteps.choices,
        initial=EnrollmentMove.AddedSteps.FROM_START,
        widget=forms.RadioSelect,
        label="Added steps",
        help_text="A step the new version adds is timed as if it had been there from the "
        "enrollment's start (a step after another from when that one ran). When that time "
        "has passed, it runs now, or is timed from now.",
    )
    retimed_steps = forms.ChoiceField(
        choices=EnrollmentMove.RetimedSteps.choices,
        initial=EnrollmentMove.RetimedSteps.RETIME,
        widget=forms.RadioSelect,
        label="Steps whose timing changed",
    )
    canary = forms.IntegerField(
        required=False,
        min_value=1,
        label="Canary: move only the first",
        help_text="A number of enrollments to move first, to check on them before the "
        "rest. Empty moves every one.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        versions = list(
            PlaybookVersion.objects.select_related("playbook").order_by("playbook__name", "-number")
        )
        self.fields["to_version"].choices = [("", "---------")] + [
            (v.pk, _version_label(v)) for v in versions
        ]
        target = self.data.get("to_version") or self.initial.get("to_version")
        playbook_id = next((v.playbook_id for v in versions if str(v.pk) == str(target)), None)
        self.fields["from_version"].choices = [("", "Every other version")] + [
            (v.pk, f"v{v.number}")
            for v in versions
            if playbook_id is None or v.playbook_id == playbook_id
        ]

    def request_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "to_version": data["to_version"],
            "from_version": data["from_version"],
            "added_steps": data["added_steps"],
            "retimed_steps": data["retimed_steps"],
            "canary": data["canary"],
        }

    def add_problems(self, problems: dict[str, list[str]]) -> None:
        for name, field_messages in problems.items():
            self.add_error(name if name in self.fields else None, field_messages)


@admin.register(EnrollmentMove)
class EnrollmentMoveAdmin(admin.ModelAdmin):
    """Moves are records: started from the form, changed only by the run itself."""

    list_display = (
        "id",
        "playbook",
        "to_version",
        "state",
        "total",
        "moved",
        "failed",
        "unchanged",
        "progress",
        "requested_by",
        "created_at",
    )
    list_filter = ("state", "playbook")
    list_select_related = ("playbook", "to_version__playbook", "requested_by")
    fields = (
        "playbook",
        "to_version",
        "from_version_label",
        "added_steps",
        "retimed_steps",
        "canary",
        "requested_by",
        "created_at",
    )
    readonly_fields = fields
    actions = ("resume_selected",)

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("engine.add_enrollmentmove")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("<int:pk>/progress/", progress, name="engine_enrollmentmove_progress"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        """The form (``?to_version=<id>`` from a version's page); "Dry run" (a GET: it
        changes nothing) lists what happens to each enrollment, "Move" starts the run."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.method == "POST"
        asked = posted or "dry_run" in request.GET
        form = MoveForm(request.POST if posted else (request.GET if asked else None))
        preview = page = None
        if asked and form.is_valid():
            fields = form.request_fields()
            try:
                if posted:
                    move = enrollment_move_start(**fields, actor=request.user)
                    messages.success(
                        request,
                        f"Moving {move.total} enrollments to {_version_label(move.to_version)}.",
                    )
                    return redirect("admin:engine_enrollmentmove_change", move.pk)
                request_ = move_request_check(**fields)
                page = self._page_number(request)
                preview = enrollment_move_preview(
                    request=request_, offset=(page - 1) * PLANS_PER_PAGE, limit=PLANS_PER_PAGE
                )
            except ValidationFailed as exc:
                form.add_problems(exc.errors)
        elif "to_version" in request.GET:
            # Arriving from a version's page: the defaults, and any problem (an unknown
            # version, nothing to move) said at once, before the dry run is asked for.
            form = MoveForm({**self._defaults(), "to_version": request.GET["to_version"]})
            if form.is_valid():
                try:
                    move_request_check(**form.request_fields())
                except ValidationFailed as exc:
                    form.add_problems(exc.errors)
        context = {
            **self.admin_site.each_context(request),
            "title": "Move running enrollments to a version",
            "opts": self.opts,
            "form": form,
            "preview": preview,
            "pages": self._pages(preview, page) if preview else None,
            "query": self._query_without_page(request),
        }
        return TemplateResponse(request, "admin/engine/enrollmentmove/move.html", context)

    @staticmethod
    def _defaults() -> dict[str, str]:
        return {
            "added_steps": EnrollmentMove.AddedSteps.FROM_START,
            "retimed_steps": EnrollmentMove.RetimedSteps.RETIME,
        }

    @staticmethod
    def _page_number(request) -> int:
        value = request.GET.get("page", "1")
        return int(value) if value.isdecimal() and int(value) > 0 else 1

    @staticmethod
    def _pages(preview, page: int):
        return Paginator(range(preview.to_move), PLANS_PER_PAGE).get_page(page)

    @staticmethod
    def _query_without_page(request) -> str:
        query = request.GET.copy()
        query.pop("page", None)
        return query.urlencode()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        move = self.get_object(request, object_id)
        extra = extra_context or {}
        if move is not None:
            changes = move.changes.select_related(
                "enrollment__account", "from_version", "to_version", "moved_by"
            ).order_by("enrollment_id")
            page = Paginator(changes, 50).get_page(request.GET.get("page"))
            extra = {**extra, **self._progress_context(move), "changes": page}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def progress_view(self, request, pk: int):
        """The progress bar alone, for htmx to swap in every second until the move ends."""
        move = get_object_or_404(
            EnrollmentMove.objects.select_related("playbook", "to_version"), pk=pk
        )
        if not self.has_view_permission(request, move):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/engine/enrollmentmove/_progress.html", self._progress_context(move)
        )

    def _progress_context(self, move: EnrollmentMove) -> dict[str, Any]:
        remaining = None
        if move.state == EnrollmentMove.State.DONE and move.canary:
            remaining = reverse("admin:engine_enrollmentmove_add") + (
                f"?to_version={move.to_version_id}&added_steps={move.added_steps}"
                f"&retimed_steps={move.retimed_steps}&dry_run=1"
            )
        return {
            "move": move,
            "summary": enrollment_move_summary(move),
            "progress_url": reverse("admin:engine_enrollmentmove_progress", args=[move.pk]),
            "remaining_url": remaining,
        }

    @admin.action(
        description="Resume selected moves (send again, or continue a failed one)",
        permissions=["add"],
    )
    def resume_selected(self, request, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda move: enrollment_move_resume(move=move, actor=request.user),
            name=lambda move: f"Move {move.pk}",
            done=lambda n: f"{n} move(s) will continue where they stand.",
        )

    @admin.display(description="progress")
    def progress(self, move: EnrollmentMove) -> str:
        return f"{move.percent}%"

    @admin.display(description="from")
    def from_version_label(self, move: EnrollmentMove) -> str:
        return f"v{move.from_version.number}" if move.from_version else "Every other version"


@admin.register(EnrollmentVersionChange)
class EnrollmentVersionChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who moved which enrollment from which version to which, and what that did to each
    step; or why a move failed and left the enrollment where it was."""

    list_display = ("id", "enrollment", "from_label", "to_label", "outcome", "moved_by", "moved_at")
    list_filter = ("outcome", "to_version__playbook")
    list_select_related = (
        "enrollment__account",
        "enrollment__version__playbook",
        "from_version",
        "to_version",
        "moved_by",
    )
    raw_id_fields = ("enrollment",)
    fields = (
        "enrollment",
        "move",
        "from_label",
        "to_label",
        "outcome",
        "error",
        "moved_by",
        "moved_at",
        "steps_table",
    )
    readonly_fields = fields

    @admin.display(description="from")
    def from_label(self, change: EnrollmentVersionChange) -> str:
        return f"v{change.from_version.number}"

    @admin.display(description="to")
    def to_label(self, change: EnrollmentVersionChange) -> str:
        return f"v{change.to_version.number}"

    @admin.display(description="steps")
    def steps_table(self, change: EnrollmentVersionChange) -> str:
        if not change.steps:
            return "–"
        return format_html(
            '<table class="move-steps"><thead><tr><th>Step</th><th>Change</th><th>What happened'
            "</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (step["name"], CHANGE_LABELS.get(step["change"], ""), step["outcome"])
                    for step in change.steps
                ),
            ),
        )
