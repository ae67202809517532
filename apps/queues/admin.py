from django.contrib import admin, messages
from django.db.models import Count, Q

from apps.queues.models import Queue, Task
from apps.queues.services import task_cancel, task_create


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "team", "manager", "member_count", "open_task_count")
    search_fields = ("name", "slug", "team")
    list_select_related = ("manager",)
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
    readonly_fields = ("created_at", "updated_at")

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


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "queue",
        "account",
        "assignee",
        "status",
        "priority",
        "due_at",
        "created_at",
    )
    list_filter = ("status", "queue", "priority", "kind")
    search_fields = ("title", "account__name", "deal__name")
    list_select_related = ("queue", "account", "assignee")
    autocomplete_fields = ("account", "deal")
    raw_id_fields = ("step_run",)
    date_hierarchy = "due_at"
    # Status and outcome change through the task services (complete, skip, cancel).
    readonly_fields = (
        "status",
        "step_run",
        "outcome",
        "outcome_notes",
        "completed_by",
        "completed_at",
        "cancelled_reason",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("title", "body", "kind", "queue", "priority", "due_at")}),
        ("Context", {"fields": ("account", "deal", "step_run")}),
        ("Assignment", {"fields": ("assignee", "assignment_reason")}),
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
                )
            },
        ),
        ("Audit", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("cancel_selected",)

    def save_model(self, request, obj: Task, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # New tasks go through the service so they emit "task.created" like every other.
        created = task_create(
            queue=obj.queue,
            title=obj.title,
            body=obj.body,
            kind=obj.kind,
            account=obj.account,
            deal=obj.deal,
            assignee=obj.assignee,
            assignment_reason=obj.assignment_reason
            or (f"Assigned in admin by {request.user}" if obj.assignee else ""),
            priority=obj.priority,
            due_at=obj.due_at,
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj._state.db = created._state.db

    @admin.action(description="Cancel selected open tasks", permissions=["change"])
    def cancel_selected(self, request, queryset) -> None:
        reason = f"Cancelled in admin by {request.user}."
        cancelled = sum(
            task_cancel(task=task, reason=reason, actor=request.user) for task in queryset
        )
        messages.success(request, f"Cancelled {cancelled} of {len(queryset)} selected tasks.")
