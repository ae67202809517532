"""REST endpoints for queues and the tasks in them (read-only)."""

from django_filters import rest_framework as filters
from rest_framework import serializers, viewsets

from apps.queues import selectors
from apps.queues.models import Queue, Task


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
            "outcome",
            "outcome_notes",
            "completed_by",
            "completed_by_username",
            "completed_at",
            "cancelled_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TaskFilter(filters.FilterSet):
    mine = filters.BooleanFilter(method="filter_mine", label="Only the tasks assigned to me")
    queue = filters.CharFilter(method="filter_queue", label="Queue id or slug")
    status = filters.MultipleChoiceFilter(choices=Task.Status.choices)
    priority = filters.MultipleChoiceFilter(choices=Task.Priority.choices)

    class Meta:
        model = Task
        fields = ["mine", "queue", "status", "priority", "kind", "account", "deal", "assignee"]

    def filter_mine(self, queryset, name: str, value: bool):
        return queryset.filter(assignee=self.request.user) if value else queryset

    def filter_queue(self, queryset, name: str, value: str):
        if value.isdigit():
            return queryset.filter(queue_id=int(value))
        return queryset.filter(queue__slug=value)


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    """Tasks the requesting user may see; a task outside that set answers 404."""

    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    search_fields = ["title", "account__name"]
    ordering_fields = ["priority", "due_at", "created_at", "status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Task.objects.none()
        return selectors.task_list_visible_to(user=self.request.user)


class QueueSerializer(serializers.ModelSerializer):
    open_task_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Queue
        fields = ["id", "name", "slug", "description", "team", "manager", "open_task_count"]
        read_only_fields = fields


class QueueViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.queue_list_with_open_counts()
    serializer_class = QueueSerializer
    filterset_fields = ["team", "manager"]
    search_fields = ["name", "slug"]
    ordering_fields = ["name"]
