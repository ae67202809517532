"""REST endpoints for queues and the tasks in them.

Reads go through ``apps.queues.selectors`` (a task you may not see answers 404) and
actions through ``apps.queues.services`` (an action you may not take answers 403, a
race lost to someone else 409, bad input 400 keyed by field).
"""

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from apps.core import clock
from apps.core.errors import Conflict, NotPermitted
from apps.core.validators import ID_MAX
from apps.queues import selectors, services
from apps.queues.models import Queue, Task, TaskActivity

# Serializers -----------------------------------------------------------------------------

SLA_STATES = ["on_track", "due_soon", "breached", "none"]


class ActivityKindField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=TaskActivity.Kind.choices, **kwargs)


class ActivityKindFieldSchema(OpenApiSerializerFieldExtension):
    """One ``TaskActivityKind`` component, not an enum named after every "kind" field."""

    target_class = ActivityKindField

    def get_name(self) -> str:
        return "TaskActivityKind"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_choice_field(self.target)
        schema.pop("x-spec-enum-id", None)
        return schema


class TaskActivitySerializer(serializers.ModelSerializer):
    kind = ActivityKindField(read_only=True)
    actor_username = serializers.CharField(source="actor.username", read_only=True, allow_null=True)

    class Meta:
        model = TaskActivity
        fields = ["id", "kind", "actor", "actor_username", "message", "created_at"]
        read_only_fields = fields


class OutcomeChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class TaskSerializer(serializers.ModelSerializer):
    queue_slug = serializers.CharField(source="queue.slug", read_only=True)
    queue_name = serializers.CharField(source="queue.name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True, allow_null=True)
    deal_name = serializers.CharField(source="deal.name", read_only=True, allow_null=True)
    assignee_username = serializers.CharField(
        source="assignee.username", read_only=True, allow_null=True
    )
    completed_by_username = serializers.CharField(
        source="completed_by.username", read_only=True, allow_null=True
    )
    sla_state = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "body",
            "kind",
            "status",
            "priority",
            "due_at",
            "queue",
            "queue_slug",
            "queue_name",
            "account",
            "account_name",
            "deal",
            "deal_name",
            "assignee",
            "assignee_username",
            "assignment_reason",
            "sla_due_at",
            "sla_breached_at",
            "sla_state",
            "snoozed_until",
            "outcome",
            "outcome_notes",
            "completed_by",
            "completed_by_username",
            "completed_at",
            "cancelled_reason",
            "skipped_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=SLA_STATES))
    def get_sla_state(self, task: Task) -> str:
        return selectors.sla_state(task, self.context.get("now") or clock.now())


class TaskDetailSerializer(TaskSerializer):
    """A task with the outcomes it needs on completion and its activity, oldest first."""

    outcome_choices = serializers.SerializerMethodField()
    activities = TaskActivitySerializer(many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "outcome_choices", "activities"]
        read_only_fields = fields

    @extend_schema_field(OutcomeChoiceSerializer(many=True))
    def get_outcome_choices(self, task: Task) -> list[dict[str, str]]:
        return [{"value": value, "label": label} for value, label in task.outcome_choices]


class TaskListQuerySerializer(serializers.Serializer):
    """The task list's filters (the same as the work-queue pages)."""

    queue = serializers.CharField(required=False, help_text="Queue id or slug.")
    assignee = serializers.CharField(
        required=False, help_text='A user id, "me" or "none" (unassigned).'
    )
    mine = serializers.BooleanField(
        required=False, default=False, help_text="Only the tasks assigned to me."
    )
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=Task.Status.choices), required=False
    )
    priority = serializers.ListField(
        child=serializers.ChoiceField(choices=Task.Priority.choices), required=False
    )
    kind = serializers.CharField(required=False)
    account = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    deal = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    due = serializers.ChoiceField(
        choices=["overdue", "today", "week"],
        required=False,
        help_text="In your time zone: overdue, due today, due this week (Monday to Sunday).",
    )
    sla = serializers.ChoiceField(
        choices=selectors.SLA_FILTERS,
        required=False,
        help_text='"breached": missed its SLA (marked breached, open past its deadline, or '
        'finished after it); "met": has an SLA and did not miss it.',
    )
    completed_by = serializers.CharField(required=False, help_text='A user id, or "me".')
    completed_week = serializers.RegexField(
        regex=r"^[0-9]{4}-W[0-9]{2}$",
        required=False,
        help_text='Completed in this ISO week, such as "2026-W48" (Monday to Sunday in your '
        "time zone).",
        error_messages={"invalid": 'Use an ISO week such as "2026-W48".'},
    )
    search = serializers.CharField(required=False, help_text="Title, account or deal name.")
    snoozed = serializers.ChoiceField(
        choices=["hide", "include", "only"],
        required=False,
        default="hide",
        help_text="Snoozed tasks are hidden until they return, unless asked for.",
    )

    def validate_assignee(self, value: str) -> str:
        if value in ("me", "none") or value.isdecimal():
            return value
        raise serializers.ValidationError('Use a user id, "me" or "none".')

    def validate_completed_by(self, value: str) -> str:
        if value == "me" or (value.isdecimal() and 1 <= int(value) <= ID_MAX):
            return value
        raise serializers.ValidationError('Use a user id or "me".')

    def validate_completed_week(self, value: str) -> str:
        if selectors.iso_week_bounds(value, dt.UTC) is None:
            raise serializers.ValidationError(f"{value} is not a week of that year.")
        return value


