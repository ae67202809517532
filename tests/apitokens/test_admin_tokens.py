"""Admins see everyone's tokens and revoke them; no key can be read or made there."""

import pytest

from apps.apitokens.models import ApiToken
from apps.apitokens.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_tokens_without_their_secrets(client, admin_user, csm):
    token, key = api_token_create(user=csm, name="Reporting script")
    client.force_login(admin_user)

    listing = client.get("/admin/apitokens/apitoken/").content.decode()
    detail = client.get(f"/admin/apitokens/apitoken/{token.pk}/change/").content.decode()

    assert "Reporting script" in listing
    assert "carla" in listing
    for page in (listing, detail):
        assert key not in page
        assert token.digest not in page
    assert client.get("/admin/apitokens/apitoken/add/").status_code == 403


def test_admin_revokes_tokens(client, admin_user, csm, rep):
    mine, _ = api_token_create(user=csm, name="Laptop")
    kept, _ = api_token_create(user=rep, name="Script")
    client.force_login(admin_user)

    response = client.post(
        "/admin/apitokens/apitoken/",
        {"action": "revoke", "_selected_action": [mine.pk]},
        follow=True,
    )

    assert "1 token(s) revoked." in response.content.decode()
    assert list(ApiToken.objects.all()) == [kept]


def test_the_admin_role_may_revoke_without_being_superuser(csm):
    admin = UserFactory(username="adele", role="Admin", is_staff=True)
    assert admin.has_perm("apitokens.delete_apitoken")
    assert not csm.has_perm("apitokens.view_apitoken")
