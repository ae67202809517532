"""Small pieces the apps' admin modules share."""

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from apps.core.errors import DomainError


def admin_action_each(
    request: Any,
    rows: Iterable[Model],
    act: Callable[[Model], object],
    *,
    name: Callable[[Model], str],
    done: Callable[[int], str],
) -> int:
    """Run a service on each selected row of an admin action. A refusal is shown for its
    row (named by ``name``) and the others go on; ``done`` words the success count."""
    succeeded = 0
    for row in rows:
        try:
            act(row)
        except DomainError as exc:
            messages.warning(request, f"{name(row)}: {exc.message}")
        else:
            succeeded += 1
    if succeeded:
        messages.success(request, done(succeeded))
    return succeeded


def history_table(headers: Iterable[str], rows: Iterable[Iterable[Any]], *, empty: str) -> str:
    """A read-only history (stage changes, field changes, lifecycle moves) as an HTML table
    for an admin page; every cell is escaped."""
    rows = [tuple(row) for row in rows]
    if not rows:
        return empty
    return format_html(
        '<table class="deal-timeline"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<th>{}</th>", ((header,) for header in headers)),
        format_html_join(
            "",
            "<tr>{}</tr>",
            ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
        ),
    )


def local_time(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2))


def raw_json_disclosure(readable: str, value: Any) -> str:
    """A readable rendering with the raw JSON behind a disclosure (closed by default)."""
    return format_html(
        '{}<details class="raw-json"><summary>Raw JSON</summary>{}</details>',
        readable,
        pretty_json(value),
    )


def json_value_text(value: Any) -> str:
    """A leaf of a JSON document in words: yes/no, “empty”, lists joined by commas."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if not value:
            return "empty"
        return ", ".join(json_value_text(item) for item in value)
    if value == "":
        return "empty"
    return str(value)


def json_rows(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A JSON document as (path, value) rows: nested objects become dotted paths
    (``steps.nps.score``); lists of scalars are one row, lists of objects one row per
    item (``items.1.sku``)."""
    if isinstance(value, dict):
        if not value and prefix:
            return [(prefix, "empty")]
        rows: list[tuple[str, str]] = []
        for key, item in value.items():
            rows += json_rows(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        rows = []
        for number, item in enumerate(value, start=1):
            rows += json_rows(item, f"{prefix}.{number}" if prefix else str(number))
        return rows
    return [(prefix or "value", json_value_text(value))]


def json_table(value: Any, *, empty: str = "Nothing recorded.") -> str:
    """A JSON object as a two-column table (what, value), with the raw JSON behind a
    disclosure; for enrollment contexts, step results and other engine state."""
    rows = json_rows(value) if value not in ({}, [], None) else []
    if not rows:
        return empty
    table = format_html(
        '<table class="json-table"><thead><tr><th scope="col">What</th>'
        '<th scope="col">Value</th></tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows),
    )
    return raw_json_disclosure(table, value)


class ReadOnlyAdminMixin:
    """For audit rows and engine state that change only through services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ServiceWritesAdminMixin:
    """Admin saves that go through the app's services instead of ``obj.save()``.

    A subclass implements ``create_through_service(request, form)``, returning the new row,
    and ``update_through_service(request, obj, changes)``, where ``obj`` is the row as
    stored and ``changes`` holds the fields the form changed. When a service refuses (a
    ``DomainError``), the admin's transaction rolls back and the form comes back with
    the messages next to their fields, the way the form's own errors are shown.
    """

    def create_through_service(self, request, form) -> Model:
        raise NotImplementedError

    def update_through_service(self, request, obj: Model, changes: dict[str, Any]) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change) -> None:
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            if changes:
                stored = type(obj)._default_manager.get(pk=obj.pk)
                self.update_through_service(request, stored, changes)
            return
        created = self.create_through_service(request, form)
        # The admin goes on with ``obj`` (inlines, the log, the redirect): make it the row.
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as refusal:
            request._service_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(form_class):
            def clean(self):
                cleaned_data = super().clean()
                for field, problems in refusal.as_dict().items():
                    self.add_error(field if field in self.fields else None, list(problems))
                return cleaned_data

        return RefusedForm
