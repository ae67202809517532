"""REST endpoints: survey responses (read, and follow up) and their metrics, filtered as
on the Responses page."""

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from apps.surveys.forms import ResponseFilterForm
from apps.surveys.models import Response
from apps.surveys.selectors import GROUPS, ResponseFilters, response_list, response_metrics
from apps.surveys.services import response_follow_up

FILTER_PARAMETERS = [
    OpenApiParameter("kind", str, enum=["nps", "csat", "ces"]),
    OpenApiParameter("band", str),
    OpenApiParameter("score", int),
    OpenApiParameter("segment", str),
    OpenApiParameter("csm", str, description="The CSM's username"),
    OpenApiParameter("playbook", int, description="A playbook id"),
    OpenApiParameter("answered_from", OpenApiTypes.DATE),
    OpenApiParameter("answered_to", OpenApiTypes.DATE),
    OpenApiParameter("followed_up", str, enum=["yes", "no"]),
]


def _filters(request: Request) -> ResponseFilters:
    """The query's filters, or a 400 naming each bad one."""
    form = ResponseFilterForm(request.query_params)
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.filters()


class ResponseSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    contact_name = serializers.CharField(source="contact.name", read_only=True, default="")
    csm = serializers.CharField(source="csm.username", read_only=True, default=None)
    survey = serializers.CharField(source="survey.slug", read_only=True)

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "kind",
            "score",
            "band",
            "comment",
            "answered_at",
            "account",
            "account_name",
            "contact",
            "contact_name",
            "playbook",
            "segment",
            "csm",
            "followed_up_at",
            "followed_up_by",
            "follow_up_note",
        ]
        read_only_fields = fields


class FollowUpSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class MetricsSerializer(serializers.Serializer):
    group = serializers.CharField(allow_null=True)
    responses = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    nps_n = serializers.IntegerField()
    promoters = serializers.IntegerField()
    detractors = serializers.IntegerField()
    csat_pct = serializers.FloatField(allow_null=True)
    csat_mean = serializers.FloatField(allow_null=True)
    csat_n = serializers.IntegerField()
    ces_mean = serializers.FloatField(allow_null=True)
    invited = serializers.IntegerField(required=False)
    answered = serializers.IntegerField(required=False)
    suppressed = serializers.IntegerField(required=False)
    response_rate = serializers.FloatField(allow_null=True, required=False)


class FollowUpPermission(permissions.BasePermission):
    """Following up is changing a response (the model permission for a POST would be
    "add", which nobody has: responses come from customers)."""

    def has_permission(self, request, view) -> bool:
        needed = ["surveys.view_response", "surveys.change_response"]
        return bool(request.user and request.user.has_perms(needed))


@extend_schema(parameters=FILTER_PARAMETERS)
class ResponseViewSet(viewsets.ReadOnlyModelViewSet):
    """Survey responses, newest first. Needs the "view survey response" permission;
    following one up needs "change survey response"."""

    serializer_class = ResponseSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Response]:
        return Response.objects.select_related("account", "contact", "csm", "survey")

    def list(self, request: Request, *args, **kwargs) -> ApiResponse:
        # Filtered here, after the permission check (which reads get_queryset), so a
        # caller without access gets 401/403 before a bad filter gets its 400.
        page = self.paginate_queryset(response_list(_filters(request)))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=FollowUpSerializer, responses=ResponseSerializer)
    @action(
        detail=True, methods=["post"], url_path="follow-up", permission_classes=[FollowUpPermission]
    )
    def follow_up(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Mark the response followed up, with a note of what was done (once)."""
        response = self.get_object()
        body = FollowUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        response = response_follow_up(
            response=response, actor=request.user, note=body.validated_data["note"]
        )
        return ApiResponse(self.get_serializer(response).data)

    @extend_schema(
        parameters=[OpenApiParameter("by", str, enum=[*GROUPS])],
        responses=MetricsSerializer(many=True),
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def metrics(self, request: Request) -> ApiResponse:
        """NPS, CSAT, CES, response rate and suppressions for the filtered responses;
        with ``by`` one row per month, playbook, segment or CSM."""
        by = request.query_params.get("by") or None
        if by is not None and by not in GROUPS:
            raise ValidationError({"by": [f"Use one of: {', '.join(GROUPS)}."]})
        rows = response_metrics(_filters(request), by=by)
        return ApiResponse(MetricsSerializer(rows, many=True).data)
