"""The expansion prompt: suggestions with reasons, a task for the rep, an expansion deal
opened once, and its won revenue attributed to the step."""

import datetime as dt

import pytest

from apps.core import clock, outbox
from apps.deals.models import Deal
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment, StepRun
from apps.growth.models import CrossSellRule, ExpansionDeal
from apps.growth.services import usage_record_many
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from tests.deals.test_close_won import close_won
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    DealLineItemFactory,
    ProductFactory,
    ProductFamilyFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    platform, analytics = (
        ProductFamilyFactory(name="Platform"),
        ProductFamilyFactory(name="Analytics"),
    )
    return {
        "platform": ProductFactory(sku="PLAT", family=platform, list_price=1000),
        "analytics": ProductFactory(sku="ANL", family=analytics, list_price=400),
        "analytics_pro": ProductFactory(sku="ANL-PRO", family=analytics, list_price=900),
        "rule": CrossSellRule.objects.create(
            name="Platform → Analytics",
            owns_family=platform,
            suggest_family=analytics,
            reason="Platform customers who add Analytics renew more often.",
        ),
    }


def expansion_playbook(*, open_deal: bool = True) -> Playbook:
    Queue.objects.get_or_create(slug="customer-success", defaults={"name": "Customer success"})
    playbook = Playbook.objects.create(name="Expansion")
    PlaybookStep.objects.create(
        playbook=playbook,
        position=1,
        key="expansion",
        name="Expansion prompt",
        kind="expansion_prompt",
        config={"queue": "customer-success", "assign_to": "deal_owner", "open_deal": open_deal},
    )
    playbook_publish(playbook=playbook, actor=None)
    return playbook


def win(rep, product, account=None) -> Deal:
    account = account or AccountFactory(name="Globex", owner=rep)
    deal = DealFactory(account=account, owner=rep, amount=1000, close_date=dt.date(2026, 11, 20))
    if not account.contacts.filter(is_primary=True).exists():
        ContactFactory(account=account, is_primary=True)
    DealLineItemFactory(deal=deal, product=product, quantity=1, unit_price=1000)
    close_won(deal, actor=rep)
    outbox.drain()
    return deal


def test_the_rep_gets_the_suggestion_and_an_expansion_deal_in_qualified(rep, catalog):
    expansion_playbook()
    source = win(rep, catalog["platform"])

    run = StepRun.objects.get(step_key="expansion")
    assert run.state == StepRun.State.DONE
    task = Task.objects.get(step_run=run)
    assert task.title == "Expansion for Globex: Analytics"
    assert task.assignee == rep
    assert "Platform customers who add Analytics renew more often." in task.body
    deal = Deal.objects.get(kind=Deal.Kind.EXPANSION)
    assert (deal.stage, deal.owner, deal.amount) == ("qualified", rep, 400)
    assert [(li.product.sku, li.quantity, li.unit_price) for li in deal.line_items.all()] == [
        ("ANL", 1, 400)
    ]
    source_of = ExpansionDeal.objects.get(deal=deal)
    assert (source_of.originating_deal, source_of.step_run, source_of.step_key) == (
        source,
        run,
        "expansion",
    )
    assert source_of.playbook.name == "Expansion" and source_of.families == ["Analytics"]


def test_the_deal_api_and_admin_say_which_step_prompted_it(client, rep, catalog, admin_user):
    playbook = expansion_playbook()
    source = win(rep, catalog["platform"])
    deal = Deal.objects.get(kind=Deal.Kind.EXPANSION)
    client.force_login(admin_user)
    data = client.get(f"/api/deals/{deal.pk}/").json()
    assert data["source"] == "playbook"
    [origin] = data["origin"]
    assert (origin["kind"], origin["text"]) == ("prompted_by", "Expansion v1, step “expansion”")
    assert (origin["playbook"], origin["version"], origin["originating_deal"]) == (
        playbook.pk,
        1,
        source.pk,
    )
    page = client.get(f"/admin/deals/deal/{deal.pk}/change/").content.decode()
    assert "Prompted by" in page and "Expansion v1, step “expansion”" in page


def test_delivered_twice_one_task_and_one_deal(rep, catalog):
    expansion_playbook()
    win(rep, catalog["platform"])
    run = StepRun.objects.get(step_key="expansion")
    StepRun.objects.filter(pk=run.pk).update(state=StepRun.State.PENDING)

    step_run_execute(step_run_id=run.pk)

    assert Task.objects.filter(step_run=run).count() == 1
    assert Deal.objects.filter(kind=Deal.Kind.EXPANSION).count() == 1


