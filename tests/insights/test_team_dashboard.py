"""The team dashboard against a small team counted by hand: work per person and queue,
SLA compliance this week and last, tasks done per week, onboardings in flight, detractors
waiting and capacity; every figure opens the list that shows the same tasks."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from apps.core import clock
from apps.core.models import Profile
from apps.customers.models import Account, AccountLifecycleChange
from apps.health.models import AccountHealth
from apps.queues.models import Task
from apps.surveys.models import Invitation, Response, Survey, band_of
from apps.surveys.rollups import rollups_rebuild
from tests.factories import (
    AccountFactory,
    ContactFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
    closed_deal,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)  # Wednesday of 2026-W47
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
MONDAY = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)


def answer(account, score, *, followed_up=False):
    survey = Survey.objects.get(slug="nps")
    contact = ContactFactory(account=account)
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=account,
        status="answered",
        created_at=NOW - DAY,
        expires_at=NOW + 30 * DAY,
    )
    Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind="nps",
        score=score,
        band=band_of("nps", score),
        answered_at=NOW - DAY,
        account=account,
        contact=contact,
        csm=account.csm,
        followed_up_at=NOW if followed_up else None,
    )


@pytest.fixture
def team(cs_manager):
    """Mona manages Onboarding (Carla, Chris). Carla: 2 open (1 overdue, 1 past its SLA),
    capacity 2. Chris: 1 open snoozed, out of office until tomorrow (backup Carla), 2 done
    this week (1 within its SLA, 1 late), 1 done last week within its SLA. Renewals is
    another team's."""
    carla = UserFactory(username="carla", first_name="Carla", last_name="Diaz", role="CSM")
    chris = UserFactory(username="chris", first_name="Chris", last_name="Okafor", role="CSM")
    Profile.objects.create(user=carla, capacity=2)
    Profile.objects.create(
        user=chris,
        out_of_office_from=NOW.date() - DAY,
        out_of_office_until=NOW.date() + DAY,
        backup=carla,
    )
    onboarding = QueueFactory(name="Onboarding", members=[carla, chris], manager=cs_manager)
    renewals = QueueFactory(name="Renewals", members=[UserFactory(username="rene", role="CSM")])
    TaskFactory(queue=onboarding, assignee=carla, due_at=NOW - HOUR)
    TaskFactory(queue=onboarding, assignee=carla, due_at=NOW + DAY, sla_due_at=NOW - 2 * HOUR)
    TaskFactory(queue=onboarding, assignee=chris, due_at=NOW + DAY, snoozed_until=NOW + DAY)
    done = Task.Status.DONE
    TaskFactory(
        queue=onboarding,
        status=done,
        completed_by=chris,
        completed_at=MONDAY,
        sla_due_at=MONDAY + HOUR,
    )
    TaskFactory(
        queue=onboarding,
        status=done,
        completed_by=chris,
        completed_at=MONDAY,
        sla_due_at=MONDAY - HOUR,
    )
    TaskFactory(
        queue=onboarding,
        status=done,
        completed_by=chris,
        completed_at=MONDAY - 7 * DAY,
        sla_due_at=MONDAY,
    )
    TaskFactory(
        queue=renewals,
        status=done,
        completed_by=chris,
        completed_at=MONDAY,
        sla_due_at=MONDAY - HOUR,
    )
    TaskFactory(queue=renewals, assignee=carla, due_at=NOW - HOUR)
    return carla, chris


@pytest.fixture
def dashboard(client, cs_manager, team):
    client.force_login(cs_manager)
    with clock.frozen(NOW):
        response = client.get(reverse("insights:team"))
    assert response.status_code == 200
    return response


def test_work_per_person_and_queue(dashboard, team):
    _carla, _chris = team
    people = {p["name"]: p for p in dashboard.context["people"]}
    assert {k: people["Carla Diaz"][k] for k in ("open", "overdue", "breached")} == {
        "open": 2,
        "overdue": 1,
        "breached": 1,
    }
    assert (people["Chris Okafor"]["open"], people["Chris Okafor"]["done_this_week"]) == (1, 2)
    [queue] = dashboard.context["queues"]
    assert (queue["name"], queue["open"], queue["overdue"], queue["breached"]) == (
        "Onboarding",
        3,
        1,
        1,
    )


def test_sla_compliance_this_week_and_last(dashboard):
    sla = dashboard.context["sla"]
    assert (sla["this_week"], sla["last_week"]) == ("2026-W47", "2026-W46")
    [queue] = sla["queues"]
    assert queue["this"] == {"met": 1, "missed": 1, "total": 2, "rate": 50.0}
    assert queue["last"] == {"met": 1, "missed": 0, "total": 1, "rate": 100.0}
    assert sla["total"]["this"]["rate"] == 50.0


def test_tasks_done_per_person_per_week(dashboard):
    done = dashboard.context["done"]
    assert done["weeks"] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    [chris] = done["people"]
    assert chris["weeks"] == [("2026-W44", 0), ("2026-W45", 0), ("2026-W46", 1), ("2026-W47", 2)]


