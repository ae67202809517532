"""Responses and metrics for staff: computed in SQL, checked against a hand count."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from apps.core import clock
from apps.surveys.models import Invitation, Response, Survey, band_of
from apps.surveys.rollups import rollups_rebuild
from apps.surveys.selectors import ResponseFilters, response_metrics
from tests.factories import AccountFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def answer(kind: str, score: int, *, segment="Retail", csm=None, days_ago=0, status="answered"):
    survey = Survey.objects.get(slug=kind)
    account = AccountFactory(segment=segment, csm=csm)
    contact = ContactFactory(account=account)
    at = NOW - dt.timedelta(days=days_ago)
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=account,
        status=status,
        created_at=at,
        expires_at=at + dt.timedelta(days=30),
    )
    if status != "answered":
        return None
    return Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=kind,
        score=score,
        band=band_of(kind, score),
        answered_at=at,
        account=account,
        contact=contact,
        segment=segment,
        csm=csm,
    )


@pytest.fixture
def history():
    carla = UserFactory(username="carla", role="CSM")
    # NPS in November: 10, 9, 8, 3, 0 -> 2 promoters, 2 detractors of 5: NPS 0.
    for score in (10, 9, 8, 3, 0):
        answer("nps", score, csm=carla)
    # NPS in October, software: 10, 10, 7, 6 -> 2 promoters, 1 detractor of 4: NPS 25.
    for score in (10, 10, 7, 6):
        answer("nps", score, segment="Software", days_ago=30)
    # CSAT: 5, 4, 2 -> 2 of 3 satisfied (66.7 %), mean 3.67. CES: 6, 3 -> mean 4.5.
    for score in (5, 4, 2):
        answer("csat", score)
    for score in (6, 3):
        answer("ces", score)
    # Invited and not answered, and held back by the policy.
    answer("nps", 0, status="sent")
    answer("nps", 0, status="suppressed")
    rollups_rebuild()  # written here without the services, so counted again
    return carla


def test_metrics_match_a_hand_count(history):
    [overall] = response_metrics(ResponseFilters())

    assert overall["responses"] == 14
    assert (overall["promoters"], overall["detractors"], overall["nps_n"]) == (4, 3, 9)
    assert overall["nps"] == round(100 * (4 - 3) / 9, 1)  # 11.1
    assert (overall["csat_pct"], overall["csat_mean"]) == (66.7, 3.67)
    assert overall["ces_mean"] == 4.5
    # 15 invitations sent (14 answered, 1 not), 1 suppressed.
    assert (overall["invited"], overall["answered"], overall["suppressed"]) == (15, 14, 1)
    assert overall["response_rate"] == 93.3


def test_metrics_by_month_segment_and_csm(history):
    by_month = {row["group"]: row["nps"] for row in response_metrics(ResponseFilters(), by="month")}
    assert by_month == {"2026-10": 25.0, "2026-11": 0.0}

    by_segment = response_metrics(ResponseFilters(), by="segment")
    assert {row["group"]: row["nps"] for row in by_segment} == {"Retail": 0.0, "Software": 25.0}

    by_csm = response_metrics(ResponseFilters(), by="csm")
    assert {row["group"]: row["responses"] for row in by_csm} == {"carla": 5, None: 9}


def test_the_responses_page_filters_and_shows_metrics(client, history, cs_manager):
    client.force_login(cs_manager)
    with clock.frozen(NOW):
        page = client.get(reverse("surveys:responses"), {"kind": "nps", "band": "detractor"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "Responses (3)" in html
    # Only detractors: this view's NPS is -100, and so is each month's on the trend.
    assert "2026-10: -100.0; 2026-11: -100.0" in html
    by_segment = client.get(reverse("surveys:responses"), {"kind": "nps", "by": "segment"})
    assert "<td>Software</td><td>4</td><td>25.0</td>" in by_segment.content.decode()
    bad = client.get(reverse("surveys:responses"), {"score": "eleven"})
    assert bad.status_code == 400 and "Enter a whole number" in bad.content.decode()


def test_sales_reps_see_no_responses(client, history, rep):
    client.force_login(rep)
    assert client.get(reverse("surveys:responses")).status_code == 403


def test_api_lists_filters_and_aggregates_the_same_way(history, cs_manager):
    api = APIClient()
    api.force_authenticate(cs_manager)

    listed = api.get("/api/survey-responses/", {"kind": "csat"})
    assert listed.status_code == 200
    assert sorted(row["score"] for row in listed.json()["results"]) == [2, 4, 5]

    metrics = api.get("/api/survey-responses/metrics/", {"by": "segment", "kind": "nps"})
    assert metrics.status_code == 200
    assert {row["group"]: row["nps"] for row in metrics.json()} == {
        "Retail": 0.0,
        "Software": 25.0,
    }

    refused = api.get("/api/survey-responses/", {"answered_from": "yesterday"})
    assert refused.status_code == 400
    assert "answered_from" in refused.json()
    assert api.get("/api/survey-responses/metrics/", {"by": "weather"}).status_code == 400


def test_api_follow_up_once_with_a_note(history, cs_manager, rep):
    detractor = Response.objects.filter(band="detractor").first()
    api = APIClient()
    api.force_authenticate(rep)
    follow_up = f"/api/survey-responses/{detractor.pk}/follow-up/"
    assert api.post(follow_up, {"note": "x"}).status_code == 403

    api.force_authenticate(cs_manager)
    empty = api.post(f"/api/survey-responses/{detractor.pk}/follow-up/", {"note": ""})
    assert empty.status_code == 400
    done = api.post(f"/api/survey-responses/{detractor.pk}/follow-up/", {"note": "Called."})
    assert done.status_code == 200 and done.json()["follow_up_note"] == "Called."
    again = api.post(f"/api/survey-responses/{detractor.pk}/follow-up/", {"note": "Again"})
    assert again.status_code == 409
    detractor.refresh_from_db()
    assert detractor.follow_up_note == "Called."


def test_every_page_of_responses_in_order(client, history, cs_manager, settings):
    from apps.surveys import views

    client.force_login(cs_manager)
    expected = list(Response.objects.order_by("-answered_at", "-id").values_list("pk", flat=True))
    seen = []
    original = views.PAGE_SIZE
    views.PAGE_SIZE = 4  # 14 responses: 4 pages, the last two read from the other end
    try:
        for number in range(1, 5):
            page = client.get(reverse("surveys:responses"), {"page": number})
            seen += [row.pk for row in page.context["page"].object_list]
    finally:
        views.PAGE_SIZE = original
    assert seen == expected
