"""Moving a deal from its page: the owner and a sales manager may, another rep may not
(403 with the reason), and every refusal names the field and changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.models import DomainEvent
from apps.deals.models import Deal, DealFieldChange, DealLineItem, StageChange
from tests.deals.test_close_won import close_won
from tests.factories import (
    ContactFactory,
    DealFactory,
    DealLineItemFactory,
    LossReasonFactory,
    ProductFactory,
    WinReasonFactory,
    closable_deal,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, deal: Deal, *args) -> str:
    return reverse(f"deals:{name}", args=[deal.pk, *args])


def transition(deal: Deal, name: str) -> str:
    return url("deal_transition", deal, name)


def won_form(**changes) -> dict:
    return {
        "stage": "negotiation",
        "win_reason": WinReasonFactory().pk,
        "win_notes": "Chose us for the API.",
        **changes,
    }


def stored(deal: Deal) -> Deal:
    return Deal.objects.get(pk=deal.pk)


def test_the_owner_closes_as_won_and_the_page_says_so(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    response = client.post(transition(deal, "close_won"), won_form(), **HTMX)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="deal-page"' in page and "Closed as won." in page
    deal = stored(deal)
    assert (deal.stage, deal.win_notes) == ("closed_won", "Chose us for the API.")
    change = StageChange.objects.get(deal=deal)
    assert (change.actor, change.source) == (rep, "ui")
    assert DomainEvent.objects.filter(name="deal.closed_won", aggregate_id=deal.pk).count() == 1


def test_a_plain_post_redirects_back_to_the_deal(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    response = client.post(transition(deal, "close_won"), won_form())

    assert response.status_code == 302
    assert response["Location"] == url("deal_detail", deal)
    assert stored(deal).stage == "closed_won"


def test_another_rep_is_refused_with_whose_deal_it_is_and_nothing_changes(client, rep, other_rep):
    deal = closable_deal(owner=rep, name="Globex renewal")
    client.force_login(other_rep)

    for name, data in [
        (transition(deal, "close_won"), won_form()),
        (
            transition(deal, "close_lost"),
            {"stage": "negotiation", "loss_reason": LossReasonFactory().pk},
        ),
        (transition(deal, "propose"), {"stage": "negotiation"}),
        (url("deal_edit", deal), {"name": "Mine now", "kind": "new_business"}),
    ]:
        response = client.post(name, data)
        assert response.status_code == 403, name
        assert "is owned by" in response.content.decode(), name
        assert "only its owner or a sales manager may" in response.content.decode(), name

    deal = stored(deal)
    assert (deal.stage, deal.name) == ("negotiation", "Globex renewal")
    assert not StageChange.objects.exists()
    assert not DealFieldChange.objects.exists()


def test_another_rep_reads_the_deal_without_forms_and_is_told_why(client, rep, other_rep):
    deal = closable_deal(owner=rep)
    client.force_login(other_rep)

    page = client.get(url("deal_detail", deal)).content.decode()

    assert "Read only." in page
    assert f"is owned by {rep.get_full_name()}" in page
    for form_id in ("close-won-form", "close-lost-form", "move-form", "deal-edit-form"):
        assert f'id="{form_id}"' not in page


def test_a_csm_reads_deals_but_may_not_change_them(client, rep, csm):
    deal = closable_deal(owner=rep)
    client.force_login(csm)

    page = client.get(url("deal_detail", deal)).content.decode()
    assert "Your role may read deals but not change them." in page
    assert 'id="close-won-form"' not in page
    assert client.post(transition(deal, "close_won"), won_form()).status_code == 403
    assert stored(deal).stage == "negotiation"


def test_a_sales_manager_moves_closes_and_reopens_any_deal(client, rep, sales_manager):
    deal = closable_deal(owner=rep)
    client.force_login(sales_manager)

    moved = client.post(transition(deal, "propose"), {"stage": "negotiation"})
    assert moved.status_code == 302
    assert stored(deal).stage == "proposal"

    won = client.post(transition(deal, "close_won"), won_form(stage="proposal"))
    assert won.status_code == 302
    assert stored(deal).stage == "closed_won"

    reopened = client.post(transition(deal, "reopen"), {"stage": "closed_won", "reason": "Typo"})
    assert reopened.status_code == 302
    assert stored(deal).stage == "negotiation"
    assert [c.transition for c in StageChange.objects.filter(deal=deal)] == [
        "propose",
        "close_won",
        "reopen",
    ]


def test_the_owner_moves_between_open_stages_forwards_and_back(client, rep):
    deal = DealFactory(owner=rep, stage="qualified")
    client.force_login(rep)

    client.post(transition(deal, "negotiate"), {"stage": "qualified"})
    assert stored(deal).stage == "negotiation"
    client.post(transition(deal, "move_to_new"), {"stage": "negotiation"})
    assert stored(deal).stage == "new"


def test_every_blocker_is_listed_with_a_link_to_fix_it_and_nothing_changes(client, rep):
    deal = DealFactory(owner=rep, amount=None)  # no amount, contact or line items
    client.force_login(rep)

    response = client.post(
        transition(deal, "close_won"),
        {"stage": "negotiation", "win_notes": " "},
        **HTMX,
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "This deal cannot be closed as won yet:" in page
    for field, anchor in [
        ("amount", "edit_amount"),
        ("primary_contact", "edit_primary_contact"),
        ("line_items", "line-items"),
        ("win_reason", "won_win_reason"),
        ("win_notes", "won_win_notes"),
    ]:
        assert f'data-blocker="{field}"><a href="#{anchor}">' in page, field
        assert f'id="{anchor}"' in page, anchor
    # Each message is also next to the field that fixes it.
    assert 'id="edit_amount_error"' in page and 'id="edit_primary_contact_error"' in page
    # The deal reads as stored: the refused close set no close date.
    assert '<dt>Close date</dt><dd><span class="muted">Not set</span>' in page
    assert stored(deal).stage == "negotiation"
    assert not StageChange.objects.exists()
    assert not DomainEvent.objects.filter(name="deal.closed_won").exists()


def test_an_open_deal_lists_what_it_lacks_before_anyone_tries(client, rep):
    deal = DealFactory(owner=rep, amount=Decimal("100.00"))
    ContactFactory(account=deal.account, is_primary=True)
    client.force_login(rep)

    page = client.get(url("deal_detail", deal)).content.decode()

    assert "Before it can be won:" in page
    assert 'data-blocker="line_items"><a href="#line-items">' in page
    assert 'data-blocker="amount"' not in page


def test_a_close_date_to_come_is_refused_next_to_the_field(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)
    tomorrow = dt.date.today() + dt.timedelta(days=2)

    response = client.post(
        transition(deal, "close_won"), won_form(close_date=tomorrow.isoformat()), **HTMX
    )

    assert response.status_code == 400
    assert "A deal is won on a day that has come" in response.content.decode()
    assert stored(deal).stage == "negotiation"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"win_reason": "not-a-number"}, "win_reason"),
        ({"close_date": "31/31/2026"}, "close_date"),
    ],
)
def test_malformed_input_is_a_400_naming_the_field(client, rep, data, field):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    response = client.post(transition(deal, "close_won"), won_form(**data), **HTMX)

    assert response.status_code == 400
    assert f'id="won_{field}_error"' in response.content.decode()
    assert stored(deal).stage == "negotiation"


def test_close_as_lost_needs_a_reason(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    refused = client.post(transition(deal, "close_lost"), {"stage": "negotiation"}, **HTMX)
    assert refused.status_code == 400
    assert "Choose a loss reason." in refused.content.decode()
    assert stored(deal).stage == "negotiation"

    reason = LossReasonFactory()
    client.post(
        transition(deal, "close_lost"),
        {"stage": "negotiation", "loss_reason": reason.pk, "loss_notes": "Went with a rival"},
    )
    deal = stored(deal)
    assert (deal.stage, deal.loss_reason, deal.loss_notes) == (
        "closed_lost",
        reason,
        "Went with a rival",
    )


def test_reopening_needs_the_permission(client, rep):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    client.force_login(rep)

    page = client.get(url("deal_detail", deal)).content.decode()
    assert 'id="reopen-form"' not in page
    assert "Reopening a closed deal needs its own permission" in page

    response = client.post(transition(deal, "reopen"), {"stage": "closed_won", "reason": "Oops"})
    assert response.status_code == 403
    assert "permission" in response.content.decode()
    assert stored(deal).stage == "closed_won"


def test_reopening_needs_a_reason(client, rep, sales_manager):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    client.force_login(sales_manager)

    response = client.post(
        transition(deal, "reopen"), {"stage": "closed_won", "reason": ""}, **HTMX
    )

    assert response.status_code == 400
    assert 'id="reopen_reason_error"' in response.content.decode()
    assert "Say why the deal is being reopened." in response.content.decode()
    assert stored(deal).stage == "closed_won"


def test_a_page_drawn_before_someone_else_closed_the_deal_gets_a_conflict(
    client, rep, sales_manager
):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=sales_manager)  # while the rep's page still shows negotiation
    client.force_login(rep)

    response = client.post(
        transition(deal, "close_lost"),
        {"stage": "negotiation", "loss_reason": LossReasonFactory().pk},
        **HTMX,
    )

    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else moved this deal to “Closed won” meanwhile" in page
    assert stored(deal).stage == "closed_won"
    assert StageChange.objects.filter(deal=deal).count() == 1


def test_closing_a_closed_deal_again_is_a_conflict(client, rep):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    client.force_login(rep)

    response = client.post(transition(deal, "close_won"), won_form(stage=""), **HTMX)

    assert response.status_code == 409
    assert "cannot be moved with" in response.content.decode()
    assert StageChange.objects.filter(deal=deal).count() == 1


def test_the_owner_fixes_a_blocker_through_the_edit_form(client, rep):
    deal = DealFactory(owner=rep, amount=None)
    client.force_login(rep)

    response = client.post(
        url("deal_edit", deal),
        {"name": deal.name, "kind": "new_business", "amount": "5000", "currency": "eur"},
        **HTMX,
    )

    assert response.status_code == 200
    deal = stored(deal)
    assert (deal.amount, deal.currency) == (Decimal("5000.00"), "EUR")
    changes = {c.field: (c.old_value, c.new_value) for c in DealFieldChange.objects.all()}
    assert changes == {"amount": ("", "5000.00"), "currency": ("USD", "EUR")}


def test_a_bad_edit_names_each_field_and_saves_nothing(client, rep):
    deal = DealFactory(owner=rep, amount=Decimal("10.00"), name="Globex")
    client.force_login(rep)

    response = client.post(
        url("deal_edit", deal),
        {"name": "", "kind": "new_business", "amount": "-5", "currency": "XYZ"},
        **HTMX,
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="edit_name_error"' in page and 'id="edit_amount_error"' in page
    deal = stored(deal)
    assert (deal.name, deal.amount, deal.currency) == ("Globex", Decimal("10.00"), "USD")
    assert not DealFieldChange.objects.exists()


def test_an_unknown_currency_is_refused_by_the_service_next_to_the_field(client, rep):
    deal = DealFactory(owner=rep)
    client.force_login(rep)

    response = client.post(
        url("deal_edit", deal), {"name": deal.name, "kind": "new_business", "currency": "XYZ"}
    )

    assert response.status_code == 400
    assert 'id="edit_currency_error"' in response.content.decode()
    assert stored(deal).currency == "USD"


def test_line_items_are_added_changed_and_removed_with_an_audit(client, rep):
    deal = DealFactory(owner=rep)
    product = ProductFactory(sku="CORE", name="Core platform")
    client.force_login(rep)

    added = client.post(
        url("line_item_add", deal), {"product": product.pk, "quantity": 3, "unit_price": "100"}
    )
    assert added.status_code == 302
    item = DealLineItem.objects.get(deal=deal)
    assert (item.quantity, item.unit_price) == (3, Decimal("100.00"))

    client.post(url("line_item_change", deal, item.pk), {"quantity": 4, "unit_price": "90"})
    item.refresh_from_db()
    assert (item.quantity, item.unit_price) == (4, Decimal("90.00"))

    client.post(url("line_item_remove", deal, item.pk))
    assert not DealLineItem.objects.filter(deal=deal).exists()
    assert [c.new_value or c.old_value for c in DealFieldChange.objects.order_by("id")] == [
        "added 3 × CORE at 100.00",
        "4 × CORE at 90.00",
        "removed 4 × CORE at 90.00",
    ]


def test_a_bad_line_item_is_a_400_naming_the_field(client, rep):
    deal = DealFactory(owner=rep)
    client.force_login(rep)

    response = client.post(
        url("line_item_add", deal), {"product": "", "quantity": 0, "unit_price": "x"}, **HTMX
    )

    assert response.status_code == 400
    page = response.content.decode()
    for field in ("product", "quantity", "unit_price"):
        assert f'id="line_{field}_error"' in page, field
    assert not DealLineItem.objects.exists()


def test_a_line_item_of_another_deal_is_not_found(client, rep):
    deal = DealFactory(owner=rep)
    elsewhere = DealLineItemFactory(deal=DealFactory(owner=rep))
    client.force_login(rep)

    response = client.post(url("line_item_remove", deal, elsewhere.pk))

    assert response.status_code == 404
    assert DealLineItem.objects.filter(pk=elsewhere.pk).exists()


def test_a_closed_deals_line_items_are_a_record(client, rep):
    deal = closable_deal(owner=rep)
    item = deal.line_items.get()
    close_won(deal, actor=rep)
    client.force_login(rep)

    page = client.get(url("deal_detail", deal)).content.decode()
    assert 'id="line-item-add-form"' not in page and 'id="deal-edit-form"' not in page

    response = client.post(url("line_item_remove", deal, item.pk), **HTMX)
    assert response.status_code == 409
    assert "Reopen the deal first" in response.content.decode()
    assert DealLineItem.objects.filter(pk=item.pk).exists()


def test_an_unknown_transition_is_not_found(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    response = client.post(transition(deal, "teleport"), {"stage": "negotiation"})

    assert response.status_code == 404
    assert stored(deal).stage == "negotiation"


def test_a_cs_manager_reads_an_open_deal_and_may_reopen_a_closed_one(client, rep, cs_manager):
    deal = closable_deal(owner=rep)
    client.force_login(cs_manager)
    assert "Your role may read open deals but not change them." in (
        client.get(url("deal_detail", deal)).content.decode()
    )

    close_won(deal, actor=rep)
    page = client.get(url("deal_detail", deal)).content.decode()
    assert 'id="reopen-form"' in page and "Read only." not in page
    client.post(
        transition(deal, "reopen"), {"stage": "closed_won", "reason": "Signed the wrong entity"}
    )
    assert stored(deal).stage == "negotiation"


def test_another_reps_malformed_close_is_refused_for_whose_deal_it_is(client, rep, other_rep):
    deal = closable_deal(owner=rep)
    client.force_login(other_rep)

    response = client.post(transition(deal, "close_won"), won_form(win_reason="x"), **HTMX)

    assert response.status_code == 403
    assert stored(deal).stage == "negotiation"