def test_capacity_and_out_of_office(dashboard):
    people = {p["name"]: p for p in dashboard.context["capacity"]}
    assert (people["Carla Diaz"]["capacity"], people["Carla Diaz"]["at_capacity"]) == (2, True)
    assert people["Carla Diaz"]["away"] is False
    chris = people["Chris Okafor"]
    assert (chris["away"], chris["away_until"], chris["backup"]) == (
        True,
        NOW.date() + DAY,
        "Carla Diaz",
    )
    assert "rene" not in people


def test_onboardings_in_flight_and_detractors(client, cs_manager, team):
    carla, _ = team
    account = AccountFactory(name="Acme", csm=carla, lifecycle_status=Account.Lifecycle.ONBOARDING)
    closed_deal(won=True, closed_at=NOW - 12 * DAY, account=account)
    AccountLifecycleChange.objects.create(
        account=account, from_status="prospect", to_status="onboarding", at=NOW - 12 * DAY
    )
    TaskFactory(queue=QueueFactory(name="Onboarding"), account=account, due_at=NOW + DAY)
    answer(account, 3)
    answer(account, 5)
    answer(account, 2, followed_up=True)
    answer(account, 10)
    rollups_rebuild()  # the Responses page counts from the monthly rows
    client.force_login(cs_manager)
    with clock.frozen(NOW):
        response = client.get(reverse("insights:team"))
    onboardings = response.context["onboardings"]
    assert onboardings["count"] == 1
    [row] = onboardings["rows"]
    assert (
        row["account"].name,
        row["days_since_close"],
        row["days_onboarding"],
        row["open_tasks"],
    ) == (
        "Acme",
        12,
        12,
        1,
    )
    detractors = response.context["detractors"]
    assert detractors["total"] == 2
    assert detractors["people"] == [{"username": "carla", "name": "Carla Diaz", "waiting": 2}]
    page = response.content.decode()
    query = "kind=nps&amp;band=detractor&amp;followed_up=no&amp;csm=carla"
    link = f"{reverse('surveys:responses')}?{query}"
    assert link in page
    with clock.frozen(NOW):
        responses = client.get(link.replace("&amp;", "&"))
    assert responses.status_code == 200
    assert responses.context["page"].paginator.count == 2


def _link(page: str, text: str, near: str) -> str:
    """The href of the link showing ``text`` in the row that mentions ``near``."""
    row = next(r for r in page.split("<tr>") if near in r)
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', row)
    assert match, row
    return match.group(1).replace("&amp;", "&")


def _count(client, url):
    with clock.frozen(NOW):
        response = client.get(url)
    assert response.status_code == 200
    return response.context["page"].paginator.count


def test_every_figure_opens_the_list_that_holds_as_many_tasks(client, dashboard):
    page = dashboard.content.decode()
    people = page.split('id="people-h"')[1].split("</table>")[0]
    assert (
        _count(client, _link(people, "1", "Carla Diaz").replace("due=overdue", "due=overdue")) >= 1
    )
    carla_row = next(r for r in people.split("<tr>") if "Carla Diaz" in r)
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', carla_row)]
    assert [_count(client, url) for url in links] == [2, 1, 1, 0]
    chris_row = next(r for r in people.split("<tr>") if "Chris Okafor" in r)
    links = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', chris_row)]
    assert [_count(client, url) for url in links] == [1, 0, 0, 2]
    sla = page.split('id="sla-h"')[1].split("</table>")[0]
    assert _count(client, _link(sla, "1 met", "Onboarding")) == 1
    assert _count(client, _link(sla, "1 missed", "Onboarding")) == 1
    done = page.split('id="done-h"')[1].split("</table>")[0]
    chris_done = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', done)]
    assert [_count(client, url) for url in chris_done] == [0, 0, 1, 2]


def test_a_csm_gets_a_403(client, team):
    carla, _ = team
    client.force_login(carla)
    assert client.get(reverse("insights:team")).status_code == 403


def test_red_accounts_per_csm_link_to_the_account_list(client, cs_manager, team):
    carla, _ = team
    for name, band in (("Red one", "red"), ("Red two", "red"), ("Fine", "green")):
        account = AccountFactory(name=name, csm=carla)
        AccountHealth.objects.create(account=account, score=20 if band == "red" else 90, band=band)
    AccountHealth.objects.create(account=AccountFactory(name="Nobody's"), score=10, band="red")
    client.force_login(cs_manager)
    with clock.frozen(NOW):
        response = client.get(reverse("insights:team"))
    red = response.context["red"]
    assert red["total"] == 3
    assert {(p["name"], p["red"]) for p in red["people"]} == {("Carla Diaz", 2), ("No CSM", 1)}
    link = f"{reverse('workspace:account_list')}?health=red&amp;csm=carla"
    assert link in response.content.decode()
    with clock.frozen(NOW):
        accounts = client.get(link.replace("&amp;", "&"))
    assert accounts.status_code == 200
    assert "Red one" in accounts.content.decode() and "Fine" not in accounts.content.decode()
