"""Staff add notes to an account through an htmx form; a note is a record: an empty or
too long one is refused with the reason beside the field, and none is ever edited."""

import pytest
from django.urls import reverse

from apps.workspace.models import AccountNote
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_note_added_through_htmx_shows_at_once(client, csm):
    account = AccountFactory()
    client.force_login(csm)

    response = client.post(
        reverse("workspace:account_note_add", args=[account.pk]),
        {"body": "  Prefers calls after 3pm.  "},
        **HTMX,
    )

    assert response.status_code == 200
    assert "Prefers calls after 3pm." in response.content.decode()
    note = AccountNote.objects.get()
    assert (note.account, note.author, note.body) == (account, csm, "Prefers calls after 3pm.")


@pytest.mark.parametrize(("body", "reason"), [("   ", "required"), ("x" * 5001, "at most 5000")])
def test_an_empty_or_too_long_note_is_refused(client, csm, body, reason):
    account = AccountFactory()
    client.force_login(csm)

    response = client.post(
        reverse("workspace:account_note_add", args=[account.pk]), {"body": body}, **HTMX
    )

    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not AccountNote.objects.exists()


def test_a_note_cannot_be_edited(csm):
    note = AccountNote.objects.create(account=AccountFactory(), author=csm, body="First")
    note.body = "Changed"

    with pytest.raises(ValueError, match="cannot be edited"):
        note.save()


def test_the_page_offers_no_edit_or_delete(client, csm):
    account = AccountFactory()
    AccountNote.objects.create(account=account, author=csm, body="Kept as written")
    client.force_login(csm)

    body = client.get(reverse("workspace:account_detail", args=[account.pk])).content.decode()

    assert "Kept as written" in body
    assert "Edit" not in body and "Delete" not in body
