"""After a close as won, the deal page shows what started: "starting…" while the engine
has not enrolled the deal yet (the panel reloads itself every 2 s, a bounded number of
times), then the enrollments and their first steps once the real drain has run."""

import re

import pytest
from django.urls import reverse

from apps.core import outbox, pages
from apps.core.pages import deal_panel, register_deal_panel
from apps.deals.views.deal import PANEL_POLLS
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    UserFactory,
    WinReasonFactory,
    closable_deal,
    onboarding_playbook,
)

pytestmark = pytest.mark.django_db

POLLING = 'hx-trigger="every 2s"'


def panel_url(deal, poll: int) -> str:
    return reverse("deals:deal_panel", args=[deal.pk, "deal_enrollments"]) + f"?poll={poll}"


CHECK_IN = {
    "key": "checkin",
    "name": "Day 7 check-in",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Check in with {{ account.name }}"},
    "delay_days": 7,
}
WRAP_UP = {
    "key": "wrapup",
    "name": "Wrap-up call",
    "kind": "task",
    "config": {"queue": "onboarding", "title": "Wrap up with {{ account.name }}"},
    "start": "after_step",
    "after_step": "checkin",
}


def test_the_page_says_starting_then_lists_the_enrollments_and_first_steps(client, rep):
    onboarding_playbook(extra_steps=[CHECK_IN, WRAP_UP])
    csm = UserFactory(username="cleo", role="CSM")
    deal = closable_deal(owner=rep, account=AccountFactory(name="Globex", csm=csm))
    client.force_login(rep)

    closed = client.post(
        reverse("deals:deal_transition", args=[deal.pk, "close_won"]),
        {"stage": "negotiation", "win_reason": WinReasonFactory().pk, "win_notes": "Fit"},
        HTTP_HX_REQUEST="true",
    )

    page = closed.content.decode()
    assert "What the close started" in page
    assert "Starting… the playbooks this close matches are being enrolled." in page
    assert POLLING in page and f'hx-get="{panel_url(deal, 1)}"' in page

    outbox.drain()  # what the worker does after the commit
    panel = client.get(panel_url(deal, 1))

    assert panel.status_code == 200
    shown = panel.content.decode()
    assert "New customer onboarding v1" in shown
    assert "Kickoff call" in shown
    assert "Task “Kickoff call with Globex”" in shown
    assert "<strong>Coming up:</strong> Day 7 check-in (" in shown
    # The product's one date format, with the year: "Tue 8 Dec 2026, 10:00".
    assert re.search(
        r"Day 7 check-in \(<time [^>]+>\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d</time>\)", shown
    )
    assert "Then, as earlier steps finish: Wrap-up call." in shown
    assert "Starting" not in shown
    assert POLLING not in shown  # the polling stops with what it waited for


def test_a_won_deal_no_playbook_matched_says_so_and_does_not_poll(client, rep):
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)
    outbox.drain()
    client.force_login(rep)

    page = client.get(reverse("deals:deal_detail", args=[deal.pk])).content.decode()

    assert "No published playbook matched this deal when it was won" in page
    assert POLLING not in page


def test_the_polling_stops_after_its_bound_and_says_so(client, rep):
    onboarding_playbook()
    deal = closable_deal(owner=rep)
    close_won(deal, actor=rep)  # no worker runs
    client.force_login(rep)

    almost = client.get(panel_url(deal, PANEL_POLLS - 1)).content.decode()
    assert f'hx-get="{panel_url(deal, PANEL_POLLS)}"' in almost
    last = client.get(panel_url(deal, PANEL_POLLS)).content.decode()
    assert POLLING not in last
    assert "This is taking longer than usual" in last


def test_an_open_deal_has_no_such_panel(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    page = client.get(reverse("deals:deal_detail", args=[deal.pk])).content.decode()

    assert "What the close started" not in page
    assert client.get(panel_url(deal, 1)).content == b""


def test_an_unknown_panel_is_not_found(client, rep):
    deal = closable_deal(owner=rep)
    client.force_login(rep)

    response = client.get(reverse("deals:deal_panel", args=[deal.pk, "nothing-here"]))

    assert response.status_code == 404


def test_a_panel_is_named_after_its_template_unless_given_a_key(monkeypatch):
    monkeypatch.setattr(pages, "_deal_panels", dict(pages._deal_panels))  # restored after
    register_deal_panel("tests/_made_up_panel.html", lambda deal: None)
    register_deal_panel("tests/_other.html", lambda deal: None, key="chosen")

    assert deal_panel("made_up_panel").template == "tests/_made_up_panel.html"
    assert deal_panel("chosen").template == "tests/_other.html"
