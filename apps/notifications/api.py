"""REST endpoints for a person's own in-app notifications."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.filters import DjangoFilterBackend, FilterSet, StrictBooleanFilter
from apps.notifications import selectors, services
from apps.notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "reason",
            "title",
            "body",
            "url",
            "account",
            "deal",
            "created_at",
            "read_at",
            "is_read",
        ]
        read_only_fields = fields


class NotificationFilter(FilterSet):
    unread = StrictBooleanFilter(method="filter_unread", label="Only unread (true) or read")
    reason = filters.MultipleChoiceFilter(choices=Notification.Reason.choices)

    class Meta:
        model = Notification
        fields = ["unread", "reason"]

    def filter_unread(self, queryset, name: str, value: bool | None):
        if value is None:
            return queryset
        return queryset.filter(read_at__isnull=value)


class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    """The requesting user's notifications, newest first. Everyone has their own, so
    being signed in is enough; someone else's notification answers 404."""

    serializer_class = NotificationSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends = [DjangoFilterBackend]
    filterset_class = NotificationFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        return selectors.notification_list_for(user=self.request.user)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark one notification read (already read is fine)."""
        notification = self.get_object()
        services.notification_mark_read(notification=notification, user=request.user)
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            name="NotificationsReadAll", fields={"marked_read": serializers.IntegerField()}
        ),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Mark all of my unread notifications read; answers how many were."""
        marked = services.notifications_mark_all_read(user=request.user)
        return Response({"marked_read": marked})
