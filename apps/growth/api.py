"""REST endpoints for usage signals: send one snapshot or a batch, list what was sent."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.growth.models import UsageSnapshot
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


class UsageSnapshotFilter(filters.FilterSet):
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
