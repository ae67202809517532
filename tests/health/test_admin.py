"""Admins configure the factors and thresholds in Django admin; refusals name the field
and change nothing. Account health is read-only there, with its factors."""

from decimal import Decimal

import pytest

from apps.health.models import HealthFactor, HealthSettings
from apps.health.services import health_recompute
from tests.health.conftest import customer, nps_answer

pytestmark = pytest.mark.django_db


def factor_form(factor: HealthFactor, **changes) -> dict:
    data = {
        "label": factor.label,
        "weight": str(factor.weight),
        "full_at": "" if factor.full_at is None else str(factor.full_at),
        "zero_at": "" if factor.zero_at is None else str(factor.zero_at),
        "passive_points": str(factor.passive_points),
        "queue_slug": factor.queue_slug,
    }
    return {**data, **changes}


def post_factor(client, factor, **changes):
    return client.post(
        f"/admin/health/healthfactor/{factor.pk}/change/", factor_form(factor, **changes)
    )


def errors(response) -> dict:
    assert response.status_code == 200
    return response.context["adminform"].form.errors


def test_an_admin_changes_a_weight_and_the_days_since_the_last_touch(client, admin_user):
    client.force_login(admin_user)
    touch = HealthFactor.objects.get(key="last_touch")
    response = post_factor(client, touch, weight="30", full_at="7", zero_at="45")
    assert response.status_code == 302
    touch.refresh_from_db()
    assert (touch.weight, touch.full_at, touch.zero_at) == (Decimal(30), Decimal(7), Decimal(45))


def test_a_negative_weight_is_refused_on_the_weight(client, admin_user):
    client.force_login(admin_user)
    nps = HealthFactor.objects.get(key="nps")
    assert "weight" in errors(post_factor(client, nps, weight="-1"))
    assert HealthFactor.objects.get(key="nps").weight == Decimal(25)


def test_the_last_weight_cannot_go_to_zero(client, admin_user):
    client.force_login(admin_user)
    HealthFactor.objects.exclude(key="nps").update(weight=0)
    nps = HealthFactor.objects.get(key="nps")
    problems = errors(post_factor(client, nps, weight="0"))
    assert "give at least one factor a weight above 0" in problems["weight"][0]
    assert HealthFactor.objects.get(key="nps").weight == Decimal(25)


def test_full_marks_and_zero_need_different_values(client, admin_user):
    client.force_login(admin_user)
    overdue = HealthFactor.objects.get(key="overdue_tasks")
    problems = errors(post_factor(client, overdue, full_at="3", zero_at="3"))
    assert "zero_at" in problems
    problems = errors(post_factor(client, overdue, full_at=""))
    assert "full_at" in problems


def test_thresholds_must_be_ordered(client, admin_user):
    client.force_login(admin_user)
    row = HealthSettings.objects.get()
    response = client.post(
        f"/admin/health/healthsettings/{row.pk}/change/", {"green_at": "50", "yellow_at": "60"}
    )
    assert "Yellow must start below green (50)" in errors(response)["yellow_at"][0]
    row.refresh_from_db()
    assert (row.green_at, row.yellow_at) == (70, 40)
    response = client.post(
        f"/admin/health/healthsettings/{row.pk}/change/", {"green_at": "80", "yellow_at": "101"}
    )
    assert "yellow_at" in errors(response)
    response = client.post(
        f"/admin/health/healthsettings/{row.pk}/change/", {"green_at": "80", "yellow_at": "50"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.green_at, row.yellow_at) == (80, 50)


def test_account_health_is_read_only_with_its_factors(client, admin_user):
    account = customer(name="Fjord Freight")
    nps_answer(account, 5)
    health_recompute(account_ids=[account.pk])
    client.force_login(admin_user)
    listing = client.get("/admin/health/accounthealth/")
    assert "Fjord Freight" in listing.content.decode()
    health = account.health
    page = client.get(f"/admin/health/accounthealth/{health.pk}/change/").content.decode()
    assert "detractor (5)" in page and "Latest NPS answer 5" in page
    assert 'name="_save"' not in page
    assert client.get("/admin/health/healthfactor/add/").status_code == 403


def test_a_cs_manager_reads_the_factors_but_cannot_change_them(client, cs_manager):
    client.force_login(cs_manager)
    nps = HealthFactor.objects.get(key="nps")
    assert client.get(f"/admin/health/healthfactor/{nps.pk}/change/").status_code == 200
    response = post_factor(client, nps, weight="99")
    assert response.status_code == 403
    assert HealthFactor.objects.get(key="nps").weight == Decimal(25)
