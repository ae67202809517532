"""API tokens over the API: trade a username and password for a token, list one's own
tokens and revoke one. Keys are never readable after they are made."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.apitokens.models import ApiToken
from apps.apitokens.selectors import api_tokens_of
from apps.apitokens.services import api_token_create, api_tokens_revoke


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text='What will use the token; "API token" when left out.',
    )

    def validate(self, attrs: dict) -> dict:
        user = authenticate(
            request=self.context.get("request"),
            username=attrs["username"],
            password=attrs["password"],
        )
        if user is None:  # a wrong password, or an inactive user
            raise serializers.ValidationError(
                "Unable to log in with provided credentials.", code="authorization"
            )
        attrs["user"] = user
        return attrs


class NewTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key: send it as `Authorization: Token <key>`.")
    expiry = serializers.DateTimeField()
    name = serializers.CharField()


class ObtainTokenView(APIView):
    """A new API token for a username and password. The key is shown in this answer only."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: NewTokenSerializer},
        auth=[],
        operation_id="auth_token_create",
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(
            user=serializer.validated_data["user"], name=serializer.validated_data.get("name", "")
        )
        body = NewTokenSerializer({"token": key, "expiry": token.expiry, "name": token.name}).data
        return Response(body, status=status.HTTP_200_OK)


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "created", "expiry", "last_used_at"]
        read_only_fields = fields


class ApiTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """The requesting user's live API tokens, newest first; DELETE revokes one (a request
    carrying it then gets 401). Someone else's token answers 404."""

    serializer_class = ApiTokenSerializer
    permission_classes = [permissions.IsAuthenticated]
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ApiToken.objects.none()
        return api_tokens_of(user=self.request.user)

    def perform_destroy(self, instance: ApiToken) -> None:
        api_tokens_revoke(tokens=ApiToken.objects.filter(pk=instance.pk))
