"""The playbook admin's reuse pages: import a playbook file as a draft, clone a playbook
as a draft. ``PlaybookAdmin`` takes them in with ``PlaybookReuseAdminMixin``; the export
of a version is on the version's page (``PlaybookVersionAdmin``)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.admin_tools import admin_action_each
from apps.core.errors import DomainError
from apps.playbooks.models import Playbook
from apps.playbooks.transfer import (
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    playbook_clone,
    playbook_import,
)

_NAME_MAX = Playbook._meta.get_field("name").max_length


class PlaybookImportForm(forms.Form):
    file = forms.FileField(
        label="Playbook file",
        help_text="A .json file exported from a playbook version's page "
        f"(format version {FORMAT_VERSION}, at most {MAX_FILE_BYTES // 1024} KB).",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    name = forms.CharField(
        required=False,
        max_length=_NAME_MAX,
        help_text="Empty: the name in the file, or “<name> (imported)” if a playbook "
        "already has it.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked before reading, so an oversized upload is never read into memory.
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; a playbook file is at most "
                f"{MAX_FILE_BYTES:,} bytes."
            )
        return upload


class PlaybookCloneForm(forms.Form):
    name = forms.CharField(max_length=_NAME_MAX, help_text="The new draft's name.")


def _field_label(field: str) -> str:
    """``kickoff.config.title`` → “kickoff › title”; ``cancel_on`` → “cancel on”."""
    parts = [part for part in field.split(".") if part != "config"]
    return " › ".join(part.replace("_", " ") for part in parts)


class PlaybookReuseAdminMixin:
    """Import and clone for ``PlaybookAdmin``: URLs, views and the clone action."""

    def get_urls(self):
        reuse = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="playbooks_playbook_import",
            ),
            path(
                "<path:object_id>/clone/",
                self.admin_site.admin_view(self.clone_view),
                name="playbooks_playbook_clone",
            ),
        ]
        return reuse + super().get_urls()

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self.has_add_permission(request):
            actions["clone_selected"] = self.get_action(type(self).clone_selected)
        return actions

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk and self.has_add_permission(request):
            context["clone_url"] = reverse("admin:playbooks_playbook_clone", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        if self.has_add_permission(request):
            extra_context = {
                **(extra_context or {}),
                "import_url": reverse("admin:playbooks_playbook_import"),
            }
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Clone selected playbooks (as drafts)")
    def clone_selected(self, request: HttpRequest, queryset) -> None:
        admin_action_each(
            request,
            queryset,
            lambda playbook: self._cloned(request, playbook, name=""),
            name=lambda playbook: f"“{playbook}”",
            done=lambda n: f"Cloned {n} playbook{'s' if n != 1 else ''} as drafts.",
        )

    def _cloned(self, request: HttpRequest, playbook: Playbook, *, name: str) -> Playbook:
        copy = playbook_clone(playbook=playbook, actor=request.user, name=name)
        self.log_addition(request, copy, f"Cloned from “{playbook.name}”.")
        return copy

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PlaybookImportForm(request.POST or None, request.FILES or None)
        problems: list[tuple[str, str]] = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = playbook_import(
                    data=upload.read(), actor=request.user, name=form.cleaned_data["name"]
                )
            except DomainError as exc:
                for field, field_messages in exc.as_dict().items():
                    if field == "name":
                        form.add_error("name", field_messages)
                    else:
                        problems += [(_field_label(field), m) for m in field_messages]
            else:
                draft = result.playbook
                self.log_addition(request, draft, f"Imported from the file “{upload.name}”.")
                steps = draft.steps.count()
                message = f"Imported “{draft.name}” as a draft with {steps} step"
                message += "s." if steps != 1 else "."
                if result.renamed_from:
                    message += (
                        f" A playbook named “{result.renamed_from}” already exists, so the "
                        f"draft is named “{draft.name}”."
                    )
                messages.success(request, message + " Check it, then publish it.")
                return HttpResponseRedirect(
                    reverse("admin:playbooks_playbook_change", args=[draft.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a playbook",
            "opts": self.opts,
            "form": form,
            "problems": problems,
        }
        status = 400 if form.errors or problems else 200
        return TemplateResponse(
            request, "admin/playbooks/playbook/import.html", context, status=status
        )

    def clone_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        playbook = self.get_object(request, unquote(object_id))
        if playbook is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PlaybookCloneForm(
            request.POST or None, initial={"name": f"{playbook.name} (copy)"[:_NAME_MAX]}
        )
        if request.method == "POST" and form.is_valid():
            try:
                copy = self._cloned(request, playbook, name=form.cleaned_data["name"])
            except DomainError as exc:
                for field, field_messages in exc.as_dict().items():
                    form.add_error(field if field in form.fields else None, field_messages)
            else:
                messages.success(
                    request,
                    f"“{copy.name}” is a draft copy of “{playbook.name}” with "
                    f"{copy.steps.count()} steps. Edit it, then publish it.",
                )
                return HttpResponseRedirect(
                    reverse("admin:playbooks_playbook_change", args=[copy.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Clone {playbook}",
            "opts": self.opts,
            "original": playbook,
            "form": form,
            "step_count": playbook.steps.count(),
        }
        status = 400 if form.errors else 200
        return TemplateResponse(
            request, "admin/playbooks/playbook/clone.html", context, status=status
        )