class AssignPayloadSerializer(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        allow_null=True,
        help_text="The user id to give the task to; null makes it claimable again.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CompletePayloadSerializer(serializers.Serializer):
    outcome = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Required for some kinds (see the task's outcome_choices).",
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class SnoozePayloadSerializer(serializers.Serializer):
    until = serializers.DateTimeField(help_text="When the task comes back; in the future.")


class TaskSnoozedSerializer(TaskDetailSerializer):
    """The snoozed task, and what the snooze costs."""

    warnings = serializers.SerializerMethodField(
        help_text="What this snooze costs, in your time zone (empty when nothing): it comes "
        "back after the task is due, or its SLA deadline passes while it is snoozed. The "
        "task is snoozed all the same."
    )

    class Meta(TaskDetailSerializer.Meta):
        fields = [*TaskDetailSerializer.Meta.fields, "warnings"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, task: Task) -> list[str]:
        return self.context["warnings"]


class ReasonPayloadSerializer(serializers.Serializer):
    reason = serializers.CharField(
        error_messages={"required": "Say why.", "blank": "Say why."},
    )


class CommentPayloadSerializer(serializers.Serializer):
    body = serializers.CharField(
        error_messages={"required": "Write a comment.", "blank": "Write a comment."},
    )


class QueueSerializer(serializers.ModelSerializer):
    open_task_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Queue
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "team",
            "manager",
            "members",
            "assignment_strategy",
            "sla_hours",
            "raise_priority_on_breach",
            "pause_sla_while_snoozed",
            "timezone",
            "country",
            "open_task_count",
        ]
        read_only_fields = fields


class _Counts(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    breached = serializers.IntegerField(help_text="Open tasks past their SLA deadline.")
    done_this_week = serializers.IntegerField()


class QueueCountsSerializer(_Counts):
    slug = serializers.CharField()


class PersonCountsSerializer(_Counts):
    username = serializers.CharField()


class QueueStatsSerializer(serializers.Serializer):
    queues = QueueCountsSerializer(many=True)
    people = PersonCountsSerializer(many=True)


# Permissions -----------------------------------------------------------------------------


class WorkTasksPermission(permissions.BasePermission):
    """Acting on a task needs the task permissions; the object rules come after."""

    required = ("queues.view_task", "queues.change_task")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perms(self.required))


class WorkQueuesPermission(WorkTasksPermission):
    """Claiming and assigning are queue work, which sales reps do not do."""

    required = ("queues.view_task", "queues.change_task", "queues.view_queue")


class CommentPermission(WorkTasksPermission):
    required = ("queues.view_task",)


# Views -------------------------------------------------------------------------------------

_ACTION_ERRORS = {
    400: OpenApiResponse(description="Bad input, keyed by field. Nothing is changed."),
    403: OpenApiResponse(description="You may not do this to this task."),
    404: OpenApiResponse(description="No such task, or not one you can see."),
    409: OpenApiResponse(
        description="The task is finished, or someone else changed it first; ``detail`` says "
        "what happened."
    ),
}


def _action(summary: str, request=None, response=TaskDetailSerializer, **kwargs):
    return extend_schema(
        summary=summary,
        request=request,
        responses={200: response, **_ACTION_ERRORS},
        **kwargs,
    )


class TaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks the requesting user may see; a task outside that set answers 404."""

    filter_backends = [OrderingFilter]
    ordering_fields = ["priority", "due_at", "sla_due_at", "created_at", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Task.objects.none()
        filters = getattr(self, "_list_filters", None)
        if self.action == "list" and filters is not None:
            return selectors.task_list(user=self.request.user, filters=filters)
        tasks = selectors.tasks_visible_to(self.request.user)
        if self.action == "retrieve":
            tasks = tasks.prefetch_related("activities__actor")
        return tasks

    def get_serializer_class(self):
        return TaskSerializer if self.action == "list" else TaskDetailSerializer

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": clock.now()}

    @extend_schema(parameters=[TaskListQuerySerializer])
    def list(self, request, *args, **kwargs):
        # Validated here rather than in get_queryset, which the permission check calls
        # first: someone without access gets 403 whatever filters they send.
        query = TaskListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        self._list_filters = dict(query.validated_data)
        return super().list(request, *args, **kwargs)

    def _workable_task(self) -> Task:
        task = self.get_object()
        if not selectors.user_can_work(self.request.user, task, fresh=True):
            raise NotPermitted("You may not work on this task.")
        return task

    def _respond(self, task: Task, serializer=TaskDetailSerializer, **context) -> Response:
        fresh = selectors.tasks_visible_to(self.request.user).prefetch_related("activities__actor")
        # Someone who gave the task away may no longer see it; show what they did anyway.
        shown = fresh.filter(pk=task.pk).first() or task
        context = {**self.get_serializer_context(), **context}
        return Response(serializer(shown, context=context).data)

    @_action("Claim an unassigned task")
    @action(detail=True, methods=["post"], permission_classes=[WorkQueuesPermission])
    def claim(self, request, pk=None):
        task = self.get_object()
        return self._respond(services.task_claim(task=task, actor=request.user))

    @_action("Assign a task (or unassign it)", request=AssignPayloadSerializer)
    @action(detail=True, methods=["post"], permission_classes=[WorkQueuesPermission])
    def assign(self, request, pk=None):
        task = self.get_object()
        payload = AssignPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        task = services.task_assign(
            task=task,
            actor=request.user,
            assignee=payload.validated_data["assignee"],
            reason=payload.validated_data["reason"],
        )
        return self._respond(task)

    @_action("Start working on a task")
    @action(detail=True, methods=["post"], permission_classes=[WorkTasksPermission])
    def start(self, request, pk=None):
        return self._respond(services.task_start(task=self._workable_task(), actor=request.user))

    @_action("Complete a task with its outcome", request=CompletePayloadSerializer)
    @action(detail=True, methods=["post"], permission_classes=[WorkTasksPermission])
    def complete(self, request, pk=None):
        task = self._workable_task()
        payload = CompletePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._respond(
            services.task_complete(task=task, actor=request.user, **payload.validated_data)
        )

    @_action("Skip a task", request=ReasonPayloadSerializer)
    @action(detail=True, methods=["post"], permission_classes=[WorkTasksPermission])
    def skip(self, request, pk=None):
        task = self._workable_task()
        payload = ReasonPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._respond(
            services.task_skip(task=task, actor=request.user, **payload.validated_data)
        )

    @_action(
        "Snooze a task until a later time",
        request=SnoozePayloadSerializer,
        response=TaskSnoozedSerializer,
        description="Snoozing past the task's due date or its SLA deadline is allowed; "
        "``warnings`` says what it costs, as the task page does.",
    )
    @action(detail=True, methods=["post"], permission_classes=[WorkTasksPermission])
    def snooze(self, request, pk=None):
        task = self._workable_task()
        payload = SnoozePayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        until = payload.validated_data["until"]
        # Read before the change (a pausing queue moves the SLA deadline), in the asker's
        # time zone, as the task page words them.
        with timezone.override(selectors.user_timezone(request.user)):
            warnings = services.snooze_warnings(task=task, until=until)
        task = services.task_snooze(task=task, actor=request.user, until=until)
        return self._respond(task, serializer=TaskSnoozedSerializer, warnings=warnings)

    @_action("Cancel a task", request=ReasonPayloadSerializer)
    @action(detail=True, methods=["post"], permission_classes=[WorkTasksPermission])
    def cancel(self, request, pk=None):
        task = self._workable_task()
        payload = ReasonPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        if not services.task_cancel(task=task, actor=request.user, **payload.validated_data):
            raise Conflict(f"This task is already {task.get_status_display().lower()}.")
        return self._respond(task)

    @extend_schema(
        summary="Comment on a task",
        request=CommentPayloadSerializer,
        responses={201: TaskActivitySerializer, **_ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], permission_classes=[CommentPermission])
    def comments(self, request, pk=None):
        task = self.get_object()
        payload = CommentPayloadSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        activity = services.task_comment(
            task=task, actor=request.user, body=payload.validated_data["body"]
        )
        return Response(TaskActivitySerializer(activity).data, status=201)


class QueueViewSet(viewsets.ReadOnlyModelViewSet):
    """Queues the requesting user works or oversees (all of them for admins)."""

    queryset = Queue.objects.all()
    serializer_class = QueueSerializer
    filterset_fields = ["team", "manager"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Queue.objects.none()
        return selectors.queue_list_with_open_counts(user=self.request.user).prefetch_related(
            "members"
        )

    @extend_schema(
        summary="Open, overdue, breached and done-this-week counts per queue and per person",
        responses=QueueStatsSerializer,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def stats(self, request):
        stats = selectors.queue_stats(user=request.user, now=clock.now())
        return Response(QueueStatsSerializer(stats).data)
