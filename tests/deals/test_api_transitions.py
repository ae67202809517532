import datetime as dt

import pytest
from rest_framework.test import APIClient

from apps.core.models import DomainEvent
from apps.deals.models import Deal, Stage, StageChange
from tests.factories import (
    DealFactory,
    LossReasonFactory,
    WinReasonFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def transition(client, deal_id, name, payload=None):
    return client.post(f"/api/deals/{deal_id}/transitions/{name}/", payload or {}, format="json")


def win_payload(**overrides) -> dict:
    return {"win_reason": WinReasonFactory().pk, "win_notes": "Chose us for the API.", **overrides}


def assert_nothing_changed(deal, stage=Stage.NEGOTIATION):
    assert Deal.objects.get(pk=deal.pk).stage == stage
    assert not StageChange.objects.exists()
    assert not DomainEvent.objects.exists()


def test_close_won_closes_the_deal_and_records_the_change(rep):
    deal = closable_deal(owner=rep)

    response = transition(client_for(rep), deal.pk, "close_won", win_payload())

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["deal"]["stage"] == "closed_won"
    assert body["deal"]["win_notes"] == "Chose us for the API."
    assert body["deal"]["closed_at"] is not None
    assert body["stage_change"]["from_stage"] == "negotiation"
    assert body["stage_change"]["to_stage"] == "closed_won"
    assert body["stage_change"]["actor"] == "rick"
    change = StageChange.objects.get(deal=deal)
    assert (change.transition, change.source, change.actor) == ("close_won", "api", rep)
    event = DomainEvent.objects.get(name="deal.closed_won")
    assert event.aggregate_id == deal.pk
    assert event.payload["stage_change_id"] == change.pk


def test_close_won_can_set_the_close_date(rep):
    deal = closable_deal(owner=rep, close_date=None)

    response = transition(
        client_for(rep), deal.pk, "close_won", win_payload(close_date="2026-11-21")
    )

    assert response.status_code == 200, response.json()
    assert Deal.objects.get(pk=deal.pk).close_date == dt.date(2026, 11, 21)


def test_missing_win_reason_is_refused_and_nothing_changes(rep):
    deal = closable_deal(owner=rep)

    response = transition(client_for(rep), deal.pk, "close_won", {"win_notes": "Great fit."})

    assert response.status_code == 400
    assert response.json() == {"win_reason": ["Choose a win reason."]}
    assert_nothing_changed(deal)


def test_deal_without_primary_contact_cannot_be_closed_won(rep):
    deal = closable_deal(owner=rep)
    deal.account.contacts.all().delete()

    response = transition(client_for(rep), deal.pk, "close_won", win_payload())

    assert response.status_code == 400
    assert list(response.json()) == ["primary_contact"]
    assert "primary contact" in response.json()["primary_contact"][0]
    assert_nothing_changed(deal)


def test_every_blocker_is_reported_at_once(rep):
    deal = DealFactory(owner=rep, amount=None, close_date=None)

    response = transition(client_for(rep), deal.pk, "close_won", {})

    assert response.status_code == 400
    assert set(response.json()) == {
        "amount",
        "primary_contact",
        "line_items",
        "win_reason",
        "win_notes",
    }
    assert_nothing_changed(deal)


def test_wrong_payload_types_are_refused_field_by_field(rep):
    deal = closable_deal(owner=rep)

    response = transition(
        client_for(rep),
        deal.pk,
        "close_won",
        {"win_reason": "product fit", "win_notes": {"why": "fit"}, "close_date": "next week"},
    )

    assert response.status_code == 400
    assert set(response.json()) == {"win_reason", "win_notes", "close_date"}
    assert_nothing_changed(deal)


def test_unknown_win_reason_id_is_refused(rep):
    deal = closable_deal(owner=rep)

    response = transition(client_for(rep), deal.pk, "close_won", win_payload(win_reason=987654))

    assert response.status_code == 400
    assert list(response.json()) == ["win_reason"]
    assert_nothing_changed(deal)


def test_unknown_transition_is_refused_naming_the_valid_ones(rep):
    deal = closable_deal(owner=rep)

    response = transition(client_for(rep), deal.pk, "win", win_payload())

    assert response.status_code == 400
    message = response.json()["transition"][0]
    assert "“win” is not a transition" in message
    assert "close_won" in message and "reopen" in message
    assert_nothing_changed(deal)


def test_transition_on_a_missing_deal_is_404(rep):
    response = transition(client_for(rep), 987654, "close_won", win_payload())

    assert response.status_code == 404
    assert not StageChange.objects.exists()


def test_closing_an_already_closed_deal_is_a_conflict(rep):
    deal = closable_deal(owner=rep)
    client = client_for(rep)
    assert transition(client, deal.pk, "close_won", win_payload()).status_code == 200

    again = transition(client, deal.pk, "close_won", win_payload())

    assert again.status_code == 409
    assert again.json()["detail"] == (
        "A deal in stage “Closed won” cannot be moved with “close as won”."
    )
    assert StageChange.objects.count() == 1
    assert DomainEvent.objects.filter(name="deal.closed_won").count() == 1


def test_csm_cannot_close_a_deal(csm):
    deal = closable_deal()

    response = transition(client_for(csm), deal.pk, "close_won", win_payload())

    assert response.status_code == 403
    assert "permission" in str(response.json())
    assert_nothing_changed(deal)


def test_rep_cannot_reopen_a_closed_deal(rep):
    deal = DealFactory(owner=rep, stage=Stage.CLOSED_WON)

    response = transition(client_for(rep), deal.pk, "reopen", {"reason": "Customer backed out."})

    assert response.status_code == 403
    assert_nothing_changed(deal, stage=Stage.CLOSED_WON)


def test_cs_manager_reopens_a_closed_deal_with_a_reason(cs_manager):
    deal = DealFactory(stage=Stage.CLOSED_WON)

    response = transition(
        client_for(cs_manager), deal.pk, "reopen", {"reason": "Signature was on the wrong form."}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["deal"]["stage"] == "negotiation"
    change = StageChange.objects.get(deal=deal)
    assert (change.transition, change.reason) == ("reopen", "Signature was on the wrong form.")
    assert DomainEvent.objects.filter(name="deal.reopened").exists()


def test_reopen_needs_a_reason(cs_manager):
    deal = DealFactory(stage=Stage.CLOSED_WON)

    response = transition(client_for(cs_manager), deal.pk, "reopen", {"reason": "  "})

    assert response.status_code == 400
    assert response.json() == {"reason": ["Say why the deal is being reopened."]}
    assert_nothing_changed(deal, stage=Stage.CLOSED_WON)


def test_close_lost_records_the_loss_reason(rep):
    deal = DealFactory(owner=rep, stage=Stage.PROPOSAL)
    price = LossReasonFactory(name="Price")

    response = transition(
        client_for(rep), deal.pk, "close_lost", {"loss_reason": price.pk, "loss_notes": "Budget."}
    )

    assert response.status_code == 200, response.json()
    deal.refresh_from_db()
    assert (deal.stage, deal.loss_reason, deal.loss_notes) == (Stage.CLOSED_LOST, price, "Budget.")


def test_close_lost_without_a_loss_reason_is_refused(rep):
    deal = DealFactory(owner=rep, stage=Stage.PROPOSAL)

    response = transition(client_for(rep), deal.pk, "close_lost", {"loss_notes": "Budget."})

    assert response.status_code == 400
    assert list(response.json()) == ["loss_reason"]
    assert_nothing_changed(deal, stage=Stage.PROPOSAL)


def test_stage_move_keeps_the_optional_reason(rep):
    deal = DealFactory(owner=rep, stage=Stage.NEW)

    response = transition(client_for(rep), deal.pk, "qualify", {"reason": "Budget confirmed."})

    assert response.status_code == 200
    assert response.json()["deal"]["stage"] == "qualified"
    assert StageChange.objects.get(deal=deal).reason == "Budget confirmed."


def test_moving_to_the_current_stage_is_a_conflict(rep):
    deal = DealFactory(owner=rep, stage=Stage.QUALIFIED)

    response = transition(client_for(rep), deal.pk, "qualify")

    assert response.status_code == 409
    assert "cannot be moved" in response.json()["detail"]
    assert_nothing_changed(deal, stage=Stage.QUALIFIED)


def test_anonymous_cannot_run_transitions():
    deal = closable_deal()

    response = transition(APIClient(), deal.pk, "close_won", win_payload())

    assert response.status_code == 401
    assert_nothing_changed(deal)


def test_user_without_a_role_cannot_run_transitions(outsider):
    deal = closable_deal()

    response = transition(client_for(outsider), deal.pk, "close_won", win_payload())

    assert response.status_code == 403
    assert_nothing_changed(deal)
