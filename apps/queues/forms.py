"""Forms of the CS web UI. They check what a person typed; the services decide the rest
and their errors are put back on these forms, next to the field they concern."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from apps.core.pages import add_domain_errors  # noqa: F401  (the views import it from here)
from apps.queues.models import OUTCOMES_BY_KIND, Task
from apps.queues.selectors import SLA_FILTERS

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

DUE_WINDOWS = [("overdue", "Overdue"), ("today", "Due today"), ("week", "Due this week")]
ACTIVE = "active"  # open or in progress
STATUS_CHOICES = [
    (ACTIVE, "Open or in progress"),
    *Task.Status.choices,
    ("all", "Any status"),
]
SLA_CHOICES = [("", "Any SLA"), *SLA_FILTERS]
SNOOZED_CHOICES = [
    ("", "Hide snoozed"),
    ("include", "Include snoozed"),
    ("only", "Only snoozed"),
]
SORTS = {
    "priority": ("Priority, then due", ["priority", "due_at", "id"]),
    "due": ("Due soonest", ["due_at", "priority", "id"]),
    "-due": ("Due latest", ["-due_at", "priority", "-id"]),
    "-created": ("Newest", ["-created_at", "-id"]),
    "created": ("Oldest", ["created_at", "id"]),
    "account": ("Account", ["account__name", "priority", "due_at", "id"]),
}
PAGE_SIZES = [10, 25, 50, 100]
# The filters that narrow the list to some tasks (the status, search and snoozed aside).
NARROWING_FILTERS = (
    "queue",
    "assignee",
    "priority",
    "kind",
    "due",
    "account",
    "sla",
    "completed_by",
    "completed_week",
)
DEFAULT_PAGE_SIZE = 25

BULK_ACTIONS = [
    ("claim", "Claim"),
    ("assign", "Assign to…"),
    ("snooze", "Snooze until…"),
    ("complete", "Complete"),
    ("cancel", "Cancel with reason…"),
]


def datetime_local(**attrs: Any) -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}, format=DATETIME_LOCAL)


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _user_label(obj)


# Lists --------------------------------------------------------------------------------


class TaskFilterForm(forms.Form):
    """The queue view's filters, sort and page size; they all live in the URL."""

    queue = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False)
    due = forms.ChoiceField(required=False, label="Due", choices=[("", "Any time"), *DUE_WINDOWS])
    account = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    sla = forms.ChoiceField(required=False, choices=SLA_CHOICES, label="SLA")
    completed_by = forms.ChoiceField(required=False, label="Completed by")
    completed_week = forms.RegexField(
        required=False,
        regex=r"^\d{4}-W\d{2}$",
        label="Completed in week",
        widget=forms.TextInput(attrs={"type": "week"}),
    )
    snoozed = forms.ChoiceField(required=False, choices=SNOOZED_CHOICES, label="Snoozed")
    search = forms.CharField(required=False, max_length=100, label="Search")
    sort = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )
    per_page = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        empty_value=DEFAULT_PAGE_SIZE,
        choices=[(n, str(n)) for n in PAGE_SIZES],
    )

    DEFAULTS = {"status": ACTIVE, "sort": "priority", "per_page": str(DEFAULT_PAGE_SIZE)}

    def __init__(
        self, data: Any, *, queues: list, assignees: list, kinds: list[str], accounts: list
    ) -> None:
        # Bound from the URL, where an absent filter means its default; filling the
        # defaults in makes the form show what the list actually applies.
        data = data.copy()
        for key, value in self.DEFAULTS.items():
            if not data.get(key):
                data[key] = value
        super().__init__(data)
        self.fields["queue"].choices = [("", "All my queues")] + [(q.slug, q.name) for q in queues]
        self.fields["assignee"].choices = [
            ("", "Anyone"),
            ("me", "Me"),
            ("none", "Nobody (claimable)"),
        ] + [(str(u.pk), _user_label(u)) for u in assignees]
        self.fields["completed_by"].choices = [("", "Anyone")] + [
            (str(u.pk), _user_label(u)) for u in assignees
        ]
        self.fields["priority"].choices = [("", "Any priority"), *Task.Priority.choices]
        self.fields["kind"].choices = [("", "Any kind")] + [
            (kind, kind.replace("_", " ").capitalize()) for kind in kinds
        ]
        self.fields["account"].choices = [("", "Any account (or search by name)")] + [
            (str(a.pk), a.name) for a in accounts
        ]

    def cleaned(self) -> dict[str, Any]:
        """The valid values; an invalid one (a stale link) is dropped, not an error page."""
        self.is_valid()
        values = dict(getattr(self, "cleaned_data", {}))
        for field in self.errors:
            values.pop(field, None)
        return values

    def task_filters(self) -> dict[str, Any]:
        """The filters in the shape ``selectors.task_list`` takes."""
        values = self.cleaned()
        filters = {
            key: values[key] for key in (*NARROWING_FILTERS, "search", "snoozed") if values.get(key)
        }
        status = values.get("status") or ACTIVE
        if status == ACTIVE:
            filters["status"] = list(Task.OPEN_STATUSES)
        elif status != "all":
            filters["status"] = [status]
        return filters

    def ordering(self) -> list[str]:
        return SORTS[self.cleaned().get("sort") or "priority"][1]

    def page_size(self) -> int:
        return self.cleaned().get("per_page") or DEFAULT_PAGE_SIZE


