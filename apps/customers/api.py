"""REST endpoints for accounts, contacts and products."""

from rest_framework import mixins, serializers, viewsets

from apps.customers.models import Account, Contact, Product
from apps.customers.services import (
    account_create,
    account_update,
    contact_create,
    contact_update,
)


class AccountSerializer(serializers.ModelSerializer):
    owner_username = serializers.CharField(source="owner.username", read_only=True, allow_null=True)
    csm_username = serializers.CharField(source="csm.username", read_only=True, allow_null=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "domain",
            "timezone",
            "country",
            "tier",
            "segment",
            "owner",
            "owner_username",
            "csm",
            "csm_username",
            "lifecycle_status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Account.objects.select_related("owner", "csm")
    serializer_class = AccountSerializer
    filterset_fields = ["tier", "lifecycle_status", "country", "segment", "owner", "csm"]
    search_fields = ["name", "domain"]
    ordering_fields = ["name", "created_at", "updated_at"]

    def perform_create(self, serializer: AccountSerializer) -> None:
        serializer.instance = account_create(actor=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: AccountSerializer) -> None:
        # Churning cancels running playbooks: the service hands the lifecycle on.
        serializer.instance = account_update(
            account=serializer.instance, actor=self.request.user, **serializer.validated_data
        )


class ContactSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    consent_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=1000,
        help_text="Needed (with the resubscribe permission) to set unsubscribed back to false.",
    )

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "account_name",
            "name",
            "email",
            "title",
            "is_primary",
            "unsubscribed",
            "consent_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # The one-primary-per-account rule is the service's, so that the error names the
        # field instead of landing in non_field_errors.
        validators = []


class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Contact.objects.select_related("account")
    serializer_class = ContactSerializer
    filterset_fields = ["account", "is_primary", "unsubscribed"]
    search_fields = ["name", "email", "account__name"]
    ordering_fields = ["name", "email", "created_at"]

    def perform_create(self, serializer: ContactSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("consent_reason", None)
        serializer.instance = contact_create(actor=self.request.user, **data)

    def perform_update(self, serializer: ContactSerializer) -> None:
        serializer.instance = contact_update(
            contact=serializer.instance, actor=self.request.user, **serializer.validated_data
        )


class ProductSerializer(serializers.ModelSerializer):
    family_name = serializers.CharField(source="family.name", read_only=True)

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "family", "family_name", "list_price", "currency", "active"]


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Product.objects.select_related("family")
    serializer_class = ProductSerializer
    filterset_fields = ["family", "active", "currency"]
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "list_price"]
