"""``GET /api/accounts/{id}/health/``: for whoever may see accounts, 404 for an unknown
account, 400 naming a bad ``days``."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.health.models import HealthSnapshot
from apps.health.services import health_recompute
from tests.health.conftest import NOW, customer, nps_answer

pytestmark = pytest.mark.django_db


def get(user, path):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client.get(path)


def test_staff_read_the_score_its_factors_and_history(now, csm, rep):
    account = customer()
    nps_answer(account, 4)
    health_recompute(account_ids=[account.pk])
    for days_ago in (100, 3, 1):
        HealthSnapshot.objects.create(
            account=account, date=NOW.date() - dt.timedelta(days=days_ago), score=50, band="yellow"
        )
    for user in (csm, rep):
        response = get(user, f"/api/accounts/{account.pk}/health/")
        assert response.status_code == 200
        body = response.json()
        assert (body["account"], body["computed"], body["band"]) == (account.pk, True, "yellow")
        nps = next(f for f in body["factors"] if f["key"] == "nps")
        assert (nps["value"], nps["points"]) == ("detractor (4)", 0)
        assert [s["date"] for s in body["history"]] == ["2026-11-17", "2026-11-19"]
    longer = get(csm, f"/api/accounts/{account.pk}/health/?days=120").json()
    assert len(longer["history"]) == 3


def test_an_account_never_computed_says_so(csm):
    account = customer()
    body = get(csm, f"/api/accounts/{account.pk}/health/").json()
    assert (body["computed"], body["score"], body["band"], body["factors"]) == (
        False,
        None,
        "unknown",
        [],
    )


def test_who_may_not_see_accounts_gets_401_or_403(outsider):
    account = customer()
    assert get(None, f"/api/accounts/{account.pk}/health/").status_code == 401
    assert get(outsider, f"/api/accounts/{account.pk}/health/").status_code == 403


def test_an_unknown_account_is_404_and_a_bad_days_400(csm):
    assert get(csm, "/api/accounts/999999/health/").status_code == 404
    account = customer()
    response = get(csm, f"/api/accounts/{account.pk}/health/?days=0")
    assert response.status_code == 400
    assert "days" in response.json()
    assert get(csm, f"/api/accounts/{account.pk}/health/?days=many").status_code == 400
