"""Outbound webhooks over the REST API: subscriptions (the secret is in the answer to
POST only), the event types they may choose, and the delivery log with resend."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.filters import FilterSet
from apps.webhooks import catalogue, selectors, services
from apps.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class SubscriptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "disabled_reason",
            "last_delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class SubscriptionWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    url = serializers.CharField(
        max_length=2000, help_text="An http(s) address on the internet; it receives a POST."
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(catalogue.NAMES)),
        allow_empty=False,
        help_text="Names from GET /api/webhooks/event-types/.",
    )


class NewSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…), in this answer only: store it now.",
    )

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


SecretSerializer = inline_serializer("WebhookSecret", {"secret": serializers.CharField()})


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["attempted_at", "status_code", "error", "response_excerpt", "duration_ms"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = AttemptSerializer(source="log", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_type",
            "event",
            "message_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields


class ChangeSubscriptionPermission(permissions.DjangoModelPermissions):
    """Actions on a subscription (test, enable, disable, new secret) change it."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map}
    perms_map["POST"] = ["%(app_label)s.change_%(model_name)s"]


class SubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook subscriptions. POST answers with the signing secret, once; no other
    answer carries it. A subscription is disabled, not deleted: its delivery log stays."""

    queryset = WebhookSubscription.objects.order_by("name", "id")
    serializer_class = SubscriptionSerializer

    def get_serializer_class(self):
        if self.action in ("create", "update", "partial_update"):
            return SubscriptionWriteSerializer
        return SubscriptionSerializer

    @extend_schema(request=SubscriptionWriteSerializer, responses={201: NewSubscriptionSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = SubscriptionWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        subscription, secret = services.subscription_create(
            actor=request.user, **payload.validated_data
        )
        subscription.secret = secret
        return Response(
            NewSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=SubscriptionWriteSerializer, responses={200: SubscriptionSerializer})
    def update(self, request: Request, *args, **kwargs) -> Response:
        subscription = self.get_object()
        partial = kwargs.get("partial", False)
        payload = SubscriptionWriteSerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        subscription = services.subscription_update(
            subscription=subscription, actor=request.user, **payload.validated_data
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Send a test event",
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeSubscriptionPermission])
    def test(self, request: Request, pk=None) -> Response:
        delivery = services.delivery_send_test(subscription=self.get_object(), actor=request.user)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Enable a subscription", request=None, responses={200: SubscriptionSerializer}
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeSubscriptionPermission])
    def enable(self, request: Request, pk=None) -> Response:
        subscription = self.get_object()
        services.subscription_enable(subscription=subscription, actor=request.user)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Disable a subscription", request=None, responses={200: SubscriptionSerializer}
    )
    @action(detail=True, methods=["post"], permission_classes=[ChangeSubscriptionPermission])
    def disable(self, request: Request, pk=None) -> Response:
        subscription = self.get_object()
        services.subscription_disable(
            subscription=subscription, reason=f"Disabled by {request.user}.", actor=request.user
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(
        summary="Replace the signing secret", request=None, responses={200: SecretSerializer}
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="new-secret",
        permission_classes=[ChangeSubscriptionPermission],
    )
    def new_secret(self, request: Request, pk=None) -> Response:
        secret = services.subscription_secret_rotate(
            subscription=self.get_object(), actor=request.user
        )
        return Response({"secret": secret})


class DeliveryFilter(FilterSet):
    class Meta:
        model = WebhookDelivery
        fields = ["subscription", "status", "event_type"]


class ResendPermission(permissions.DjangoModelPermissions):
    perms_map = {**permissions.DjangoModelPermissions.perms_map}
    perms_map["POST"] = ["%(app_label)s.change_%(model_name)s"]


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log, newest first: each delivery's status and every attempt with the
    HTTP status the receiver answered. Filter by subscription, status or event type."""

    queryset = selectors.deliveries_list()
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilter

    @extend_schema(
        summary="Send a delivery again", request=None, responses={202: DeliverySerializer}
    )
    @action(detail=True, methods=["post"], permission_classes=[ResendPermission])
    def resend(self, request: Request, pk=None) -> Response:
        delivery = self.get_object()
        if not services.delivery_resend(delivery=delivery, actor=request.user):
            return Response(
                {"detail": "This delivery is being sent right now; try again in a moment."},
                status=status.HTTP_409_CONFLICT,
            )
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


EventTypeSerializer = inline_serializer(
    "WebhookEventType",
    {
        "name": serializers.CharField(),
        "label": serializers.CharField(),
        "description": serializers.CharField(),
    },
    many=True,
)


class EventTypesView(APIView):
    """The event types a subscription may choose."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: EventTypeSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {"name": e.name, "label": e.label, "description": e.description}
                for e in catalogue.EVENT_TYPES
            ]
        )
