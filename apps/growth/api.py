"""REST endpoints for growth: usage signals in (one snapshot or a batch), referrals and
expansion deals out, with the funnel and pipeline figures of the results pages."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.filters import FilterSet, StrictBooleanFilter
from apps.growth.forms import ResultFilterForm
from apps.growth.models import ExpansionDeal, Referral, Reward, UsageSnapshot
from apps.growth.results import (
    BY,
    PIPELINE_BY,
    ResultFilters,
    expansion_pipeline,
    referral_funnel,
)
from apps.growth.services import MAX_BATCH, usage_record_many


class UsageSnapshotSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    utilisation = serializers.DecimalField(max_digits=7, decimal_places=1, read_only=True)

    class Meta:
        model = UsageSnapshot
        fields = [
            "id",
            "account",
            "product",
            "sku",
            "measured_at",
            "licensed_units",
            "used_units",
            "utilisation",
            "crossed",
            "received_at",
        ]
        read_only_fields = fields


class UsageSnapshotFilter(FilterSet):
    class Meta:
        model = UsageSnapshot
        fields = ["account", "product", "crossed"]


class UsageSnapshotViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Usage snapshots. POST one object, or a list of up to 1 000: all are stored or none
    (errors keyed "<row>.<field>"); a snapshot sent again is a duplicate and changes
    nothing; ``product`` is an id or a SKU."""

    queryset = UsageSnapshot.objects.select_related("product").order_by("-measured_at", "-id")
    serializer_class = UsageSnapshotSerializer
    filterset_class = UsageSnapshotFilter

    @extend_schema(
        request=inline_serializer(
            name="UsageSnapshotIn",
            fields={
                "account": serializers.IntegerField(),
                "product": serializers.CharField(help_text="A product id or SKU"),
                "measured_at": serializers.DateTimeField(),
                "licensed_units": serializers.IntegerField(min_value=0),
                "used_units": serializers.IntegerField(min_value=0),
            },
        ),
        responses={
            201: inline_serializer(
                name="UsageRecorded",
                fields={
                    "created": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "crossings": serializers.IntegerField(),
                },
            )
        },
        description=f"One snapshot, or a JSON list of at most {MAX_BATCH}.",
    )
    def create(self, request: Request) -> Response:
        items = request.data if isinstance(request.data, list) else [request.data]
        result = usage_record_many(items=list(items))
        return Response(
            {
                "created": result.created,
                "duplicates": result.duplicates,
                "crossings": result.crossings,
            },
            status=status.HTTP_201_CREATED,
        )


# Referrals and expansion attribution ---------------------------------------------------------

RESULT_PARAMETERS = [
    OpenApiParameter("since", OpenApiTypes.DATE, description="Asks (or prompts) from this day"),
    OpenApiParameter("until", OpenApiTypes.DATE, description="… up to this day"),
    OpenApiParameter("segment", str, description="The (referrer) account's segment"),
]


def _result_filters(request: Request) -> ResultFilters:
    """The query's filters, or a 400 naming each bad one."""
    form = ResultFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.filters()


def _by(request: Request, allowed: tuple[str, ...], default: str | None) -> str | None:
    by = request.query_params.get("by") or default
    if by is not None and by not in allowed:
        raise ValidationError({"by": [f"Use one of: {', '.join(allowed)}."]})
    return by


class RewardSerializer(serializers.ModelSerializer):
    class Meta:
        model = Reward
        fields = ["id", "amount", "currency", "status", "created_at", "issued_at"]
        read_only_fields = fields


class ReferralSerializer(serializers.ModelSerializer):
    referrer_contact_name = serializers.CharField(source="referrer_contact.name", read_only=True)
    referrer_account_name = serializers.CharField(source="referrer_account.name", read_only=True)
    reward = RewardSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "company",
            "contact_name",
            "email",
            "title",
            "note",
            "submitted_at",
            "referrer_contact",
            "referrer_contact_name",
            "referrer_account",
            "referrer_account_name",
            "outcome",
            "flag",
            "account",
            "contact",
            "deal",
            "converted_at",
            "won_amount",
            "reward",
        ]
        read_only_fields = fields