class BulkActionForm(forms.Form):
    """An action on the selected tasks, with the one parameter that action needs."""

    action = forms.ChoiceField(choices=[("", "Choose an action…"), *BULK_ACTIONS])
    assignee = UserChoiceField(
        queryset=None, required=False, label="Assign to", empty_label="Choose a person…"
    )
    until = forms.DateTimeField(required=False, label="Snooze until", widget=datetime_local())
    outcome = forms.ChoiceField(required=False, label="Outcome")
    reason = forms.CharField(required=False, max_length=500, label="Reason")

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["action"].error_messages["required"] = "Choose what to do with the selection."
        outcomes: dict[str, str] = {}
        for choices in OUTCOMES_BY_KIND.values():
            outcomes.update(choices)
        self.fields["outcome"].choices = [("", "No outcome"), *outcomes.items()]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        if action == "assign" and not data.get("assignee"):
            self.add_error("assignee", "Choose who gets the selected tasks.")
        if action == "snooze" and not data.get("until") and "until" not in self.errors:
            self.add_error("until", "Choose when the tasks come back.")
        if action == "cancel" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the tasks are cancelled.")
        return data

    def params(self) -> dict[str, Any]:
        """Keyword arguments for ``services.tasks_bulk``."""
        data = self.cleaned_data
        action = data["action"]
        if action == "assign":
            return {"assignee": data["assignee"], "reason": data.get("reason", "")}
        if action == "snooze":
            return {"until": data["until"]}
        if action == "complete":
            return {"outcome": data.get("outcome", "")}
        if action == "cancel":
            return {"reason": data["reason"].strip()}
        return {}


# One task ------------------------------------------------------------------------------


class TaskCompleteForm(forms.Form):
    outcome = forms.ChoiceField(required=False, label="Outcome")
    notes = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = task.outcome_choices
        self.outcome_required = bool(choices)
        field = self.fields["outcome"]
        field.choices = [("", "Choose…" if choices else "None needed"), *choices]
        field.required = self.outcome_required
        field.error_messages["required"] = "Choose how it went; this kind of task needs an outcome."


class TaskSnoozeForm(forms.Form):
    """Until a moment the person picks, in their own time zone, or a preset."""

    PRESETS = [
        ("tomorrow", "Tomorrow morning"),
        ("monday", "Next Monday morning"),
    ]

    until = forms.DateTimeField(required=False, label="Snooze until", widget=datetime_local())
    preset = forms.ChoiceField(required=False, choices=[("", "—"), *PRESETS])

    def __init__(self, *args: Any, now: dt.datetime, day_start: dt.time, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.day_start = day_start

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        preset = data.get("preset")
        if preset:
            data["until"] = self._preset_moment(preset)
        elif not data.get("until") and "until" not in self.errors:
            self.add_error("until", "Choose when the task comes back.")
        return data

    def _preset_moment(self, preset: str) -> dt.datetime:
        local = timezone.localtime(self.now)
        days = 1 if preset == "tomorrow" else (7 - local.weekday()) or 7
        day = local.date() + dt.timedelta(days=days)
        return timezone.make_aware(dt.datetime.combine(day, self.day_start))


class TaskAssignForm(forms.Form):
    assignee = UserChoiceField(queryset=None, label="Assign to", empty_label="Choose a person…")
    reason = forms.CharField(required=False, max_length=200, label="Reason (optional)")

    def __init__(self, *args: Any, assignees: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["assignee"].error_messages["required"] = "Choose who gets this task."


class TaskCommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].error_messages["required"] = "Write something before posting."

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("Write something before posting.")
        return body
