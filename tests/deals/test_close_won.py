import pytest

from apps.core.errors import Conflict, NotPermitted, ValidationFailed
from apps.core.models import DomainEvent
from apps.deals import services
from apps.deals.models import Deal, Stage, StageChange
from tests.factories import (
    ContactFactory,
    DealFactory,
    WinReasonFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db


def close_won(deal, actor=None, **overrides):
    """Close ``deal`` won as ``actor``; a deal nobody owns becomes the actor's first (a
    rep closes the deals they own)."""
    if actor is not None and deal.owner_id is None:
        deal.owner = actor
        deal.save(update_fields=["owner"])
    kwargs = {"win_reason": WinReasonFactory(), "win_notes": "Chose us for the API."}
    kwargs.update(overrides)
    return services.deal_close_won(deal=deal, actor=actor, source="api", **kwargs)


def test_close_won_writes_stage_change_and_event_together(rep):
    deal = closable_deal(owner=rep)

    change = close_won(deal, actor=rep)

    deal.refresh_from_db()
    assert deal.stage == Stage.CLOSED_WON
    assert deal.closed_at is not None
    assert (change.from_stage, change.to_stage, change.actor, change.source) == (
        "negotiation",
        "closed_won",
        rep,
        "api",
    )
    assert "Product fit" in change.reason
    event = DomainEvent.objects.get(name="deal.closed_won")
    assert event.aggregate_id == deal.pk and event.payload["stage_change_id"] == change.pk
    assert deal.primary_contact.is_primary


def test_refused_close_reports_every_blocker_and_changes_nothing(rep):
    deal = DealFactory(owner=rep, amount=None, close_date=None, currency="")

    with pytest.raises(ValidationFailed) as excinfo:
        services.deal_close_won(deal=deal, actor=rep, source="ui", win_reason=None, win_notes=" ")

    assert set(excinfo.value.errors) == {
        "amount",
        "currency",
        "primary_contact",
        "line_items",
        "win_reason",
        "win_notes",
    }
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATION
    assert not StageChange.objects.exists()
    assert not DomainEvent.objects.exists()


def test_zero_amount_is_a_blocker(rep):
    deal = closable_deal(owner=rep)
    deal.amount = 0
    with pytest.raises(ValidationFailed) as excinfo:
        close_won(deal, actor=rep)
    assert list(excinfo.value.errors) == ["amount"]


def test_primary_contact_without_email_is_a_blocker(rep):
    deal = closable_deal(owner=rep)
    deal.account.contacts.update(email="")
    with pytest.raises(ValidationFailed) as excinfo:
        close_won(deal, actor=rep)
    assert "has no email" in excinfo.value.errors["primary_contact"][0]


def test_primary_contact_of_another_account_is_a_blocker(rep):
    deal = closable_deal(owner=rep)
    deal.primary_contact = ContactFactory()
    with pytest.raises(ValidationFailed) as excinfo:
        close_won(deal, actor=rep)
    assert "is not a contact of" in excinfo.value.errors["primary_contact"][0]


def test_inactive_win_reason_is_a_blocker(rep):
    deal = closable_deal(owner=rep)
    reason = WinReasonFactory(name="Retired reason", active=False)
    with pytest.raises(ValidationFailed) as excinfo:
        close_won(deal, actor=rep, win_reason=reason)
    assert list(excinfo.value.errors) == ["win_reason"]


def test_close_date_can_be_given_with_the_transition(rep):
    deal = closable_deal(owner=rep, close_date=None)
    import datetime as dt

    close_won(deal, actor=rep, close_date=dt.date(2026, 11, 21))
    deal.refresh_from_db()
    assert deal.close_date == dt.date(2026, 11, 21)


def test_csm_cannot_close_a_deal(csm):
    deal = closable_deal()
    with pytest.raises(NotPermitted):
        close_won(deal, actor=csm)
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATION


def test_closing_an_already_closed_deal_is_a_conflict(rep):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    with pytest.raises(Conflict):
        close_won(Deal.objects.get(pk=deal.pk), actor=rep)
    assert StageChange.objects.count() == 1


def test_stale_second_close_is_a_conflict_and_writes_nothing_twice(rep):
    deal = closable_deal(owner=rep)
    first = Deal.objects.get(pk=deal.pk)
    second = Deal.objects.get(pk=deal.pk)  # loaded before the first close commits

    close_won(first, actor=rep)
    with pytest.raises(Conflict, match="changed by someone else"):
        close_won(second, actor=rep)

    assert StageChange.objects.count() == 1
    assert DomainEvent.objects.filter(name="deal.closed_won").count() == 1
