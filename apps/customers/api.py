"""REST endpoints for accounts, contacts and products."""

from django.db import IntegrityError, transaction
from rest_framework import mixins, serializers, viewsets

from apps.customers.models import Account, Contact, Product
from apps.customers.services import account_set_lifecycle


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

    @transaction.atomic
    def perform_update(self, serializer) -> None:
        # The lifecycle goes through its service: churning cancels running playbooks.
        status = serializer.validated_data.pop("lifecycle_status", None)
        account = serializer.save()
        if status is not None:
            account_set_lifecycle(account=account, status=status, actor=self.request.user)
            account.refresh_from_db()


class ContactSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)

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
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # The one-primary-per-account rule is checked in validate() so that the error
        # names the field instead of landing in non_field_errors.
        validators = []

    def validate(self, attrs: dict) -> dict:
        account = attrs.get("account", getattr(self.instance, "account", None))
        is_primary = attrs.get("is_primary", getattr(self.instance, "is_primary", False))
        if is_primary and account is not None:
            current = account.contacts.filter(is_primary=True)
            if self.instance is not None:
                current = current.exclude(pk=self.instance.pk)
            if holder := current.first():
                raise serializers.ValidationError(
                    {"is_primary": [f"{account.name} already has a primary contact: {holder}."]}
                )
        return attrs


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
        self._save(serializer)

    def perform_update(self, serializer: ContactSerializer) -> None:
        self._save(serializer)

    def _save(self, serializer: ContactSerializer) -> None:
        # validate() checked for another primary contact, but a concurrent request can
        # make one in between; the database constraint then has the last word.
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            raise serializers.ValidationError(
                {"is_primary": ["This account already has a primary contact."]}
            ) from None


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
