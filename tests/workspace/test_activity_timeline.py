"""The account's activity: stage and lifecycle changes, tasks done, emails sent, survey
answers, notes and playbooks started, merged newest first, a page at a time; a bad
position is a 400 naming the parameter."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.core import clock
from apps.workspace.activity import account_activity, cursor_parse
from apps.workspace.services import account_note_add
from tests.workspace.conftest import NOW

pytestmark = pytest.mark.django_db


def test_every_source_merged_newest_first(customer, admin_user):
    entries = account_activity(account=customer.account, user=admin_user).entries

    # The close, the lifecycle move it made and the enrollment share a moment: newest
    # first puts the effect before its cause, as they happened.
    assert [e.source for e in entries] == [
        "note",
        "email",
        "response",
        "task",
        "finished",  # the playbook's one step (the kickoff) ran at the close
        "enrolled",
        "lifecycle",
        "stage",
    ]
    texts = [e.text for e in entries]
    assert texts[0] == "Their CTO prefers email."
    assert texts[1] == "Welcome to Afterwin → Hank Scorpio"
    assert texts[2] == "NPS (0–10) 6 (detractor): “Setup is slow”"
    assert texts[3] == "Kickoff call with Globex — reached"
    assert texts[4] == "New customer onboarding v1: completed"
    assert texts[6] == "Prospect → Onboarding (Its first won deal: “Globex platform”.)"
    assert texts[7].startswith("Globex platform: Negotiation → Closed won")
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


def test_what_the_viewer_may_not_see_is_left_out(customer):
    sources = {
        e.source for e in account_activity(account=customer.account, user=customer.csm).entries
    }

    assert "email" not in sources  # CSMs do not read the outbox
    assert "task" in sources


def test_pages_follow_each_other_without_gaps_or_repeats(customer, admin_user):
    # 25 notes, three of them in the same microsecond, on top of the 8 entries.
    same = NOW + dt.timedelta(days=2)
    for number in range(25):
        at = same if number < 3 else NOW + dt.timedelta(days=3, minutes=number)
        with clock.frozen(at):
            account_note_add(account=customer.account, actor=admin_user, body=f"note {number}")

    seen, cursor, pages = [], None, 0
    while True:
        page = account_activity(account=customer.account, user=admin_user, cursor=cursor, size=10)
        seen.extend((e.source, e.pk) for e in page.entries)
        pages += 1
        if not page.older:
            break
        cursor = cursor_parse(page.older)

    assert pages == 4
    assert len(seen) == 33 == len(set(seen))


def test_the_older_link_opens_the_next_page(client, customer, admin_user):
    client.force_login(admin_user)
    url = reverse("workspace:account_detail", args=[customer.account.pk])
    first = client.get(url)
    older = account_activity(account=customer.account, user=admin_user, size=3).older

    response = client.get(
        reverse("workspace:account_activity", args=[customer.account.pk]),
        {"before": older},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert [e.source for e in response.context["activity"].entries][:2] == ["task", "finished"]
    assert "Older →" not in first.content.decode()  # eight entries fit the first page


@pytest.mark.parametrize(
    "before", ["yesterday", "2026-11-20T12:00:00|0", "2026-11-20T12:00:00|1|5"]
)
def test_a_bad_position_is_a_400_naming_it(client, customer, admin_user, before):
    client.force_login(admin_user)

    response = client.get(
        reverse("workspace:account_detail", args=[customer.account.pk]), {"before": before}
    )

    assert response.status_code == 400
    assert "before: is not a position in this timeline." in response.content.decode()
