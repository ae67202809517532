from typing import Any

from django.contrib import admin
from django.db.models import Count, Q

from apps.core.admin_tools import ServiceWritesAdminMixin, admin_action_each
from apps.queues.models import Queue, Task, TaskActivity
from apps.queues.selectors import tasks_visible_to
from apps.queues.services import task_cancel, task_create, task_update


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "team",
        "manager",
        "assignment_strategy",
        "sla_hours",
        "member_count",
        "open_task_count",
    )
    list_filter = ("assignment_strategy", "team")
    search_fields = ("name", "slug", "team")
    list_select_related = ("manager",)
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
    autocomplete_fields = ("manager",)
    readonly_fields = ("round_robin_cursor", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "slug", "description", "team", "manager", "members")}),
        ("Assignment", {"fields": ("assignment_strategy", "round_robin_cursor")}),
        (
            "SLA and working calendar",
            {
                "fields": (
                    "sla_hours",
                    "raise_priority_on_breach",
                    "pause_sla_while_snoozed",
                    "timezone",
                    "country",
                ),
                "description": "SLAs count business hours, 09:00–17:00 Monday to Friday in "
                "the team's time zone, skipping the country's public holidays and company "
                "holidays.",
            },
        ),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("members", distinct=True),
                open_task_count=Count(
                    "tasks", filter=Q(tasks__status__in=Task.OPEN_STATUSES), distinct=True
                ),
            )
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, queue: Queue) -> int:
        return queue.member_count

    @admin.display(description="open tasks", ordering="open_task_count")
    def open_task_count(self, queue: Queue) -> int:
        return queue.open_task_count


class TaskActivityInline(admin.TabularInline):
    """The task's audit trail and comments, read-only: services write it."""

    model = TaskActivity
    fields = ("created_at", "kind", "actor", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Task)
class TaskAdmin(ServiceWritesAdminMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "queue",
        "account",
        "assignee",
        "status",
        "priority",
        "due_at",
        "sla_due_at",
        "created_at",
    )
    list_filter = ("status", "queue", "priority", "kind")
    search_fields = ("title", "account__name", "deal__name")
    list_select_related = ("queue", "account", "assignee")
    autocomplete_fields = ("account", "deal")
    raw_id_fields = ("step_run", "assignee")
    date_hierarchy = "due_at"
    inlines = (TaskActivityInline,)
    # Status and outcome change through the task services (complete, skip, cancel).
    readonly_fields = (
        "status",
        "step_run",
        "outcome",
        "outcome_notes",
        "completed_by",
        "completed_at",
        "cancelled_reason",
        "skipped_reason",
        "sla_due_at",
        "sla_breached_at",
        "snoozed_until",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "body", "kind", "queue", "priority", "due_at")}),
        ("Context", {"fields": ("account", "deal", "step_run")}),
        ("Assignment", {"fields": ("assignee", "assignment_reason")}),
        ("SLA", {"fields": ("sla_due_at", "sla_breached_at", "snoozed_until")}),
        (
            "Outcome",
            {
                "fields": (
                    "status",
                    "outcome",
                    "outcome_notes",
                    "completed_by",
                    "completed_at",
                    "cancelled_reason",
                    "skipped_reason",
                )
            },
        ),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("cancel_selected",)

    def get_readonly_fields(self, request, obj=None):
        # On an existing task the reason is written by task_assign, not typed in.
        if obj is not None:
            return (*self.readonly_fields, "assignment_reason")
        return self.readonly_fields

    def create_through_service(self, request, form) -> Task:
        # New tasks go through the service so they emit "task.created" like every other.
        data = form.cleaned_data
        return task_create(
            queue=data["queue"],
            title=data["title"],
            body=data["body"],
            kind=data["kind"],
            account=data["account"],
            deal=data["deal"],
            assignee=data["assignee"],
            assignment_reason=data["assignment_reason"]
            or (f"Assigned in admin by {request.user}" if data["assignee"] else ""),
            priority=data["priority"],
            due_at=data["due_at"],
            actor=request.user,
        )

    def update_through_service(self, request, obj: Task, changes: dict[str, Any]) -> None:
        # A new assignee goes through task_assign, so the change is recorded and announced
        # like any other reassignment.
        task_update(task=obj, actor=request.user, reason="In admin.", **changes)

    def get_queryset(self, request):
        # Each role sees in the admin the tasks it sees in the product.
        return tasks_visible_to(request.user).select_related("queue", "account", "assignee")

    @admin.action(description="Cancel selected open tasks", permissions=["change"])
    def cancel_selected(self, request, queryset) -> None:
        reason = f"Cancelled in admin by {request.user}."
        admin_action_each(
            request,
            queryset,
            lambda task: task_cancel(task=task, reason=reason, actor=request.user),
            name=lambda task: f"“{task.title}”",
            done=lambda n: f"{n} selected task(s) handled (finished ones stay as they were).",
        )
