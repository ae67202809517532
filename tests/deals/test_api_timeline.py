import pytest
from rest_framework.test import APIClient

from apps.deals.models import Stage
from tests.factories import DealFactory, WinReasonFactory, closable_deal

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_timeline_lists_stage_changes_oldest_first(rep, cs_manager, csm):
    deal = closable_deal(owner=rep, stage=Stage.PROPOSAL)
    as_rep, as_manager = client_for(rep), client_for(cs_manager)
    base = f"/api/deals/{deal.pk}/transitions"
    as_rep.post(f"{base}/negotiate/", {"reason": "Pricing agreed."}, format="json")
    as_rep.post(
        f"{base}/close_won/",
        {"win_reason": WinReasonFactory(name="Product fit").pk, "win_notes": "API."},
        format="json",
    )
    as_manager.post(f"{base}/reopen/", {"reason": "Wrong entity signed."}, format="json")

    response = client_for(csm).get(f"/api/deals/{deal.pk}/timeline/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [
        (r["transition"], r["from_stage"], r["to_stage"], r["actor"], r["source"], r["reason"])
        for r in rows
    ] == [
        ("negotiate", "proposal", "negotiation", "rick", "api", "Pricing agreed."),
        ("close_won", "negotiation", "closed_won", "rick", "api", "Product fit: API."),
        ("reopen", "closed_won", "negotiation", "mona", "api", "Wrong entity signed."),
    ]
    assert rows[0]["occurred_at"] <= rows[1]["occurred_at"] <= rows[2]["occurred_at"]


def test_timeline_of_a_deal_without_changes_is_empty(csm):
    deal = DealFactory()

    response = client_for(csm).get(f"/api/deals/{deal.pk}/timeline/")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_timeline_of_a_missing_deal_is_404(csm):
    assert client_for(csm).get("/api/deals/987654/timeline/").status_code == 404


def test_timeline_needs_permission_to_view_deals(outsider):
    deal = DealFactory()
    assert client_for(outsider).get(f"/api/deals/{deal.pk}/timeline/").status_code == 403
