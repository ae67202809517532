"""The probes that once got through, repeated: each is refused with the right status and
leaves every table as it was (row counts and the deal's history compared before and
after)."""

import json

import pytest
from django.apps import apps
from django.urls import reverse
from rest_framework.test import APIClient

from apps.deals.models import DealFieldChange, StageChange
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    ContactFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
    WinReasonFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db

# Tables a refused request may write by design: the failed-login records.
WRITTEN_BY_DESIGN = {"axes"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in WRITTEN_BY_DESIGN and model._meta.managed
    }


def history(deal) -> list:
    return list(StageChange.objects.filter(deal=deal).values_list("pk", flat=True)) + list(
        DealFieldChange.objects.filter(deal=deal).values_list("pk", flat=True)
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def world(rep):
    other_rep = UserFactory(username="rory", role="Sales Rep")
    csm = UserFactory(username="cora", role="CSM")
    won = closable_deal(owner=rep, account=AccountFactory(name="Globex", csm=csm))
    close_won(won, actor=rep)
    won.refresh_from_db()
    theirs = closable_deal(owner=other_rep, account=AccountFactory(name="Initech"))
    unsubscribed = ContactFactory(account=won.account, unsubscribed=True)
    elsewhere = ContactFactory(account=AccountFactory(name="Hooli"))
    return {
        "rep": rep,
        "csm": csm,
        "won": won,
        "theirs": theirs,
        "unsubscribed": unsubscribed,
        "elsewhere": elsewhere,
    }


def probes(w):
    """(name, who, request) → expected status; each request is a callable on a client."""
    won, theirs, line = w["won"], w["theirs"], w["won"].line_items.first()
    nested = "[" * 1000 + "]" * 1000
    return [
        ("amount of a won deal", "rep", ("patch", f"/api/deals/{won.pk}/", {"amount": "1"}), 409),
        (
            "line item of a won deal",
            "rep",
            ("delete", f"/api/deal-line-items/{line.pk}/", None),
            409,
        ),
        (
            "close another rep's deal",
            "rep",
            (
                "post",
                f"/api/deals/{theirs.pk}/transitions/close_won/",
                {"win_reason": WinReasonFactory().pk, "win_notes": "mine now"},
            ),
            403,
        ),
        (
            "re-own another rep's deal",
            "rep",
            ("patch", f"/api/deals/{theirs.pk}/", {"owner": None}),
            403,
        ),
        (
            "re-subscribe a contact",
            "csm",
            ("patch", f"/api/contacts/{w['unsubscribed'].pk}/", {"unsubscribed": False}),
            403,
        ),
        (
            "edit a contact on an account one does not cover",
            "csm",
            ("patch", f"/api/contacts/{w['elsewhere'].pk}/", {"name": "Mallory"}),
            403,
        ),
        ("deeply nested JSON", None, ("raw", "/api/auth/token/", nested), 400),
        ("a body over the limit", "csm", ("raw", "/api/tasks/", "x" * 3_000_000), 413),
        ("unread=maybe", "csm", ("get", "/api/notifications/?unread=maybe", None), 400),
        ("NUL in search", "csm", ("get", "/api/accounts/?search=a%00b", None), 400),
        (
            "a currency that is not ISO 4217",
            "rep",
            ("patch", f"/api/deals/{closable_deal(owner=w['rep']).pk}/", {"currency": "XYZ"}),
            400,
        ),
        (
            "a country that is not ISO 3166",
            "rep",
            ("post", "/api/accounts/", {"name": "A", "country": "UK"}),
            400,
        ),
    ]


def send(client: APIClient, method: str, path: str, body):
    if method == "raw":
        return client.post(path, data=body, content_type="application/json")
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def test_every_probe_is_refused_and_changes_nothing(world):
    users = {"rep": world["rep"], "csm": world["csm"]}
    for name, who, (method, path, body), expected in probes(world):
        client = api(users[who]) if who else APIClient()
        before, deal_history = row_counts(), history(world["won"]) + history(world["theirs"])
        amount, owner = world["won"].amount, world["theirs"].owner_id

        response = send(client, method, path, body)

        assert response.status_code == expected, (name, response.status_code, response.content)
        assert response["Content-Type"] == "application/json", name
        assert row_counts() == before, name
        assert history(world["won"]) + history(world["theirs"]) == deal_history, name
        world["won"].refresh_from_db()
        world["theirs"].refresh_from_db()
        assert (world["won"].amount, world["theirs"].owner_id) == (amount, owner), name


def test_a_rep_cannot_edit_a_cs_task_in_the_admin_and_nothing_changes(client, rep):
    rep.is_staff = True
    rep.save()
    task = TaskFactory(queue=QueueFactory(), title="Kickoff call", priority=3)
    client.force_login(rep)
    before = row_counts()

    response = client.post(
        reverse("admin:queues_task_change", args=[task.pk]), {"title": "Renamed", "priority": 1}
    )

    assert response.status_code in (302, 403, 404)
    task.refresh_from_db()
    assert (task.title, task.priority) == ("Kickoff call", 3)
    assert row_counts() == before