def test_no_second_deal_for_a_family_with_an_open_one(rep, catalog):
    expansion_playbook()
    account = AccountFactory(name="Globex", owner=rep)
    win(rep, catalog["platform"], account)
    assert Deal.objects.filter(kind=Deal.Kind.EXPANSION).count() == 1

    win(rep, catalog["platform"], account)  # another won deal: the prompt runs again

    runs = StepRun.objects.filter(step_key="expansion").order_by("id")
    assert "nothing to suggest" in runs.last().result["skipped"]
    assert Deal.objects.filter(kind=Deal.Kind.EXPANSION).count() == 1


def test_nothing_applies_the_step_is_skipped_with_the_reason(rep, catalog):
    catalog["rule"].min_tier = "enterprise"
    catalog["rule"].save()
    expansion_playbook()
    win(rep, catalog["platform"])  # an SMB account: the rule does not fit

    run = StepRun.objects.get(step_key="expansion")
    assert run.result["skipped"].startswith("nothing to suggest")
    assert not Task.objects.filter(step_run=run).exists()


def test_usage_over_the_threshold_suggests_more_units(rep, catalog):
    CrossSellRule.objects.all().delete()
    account = AccountFactory(name="Initech", owner=rep)
    usage_record_many(
        items=[
            {
                "account": account.pk,
                "product": "PLAT",
                "measured_at": clock.now().isoformat(),
                "licensed_units": 40,
                "used_units": 38,
            }
        ]
    )
    expansion_playbook(open_deal=False)
    win(rep, catalog["platform"], account)

    task = Task.objects.get(step_run__step_key="expansion")
    assert "Platform: 10 × " in task.body and "95.0 % of 40 licensed units" in task.body
    assert not Deal.objects.filter(kind=Deal.Kind.EXPANSION).exists()


def test_a_won_expansion_deal_is_attributed_to_its_step(rep, catalog):
    expansion_playbook()
    win(rep, catalog["platform"])
    deal = Deal.objects.get(kind=Deal.Kind.EXPANSION)

    close_won(deal, actor=rep)
    outbox.drain()
    close_won_again = ExpansionDeal.objects.get(deal=deal).won_at

    attributed = ExpansionDeal.objects.get(deal=deal)
    assert attributed.won_amount == 400 and close_won_again is not None


def test_a_usage_crossing_starts_the_expansion_playbook_once_per_crossing(rep, catalog):
    """The demo's usage playbook: started by the crossing, one deal with the usage line."""
    CrossSellRule.objects.all().delete()
    account = AccountFactory(name="Initech", owner=rep)
    win(rep, catalog["platform"], account)
    playbook = expansion_playbook()
    playbook.trigger = "account.usage_threshold_crossed"
    playbook.enrollment_policy = Playbook.Policy.EVERY_TRIGGER
    playbook.save(update_fields=["trigger", "enrollment_policy"])
    playbook_publish(playbook=playbook, actor=None)

    def send(used: int, days: int) -> None:
        moment = clock.now() + dt.timedelta(days=days)
        usage_record_many(
            items=[
                {
                    "account": account.pk,
                    "product": "PLAT",
                    "measured_at": moment.isoformat(),
                    "licensed_units": 40,
                    "used_units": used,
                }
            ]
        )
        outbox.drain()

    send(20, 0)
    send(36, 1)  # 90 %: crosses
    send(38, 2)  # still above: nothing new
    assert Enrollment.objects.filter(playbook=playbook).count() == 1
    deal = Deal.objects.get(kind=Deal.Kind.EXPANSION)
    assert [(li.product.sku, li.quantity) for li in deal.line_items.all()] == [("PLAT", 10)]
    assert deal.amount == 10 * 1000

    send(10, 3)  # below again
    send(39, 4)  # crosses again: enrolled again, but the family has an open deal
    assert Enrollment.objects.filter(playbook=playbook).count() == 2
    assert Deal.objects.filter(kind=Deal.Kind.EXPANSION).count() == 1
    second = StepRun.objects.filter(step_key="expansion").order_by("pk").last()
    assert second.result["skipped"].startswith("nothing to suggest")
