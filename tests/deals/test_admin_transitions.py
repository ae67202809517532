import re

import pytest
from django.urls import reverse

from apps.core.models import DomainEvent
from apps.deals import services
from apps.deals.models import Deal, Stage, StageChange
from tests.factories import WinReasonFactory, closable_deal

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)
    return client


def change_url(deal: Deal) -> str:
    return reverse("admin:deals_deal_change", args=[deal.pk])


def transition_url(deal: Deal, name: str) -> str:
    return reverse("admin:deals_deal_transition", args=[deal.pk, name])


def section(html: str, start: str, end: str) -> str:
    """The part of ``html`` from the first ``start`` up to the next ``end``."""
    begin = html.index(start)
    stop = html.find(end, begin + len(start))
    return html[begin : stop if stop != -1 else len(html)]


def test_rep_sees_close_buttons_on_a_negotiation_deal(client, rep):
    deal = closable_deal(owner=rep)

    response = sign_in(client, rep).get(change_url(deal))

    html = response.content.decode()
    assert response.status_code == 200
    assert f'href="{transition_url(deal, "close_won")}"' in html
    assert f'href="{transition_url(deal, "close_lost")}"' in html
    assert "Close as won" in html and "Close as lost" in html
    assert 'name="stage"' not in html  # the stage is shown, never editable


def test_csm_sees_the_deal_but_no_transition_buttons(client, csm):
    deal = closable_deal()

    response = sign_in(client, csm).get(change_url(deal))

    html = response.content.decode()
    assert response.status_code == 200
    assert deal.name in html
    assert "/transition/" not in html
    assert "Close as won" not in html


def test_close_won_with_missing_win_reason_shows_every_problem_and_changes_nothing(client, rep):
    deal = closable_deal(owner=rep)
    Deal.objects.filter(pk=deal.pk).update(amount=None)

    response = sign_in(client, rep).post(
        transition_url(deal, "close_won"),
        {"win_reason": "", "win_notes": "They loved the API.", "close_date": "2026-11-20"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "This deal cannot be closed as won yet." in html
    # Next to its field …
    assert "Choose a win reason." in section(html, "field-win_reason", "form-row")
    # … and what the form has no field for, in the list at the top.
    top = section(html, "transition-errors", "</ul>")
    assert re.search(r"Amount:</strong>\s*Enter an amount greater than zero\.", top)
    assert "Choose a win reason." not in top
    deal.refresh_from_db()
    assert deal.stage == Stage.NEGOTIATION
    assert deal.win_reason is None
    assert not StageChange.objects.exists()
    assert not DomainEvent.objects.exists()


def test_close_won_from_admin_records_the_admin_as_source(client, rep):
    deal = closable_deal(owner=rep)
    reason = WinReasonFactory(name="Integrations")

    response = sign_in(client, rep).post(
        transition_url(deal, "close_won"),
        {"win_reason": reason.pk, "win_notes": "Needed the ERP connector.", "close_date": ""},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == change_url(deal)
    html = response.content.decode()
    assert f"“{deal.name}” is now closed won." in html
    deal.refresh_from_db()
    assert deal.stage == Stage.CLOSED_WON
    assert deal.win_reason == reason
    change = StageChange.objects.get(deal=deal)
    assert (change.transition, change.source, change.actor) == ("close_won", "admin", rep)
    timeline = section(html, "deal-timeline", "</table>")
    assert "Close as won" in timeline and "Admin" in timeline
    assert "Needed the ERP connector." in timeline


def test_rep_cannot_open_or_submit_the_reopen_page(client, rep):
    deal = closable_deal(owner=rep)
    services.deal_close_won(
        deal=deal, actor=None, source="api", win_reason=WinReasonFactory(), win_notes="Fit."
    )
    sign_in(client, rep)

    assert client.get(transition_url(deal, "reopen")).status_code == 403
    assert client.post(transition_url(deal, "reopen"), {"reason": "Typo"}).status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == Stage.CLOSED_WON


def test_cs_manager_reopens_a_closed_deal_with_a_reason(client, cs_manager):
    deal = closable_deal()
    services.deal_close_won(
        deal=deal, actor=None, source="api", win_reason=WinReasonFactory(), win_notes="Fit."
    )
    sign_in(client, cs_manager)

    refused = client.post(transition_url(deal, "reopen"), {"reason": "  "})
    assert "This field is required." in section(refused.content.decode(), "field-reason", "</ul>")
    assert Deal.objects.get(pk=deal.pk).stage == Stage.CLOSED_WON

    response = client.post(transition_url(deal, "reopen"), {"reason": "Signed the wrong order."})

    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).stage == Stage.NEGOTIATION
    assert StageChange.objects.filter(deal=deal).last().reason == "Signed the wrong order."