class FunnelRowSerializer(serializers.Serializer):
    """One row of the referral funnel (``referral_funnel``)."""

    group = serializers.CharField(help_text='"All", a month (YYYY-MM) or a segment')
    asked = serializers.IntegerField()
    opened = serializers.IntegerField()
    submitted = serializers.IntegerField()
    deals = serializers.IntegerField()
    won = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True, help_text="Won per submitted, %")
    revenue = serializers.DictField(
        child=serializers.CharField(), help_text="Referred revenue won, per currency"
    )
    median_days_to_convert = serializers.FloatField(allow_null=True)


class PipelineRowSerializer(serializers.Serializer):
    """One row of the expansion pipeline (``expansion_pipeline``): by step it names the
    playbook, version and step; by month or segment, the group."""

    playbook = serializers.CharField(required=False)
    version = serializers.IntegerField(required=False, allow_null=True)
    step = serializers.CharField(required=False, allow_null=True)
    group = serializers.CharField(required=False)
    prompted = serializers.IntegerField()
    open = serializers.IntegerField()
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="Won per closed, %")
    pipeline = serializers.DictField(
        child=serializers.CharField(), help_text="Open amount, per currency"
    )
    won_revenue = serializers.DictField(
        child=serializers.CharField(), help_text="Revenue won, per currency"
    )


class ReferralFilter(FilterSet):
    converted = StrictBooleanFilter(field_name="converted_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Referral
        fields = ["outcome", "referrer_account", "account", "converted"]


class ReferralViewSet(viewsets.ReadOnlyModelViewSet):
    """Referrals customers sent through their links, what they became, and their rewards.
    ``funnel`` gives the figures of the Referrals page."""

    queryset = Referral.objects.select_related(
        "referrer_contact", "referrer_account", "reward"
    ).order_by("-submitted_at", "-id")
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter

    @extend_schema(
        parameters=[
            *RESULT_PARAMETERS,
            OpenApiParameter("by", str, enum=list(BY), description="One row per month or segment"),
        ],
        responses={200: FunnelRowSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def funnel(self, request: Request) -> Response:
        """Asked → link opened → referral sent → deal → won, with the conversion rate, the
        referred revenue per currency and the median days to convert, for the asks made in
        the period; with ``by`` one row per month of the ask or segment of the referrer."""
        by = _by(request, BY, None)
        return Response(referral_funnel(_result_filters(request), by=by))


class ExpansionDealSerializer(serializers.ModelSerializer):
    deal_name = serializers.CharField(source="deal.name", read_only=True)
    stage = serializers.CharField(source="deal.stage", read_only=True)
    playbook_name = serializers.CharField(source="playbook.name", read_only=True, default=None)

    class Meta:
        model = ExpansionDeal
        fields = [
            "id",
            "deal",
            "deal_name",
            "stage",
            "originating_deal",
            "playbook",
            "playbook_name",
            "version_number",
            "step_key",
            "step_run",
            "families",
            "created_at",
            "won_at",
            "won_amount",
        ]
        read_only_fields = fields


class ExpansionDealViewSet(viewsets.ReadOnlyModelViewSet):
    """Expansion deals playbook steps opened, with what they won. ``pipeline`` gives the
    figures of the Expansion page."""

    queryset = ExpansionDeal.objects.select_related("deal", "playbook").order_by(
        "-created_at", "-id"
    )
    serializer_class = ExpansionDealSerializer
    filterset_fields = ["playbook", "step_key"]

    @extend_schema(
        parameters=[
            *RESULT_PARAMETERS,
            OpenApiParameter("by", str, enum=list(PIPELINE_BY), description="Default: step"),
        ],
        responses={200: PipelineRowSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def pipeline(self, request: Request) -> Response:
        """Prompted, open (with their amount), won (with the revenue attributed), lost and
        the win rate, by playbook step (playbook, version, step), month or segment."""
        by = _by(request, PIPELINE_BY, "step")
        return Response(expansion_pipeline(_result_filters(request), by=by))
