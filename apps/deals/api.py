"""REST endpoints for deals, their line items, stage transitions and stage timeline.

``stage`` is never written here: a transition request is validated, then handed to
``apps.deals.services.deal_transition``, which checks permissions and blockers.
"""

from django_filters import rest_framework as filters
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_choice_field
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.errors import ValidationFailed
from apps.core.filters import FilterSet
from apps.core.permissions import ModelPermissions
from apps.deals import selectors, services
from apps.deals.models import (
    Deal,
    DealFieldChange,
    DealLineItem,
    LossReason,
    Stage,
    StageChange,
    WinReason,
)
from apps.deals.origins import origins_for

# Serializers -----------------------------------------------------------------------------


class StageField(serializers.ChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=Stage.choices, **kwargs)


class StageFieldSchema(OpenApiSerializerFieldExtension):
    """Every stage-valued field (stage, from/to stage, transition target) points at one
    ``DealStage`` component instead of an enum named after each field."""

    target_class = StageField

    def get_name(self) -> str:
        return "DealStage"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_choice_field(self.target)
        schema.pop("x-spec-enum-id", None)
        return schema


class DealLineItemSerializer(serializers.ModelSerializer):
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    total = serializers.DecimalField(max_digits=22, decimal_places=2, read_only=True)

    class Meta:
        model = DealLineItem
        fields = [
            "id",
            "deal",
            "product",
            "product_sku",
            "product_name",
            "quantity",
            "unit_price",
            "total",
        ]


class TransitionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    target = StageField()


