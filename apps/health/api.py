"""``GET /api/accounts/{id}/health/``: the score, each factor's value, contribution and
explanation, and the daily history."""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.customers.models import Account
from apps.health.models import Band
from apps.health.selectors import account_health_detail, health_history


class HealthPermission(permissions.BasePermission):
    """Whoever may see accounts through the API (``customers.view_account``, as
    ``/api/accounts/`` asks) and may read health."""

    required = ("customers.view_account", "health.view_accounthealth")

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.has_perms(self.required))


class FactorSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    has_data = serializers.BooleanField(help_text="False: left out, its weight shared.")
    raw = serializers.FloatField(allow_null=True, help_text="The measured value.")
    value = serializers.CharField(help_text="The measured value as shown.")
    points = serializers.FloatField(allow_null=True, help_text="0–100; null when left out.")
    weight = serializers.FloatField(help_text="As configured.")
    share = serializers.FloatField(help_text="% of the score it carries.")
    contribution = serializers.FloatField(help_text="Points it adds to the score.")
    why = serializers.CharField()


class SnapshotSerializer(serializers.Serializer):
    date = serializers.DateField()
    score = serializers.IntegerField(allow_null=True)
    band = serializers.ChoiceField(choices=Band.choices)


class AccountHealthSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    computed = serializers.BooleanField(help_text="False until the first computation.")
    score = serializers.IntegerField(allow_null=True, help_text="0–100; null without data.")
    band = serializers.ChoiceField(choices=Band.choices)
    band_label = serializers.CharField()
    computed_at = serializers.DateTimeField(allow_null=True)
    factors = FactorSerializer(many=True)
    history = SnapshotSerializer(many=True, help_text="Daily snapshots, oldest first.")


class HistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False,
        default=90,
        min_value=1,
        max_value=366,
        help_text="How many days of history (default 90).",
    )


class AccountHealthView(generics.GenericAPIView):
    """An account's health as last computed, with every factor's value, contribution and
    explanation, and its daily history."""

    permission_classes = [HealthPermission]
    queryset = Account.objects.all()
    serializer_class = AccountHealthSerializer
    filter_backends: list = []
    pagination_class = None

    @extend_schema(parameters=[HistoryQuerySerializer], summary="An account's health")
    def get(self, request: Request, pk: int) -> Response:
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        account = self.get_object()
        detail = account_health_detail(account=account)
        history = health_history(account=account, days=query.validated_data["days"])
        data = {
            "account": account.pk,
            "computed": detail.stored,
            "score": detail.score,
            "band": detail.band,
            "band_label": detail.band_label,
            "computed_at": detail.computed_at,
            "factors": [asdict(line) for line in detail.factors],
            "history": history,
        }
        return Response(AccountHealthSerializer(data).data)
