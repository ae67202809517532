"""Who may open the accounts pages: CS staff and managers, reps, sales managers and
admins; nobody logged in goes to the login page; a user without the view permission
gets a 403; a note needs its own permission."""

import pytest
from django.urls import reverse

from apps.workspace.models import AccountNote
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return AccountFactory(name="Initech")


def urls(account) -> list[str]:
    return [
        reverse("workspace:account_list"),
        reverse("workspace:account_detail", args=[account.pk]),
        reverse("workspace:account_activity", args=[account.pk]),
    ]


def test_nobody_logged_in_is_sent_to_log_in(client, account):
    for url in [*urls(account), reverse("workspace:search") + "?q=init"]:
        response = client.get(url)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_user_without_the_view_permission_gets_a_403(client, outsider, account):
    client.force_login(outsider)

    for url in urls(account):
        assert client.get(url).status_code == 403
    response = client.post(reverse("workspace:account_note_add", args=[account.pk]), {"body": "Hi"})
    assert response.status_code == 403
    assert not AccountNote.objects.exists()


@pytest.mark.parametrize("role", ["Admin", "CS Manager", "CSM", "Sales Rep", "Sales Manager"])
def test_every_customer_facing_role_reads_accounts_and_adds_notes(client, role, account):
    client.force_login(UserFactory(role=role))

    for url in urls(account):
        assert client.get(url).status_code == 200
    response = client.post(
        reverse("workspace:account_note_add", args=[account.pk]), {"body": "Called them."}
    )
    assert response.status_code == 302
    assert AccountNote.objects.get().body == "Called them."


@pytest.mark.parametrize("role", ["CS Manager", "CSM", "Sales Rep", "Sales Manager"])
def test_the_top_bar_links_to_accounts_for_those_who_read_them(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("notifications:list"))

    assert f'href="{reverse("workspace:account_list")}"' in response.content.decode()


def test_no_accounts_link_without_the_permission(client, outsider):
    client.force_login(outsider)

    response = client.get(reverse("notifications:list"))

    assert reverse("workspace:account_list") not in response.content.decode()


def test_an_unknown_account_is_a_404(client, csm):
    client.force_login(csm)

    assert client.get(reverse("workspace:account_detail", args=[999999])).status_code == 404