class DealListSerializer(serializers.ModelSerializer):
    stage = StageField(read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    owner_username = serializers.CharField(source="owner.username", read_only=True, allow_null=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "account_name",
            "owner",
            "owner_username",
            "kind",
            "pipeline",
            "source",
            "stage",
            "amount",
            "currency",
            "close_date",
            "term_months",
            "primary_contact",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["source", "closed_at", "created_at", "updated_at"]


class DealSerializer(DealListSerializer):
    """A deal with its line items and the transitions the requesting user may run.

    Win and loss details are read-only: they are set by the close transitions.
    """

    line_items = DealLineItemSerializer(many=True, read_only=True)
    available_transitions = serializers.SerializerMethodField()
    origin = serializers.SerializerMethodField(
        help_text="Where the deal came from: “prompted_by” a playbook step (playbook, "
        "version, step) or “referred_by” a customer (contact, account); empty for others."
    )

    class Meta(DealListSerializer.Meta):
        fields = [
            *DealListSerializer.Meta.fields,
            "win_reason",
            "win_notes",
            "loss_reason",
            "loss_notes",
            "line_items",
            "origin",
            "available_transitions",
        ]
        read_only_fields = [
            *DealListSerializer.Meta.read_only_fields,
            "win_reason",
            "win_notes",
            "loss_reason",
            "loss_notes",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_origin(self, deal: Deal) -> list[dict]:
        return [origin.as_json() for origin in origins_for([deal.pk]).get(deal.pk, [])]

    @extend_schema_field(TransitionSerializer(many=True))
    def get_available_transitions(self, deal: Deal) -> list[dict]:
        request = self.context.get("request")
        if request is None:
            return []
        infos = services.deal_available_transitions(deal=deal, user=request.user)
        return TransitionSerializer(infos, many=True).data


class StageChangeSerializer(serializers.ModelSerializer):
    from_stage = StageField(read_only=True)
    to_stage = StageField(read_only=True)
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = StageChange
        fields = [
            "id",
            "transition",
            "from_stage",
            "to_stage",
            "actor",
            "source",
            "reason",
            "occurred_at",
        ]
        read_only_fields = fields


class DealFieldChangeSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = DealFieldChange
        fields = ["id", "field", "old_value", "new_value", "actor", "source", "occurred_at"]
        read_only_fields = fields


class DealTransitionResultSerializer(serializers.Serializer):
    deal = DealSerializer()
    stage_change = StageChangeSerializer()


# Transition payloads. Requirements such as "a win reason is needed" are left to the
# service, so one refused close reports every blocker together; these check types only.


class StageMovePayloadSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CloseWonPayloadSerializer(serializers.Serializer):
    win_reason = serializers.PrimaryKeyRelatedField(
        queryset=WinReason.objects.all(),
        required=False,
        allow_null=True,
        help_text="Needed to close: the id of an active win reason (/api/win-reasons/).",
    )
    win_notes = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Needed to close: why we won."
    )
    close_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The day it was won: today or before (in the rep's time zone); empty "
        "means today.",
    )


class CloseLostPayloadSerializer(serializers.Serializer):
    loss_reason = serializers.PrimaryKeyRelatedField(
        queryset=LossReason.objects.all(),
        required=False,
        allow_null=True,
        help_text="Needed to close: the id of an active loss reason (/api/loss-reasons/).",
    )
    loss_notes = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenPayloadSerializer(serializers.Serializer):
    reason = serializers.CharField(
        error_messages={
            "required": "Say why the deal is being reopened.",
            "blank": "Say why the deal is being reopened.",
        }
    )


TRANSITION_PAYLOADS: dict[str, type[serializers.Serializer]] = {
    "close_won": CloseWonPayloadSerializer,
    "close_lost": CloseLostPayloadSerializer,
    "reopen": ReopenPayloadSerializer,
    **{name: StageMovePayloadSerializer for name in services.STAGE_MOVES},
}


class WinReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = WinReason
        fields = ["id", "name", "description", "active"]


class LossReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LossReason
        fields = ["id", "name", "description", "active"]


# Views ----------------------------------------------------------------------------------


class TransitionPermission(ModelPermissions):
    """Asking for a transition needs only ``view_deal``: the service then checks the
    transition's own permission (change, close or reopen) and refuses with 403 itself."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class DealFilter(FilterSet):
    stage = filters.MultipleChoiceFilter(choices=Stage.choices)
    kind = filters.MultipleChoiceFilter(choices=Deal.Kind.choices)
    close_date = filters.DateFromToRangeFilter()

    class Meta:
        model = Deal
        fields = ["stage", "kind", "account", "owner", "pipeline", "close_date"]


_TRANSITION_ERRORS = {
    400: OpenApiResponse(
        description="Unknown transition, a payload of the wrong type, or blockers that stop "
        "the transition, keyed by field. Nothing is changed."
    ),
    403: OpenApiResponse(description="You may not run this transition."),
    404: OpenApiResponse(description="No such deal."),
    409: OpenApiResponse(
        description="The deal's stage does not allow this transition, or another change "
        "won a race; ``detail`` says which."
    ),
}


class DealViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = DealFilter
    search_fields = ["name"]
    ordering_fields = ["name", "amount", "close_date", "stage", "created_at", "updated_at"]

    def get_queryset(self):
        if self.action == "list":
            return selectors.deal_list()
        return selectors.deal_list_with_line_items()

    def get_serializer_class(self):
        return DealListSerializer if self.action == "list" else DealSerializer

    def perform_create(self, serializer: DealSerializer) -> None:
        serializer.instance = services.deal_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: DealSerializer) -> None:
        serializer.instance = services.deal_update(
            deal=serializer.instance,
            actor=self.request.user,
            source=StageChange.Source.API,
            **serializer.validated_data,
        )

    @extend_schema(
        summary="Run a stage transition",
        parameters=[
            OpenApiParameter(
                "transition",
                str,
                OpenApiParameter.PATH,
                enum=sorted(services.TRANSITIONS),
                description="close_won takes win_reason, win_notes and optionally "
                "close_date; close_lost takes loss_reason and optionally loss_notes; "
                "reopen needs a reason; the stage moves take an optional reason.",
            )
        ],
        request=PolymorphicProxySerializer(
            component_name="DealTransitionPayload",
            serializers=[
                CloseWonPayloadSerializer,
                CloseLostPayloadSerializer,
                ReopenPayloadSerializer,
                StageMovePayloadSerializer,
            ],
            resource_type_field_name=None,
        ),
        responses={200: DealTransitionResultSerializer, **_TRANSITION_ERRORS},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"transitions/(?P<transition>[^/.]+)",
        url_name="transition",
        permission_classes=[TransitionPermission],
        filter_backends=[],
    )
    def run_transition(self, request, pk=None, transition=None):
        deal = self.get_object()
        if transition not in services.TRANSITIONS:
            raise serializers.ValidationError(
                {
                    "transition": [
                        f"“{transition}” is not a transition; expected one of: "
                        f"{', '.join(services.TRANSITIONS)}."
                    ]
                }
            )
        payload = TRANSITION_PAYLOADS.get(transition, StageMovePayloadSerializer)(data=request.data)
        payload.is_valid(raise_exception=True)
        change = services.deal_transition(
            deal=deal,
            name=transition,
            actor=request.user,
            source=StageChange.Source.API,
            data=payload.validated_data,
        )
        result = DealTransitionResultSerializer(
            {"deal": self.get_queryset().get(pk=deal.pk), "stage_change": change},
            context=self.get_serializer_context(),
        )
        return Response(result.data)

    @extend_schema(
        summary="Stage history, oldest first", responses=StageChangeSerializer(many=True)
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        deal = self.get_object()
        page = self.paginate_queryset(selectors.deal_timeline(deal=deal))
        return self.get_paginated_response(StageChangeSerializer(page, many=True).data)

    @extend_schema(
        summary="Changes to the deal's fields and line items, oldest first",
        responses=DealFieldChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], url_path="field-changes")
    def field_changes(self, request, pk=None):
        deal = self.get_object()
        page = self.paginate_queryset(selectors.deal_field_changes(deal=deal))
        return self.get_paginated_response(DealFieldChangeSerializer(page, many=True).data)


class DealLineItemViewSet(viewsets.ModelViewSet):
    """Line items of deals. Writes go through the deal services: only the deal's owner
    (or a sales manager) changes them, only while the deal is open (409 once it is
    closed: reopen it first), and each change is on the deal's timeline."""

    queryset = DealLineItem.objects.select_related("product", "deal")
    serializer_class = DealLineItemSerializer
    filterset_fields = ["deal", "product"]
    ordering_fields = ["id", "unit_price", "quantity"]

    def perform_create(self, serializer: DealLineItemSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.line_item_add(
            deal=data["deal"],
            actor=self.request.user,
            product=data["product"],
            quantity=data.get("quantity", 1),
            unit_price=data["unit_price"],
            source=StageChange.Source.API,
        )

    def perform_update(self, serializer: DealLineItemSerializer) -> None:
        data = dict(serializer.validated_data)
        if "deal" in data and data.pop("deal") != serializer.instance.deal:
            raise ValidationFailed(
                "A line item stays on its deal.",
                {"deal": ["Remove it and add it to the other deal instead."]},
            )
        serializer.instance = services.line_item_update(
            item=serializer.instance,
            actor=self.request.user,
            source=StageChange.Source.API,
            **data,
        )

    def perform_destroy(self, instance: DealLineItem) -> None:
        services.line_item_remove(
            item=instance, actor=self.request.user, source=StageChange.Source.API
        )


class WinReasonViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = WinReason.objects.all()
    serializer_class = WinReasonSerializer
    filterset_fields = ["active"]
    search_fields = ["name"]


class LossReasonViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = LossReason.objects.all()
    serializer_class = LossReasonSerializer
    filterset_fields = ["active"]
    search_fields = ["name"]
