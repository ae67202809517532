"""REST endpoints for bulk enrollment: preview (a dry run), start a run, watch it."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from apps.engine.bulk import (
    FILTER_FIELDS,
    MAX_SPREAD_BUSINESS_DAYS,
    bulk_enrollment_preview,
    bulk_enrollment_start,
    bulk_enrollment_summary,
)
from apps.engine.models import BulkEnrollment

SKIPPED_REASONS = serializers.DictField(
    child=serializers.IntegerField(),
    read_only=True,
    help_text="Accounts the enrollment policy skips, by reason: already_enrolled, cooldown.",
)


class BulkEnrollmentRequestSerializer(serializers.Serializer):
    playbook = serializers.IntegerField(help_text="An active playbook with a published version.")
    filters = serializers.JSONField(
        required=False,
        default=dict,
        help_text="Which accounts: "
        + "; ".join(f"{name} ({what})" for name, what in FILTER_FIELDS.items())
        + ". Empty matches every account that has not churned.",
    )
    spread_business_days = serializers.IntegerField(
        required=False,
        default=0,
        help_text=f"Spread the start dates over this many business days (0 to "
        f"{MAX_SPREAD_BUSINESS_DAYS}) in each account's calendar; 0 starts everyone now.",
    )
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Only count; enroll nobody."
    )


class BulkEnrollmentPreviewSerializer(serializers.Serializer):
    playbook = serializers.IntegerField(source="request.playbook.pk")
    total = serializers.IntegerField(help_text="Accounts matching the filters.")
    to_enroll = serializers.IntegerField()
    skipped = serializers.IntegerField()
    skipped_reasons = SKIPPED_REASONS


class BulkEnrollmentSerializer(serializers.ModelSerializer):
    playbook_name = serializers.CharField(source="playbook.name", read_only=True)
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    requested_by_username = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True
    )
    skipped = serializers.IntegerField(read_only=True)
    skipped_reasons = serializers.SerializerMethodField()
    percent = serializers.IntegerField(read_only=True, help_text="How far the run is, 0–100.")
    summary = serializers.SerializerMethodField()

    class Meta:
        model = BulkEnrollment
        fields = [
            "id",
            "playbook",
            "playbook_name",
            "version",
            "version_number",
            "filters",
            "spread_business_days",
            "requested_by",
            "requested_by_username",
            "state",
            "total",
            "enrolled",
            "skipped",
            "skipped_reasons",
            "percent",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(SKIPPED_REASONS)
    def get_skipped_reasons(self, run: BulkEnrollment) -> dict[str, int]:
        return {"already_enrolled": run.skipped_already_enrolled, "cooldown": run.skipped_cooldown}

    def get_summary(self, run: BulkEnrollment) -> str:
        return bulk_enrollment_summary(run)


class BulkEnrollmentViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Enroll existing accounts in a playbook. Needs the "add bulk enrollment" permission
    (Admin and CS Manager roles) to start or preview, "view" to watch."""

    queryset = BulkEnrollment.objects.select_related("playbook", "version", "requested_by")
    serializer_class = BulkEnrollmentSerializer
    filterset_fields = ["playbook", "state"]
    ordering_fields = ["created_at"]

    @extend_schema(
        request=BulkEnrollmentRequestSerializer,
        responses={
            200: OpenApiResponse(
                BulkEnrollmentPreviewSerializer, description="dry_run: what a run would do."
            ),
            202: OpenApiResponse(
                BulkEnrollmentSerializer, description="The run is queued; GET it for progress."
            ),
            400: OpenApiResponse(
                description="Bad input, keyed by field: playbook, spread_business_days, "
                "filters, filters.<field> (an empty result is one)."
            ),
            403: OpenApiResponse(description="You may not enroll accounts in bulk."),
        },
    )
    def create(self, request, *args, **kwargs):
        payload = BulkEnrollmentRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        fields = {
            "playbook": data["playbook"],
            "filters": data["filters"],
            "spread_business_days": data["spread_business_days"],
        }
        if data["dry_run"]:
            preview = bulk_enrollment_preview(**fields)
            return Response(BulkEnrollmentPreviewSerializer(preview).data)
        run = bulk_enrollment_start(**fields, actor=request.user)
        location = reverse("bulkenrollment-detail", args=[run.pk])
        return Response(
            self.get_serializer(run).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": location},
        )
