"""A step's conditions hold when all rules hold (a list, as every version published so
far stores them) or when any one does (``{"any": [...]}``)."""

import pytest

from apps.core.step_kinds import StepDefinition
from apps.engine.execution import steps_drain
from apps.engine.models import StepRun
from apps.playbooks.conditions import conditions_hold, conditions_problems
from apps.queues.models import Task
from tests.deals.test_close_won import close_won
from tests.engine.test_enrollment_policies import process_all
from tests.factories import AccountFactory, closable_deal, onboarding_playbook

SMALL_ENTERPRISE = {"deal": {"amount": 2400}, "account": {"tier": "enterprise"}}
RULES = [
    {"field": "deal.amount", "op": ">=", "value": 10000},
    {"field": "account.tier", "op": "==", "value": "enterprise"},
]


def test_a_stored_list_still_means_every_rule_must_hold():
    assert not conditions_hold(RULES, SMALL_ENTERPRISE)
    assert conditions_hold(RULES[1:], SMALL_ENTERPRISE)


def test_any_needs_one_rule_to_hold():
    assert conditions_hold(RULES, SMALL_ENTERPRISE, match="any")
    assert not conditions_hold(RULES[:1], SMALL_ENTERPRISE, match="any")
    assert conditions_hold([], SMALL_ENTERPRISE, match="any")


def test_a_list_keeps_its_json_and_any_is_stored_as_a_group():
    as_list = {"key": "a", "name": "A", "kind": "task", "conditions": RULES}
    as_any = {**as_list, "conditions": {"any": RULES}}

    old = StepDefinition.from_snapshot(as_list)
    new = StepDefinition.from_snapshot(as_any)

    assert (old.conditions_match, new.conditions_match) == ("all", "any")
    assert old.as_snapshot()["conditions"] == RULES
    assert new.as_snapshot()["conditions"] == {"any": RULES}


def test_conditions_are_validated_in_both_forms():
    assert conditions_problems(RULES) == []
    assert conditions_problems({"any": RULES}) == []
    assert conditions_problems({"all": RULES}) == []
    assert conditions_problems({"some": RULES}) == [
        'Group the rules under “any” or “all”, e.g. {"any": [...]}.'
    ]
    assert conditions_problems({"any": [{"field": "deal.amount"}]}) == [
        "Rule 1 needs a “field” and an “op”."
    ]


@pytest.mark.django_db
def test_the_engine_runs_a_step_when_any_of_its_rules_holds(rep):
    rule_for_big_deals = {"field": "deal.amount", "op": ">=", "value": 10000}
    onboarding_playbook(
        extra_steps=[
            {
                "key": "vip",
                "name": "VIP welcome",
                "kind": "task",
                "config": {"queue": "onboarding", "title": "VIP welcome"},
                "conditions": {"any": [rule_for_big_deals, RULES[1]]},
            },
            {
                "key": "big-only",
                "name": "Big deals only",
                "kind": "task",
                "config": {"queue": "onboarding", "title": "Big deal"},
                "conditions": [rule_for_big_deals, RULES[1]],
            },
        ]
    )
    deal = closable_deal(account=AccountFactory(tier="enterprise"))

    close_won(deal, actor=rep)
    process_all()
    steps_drain()

    states = dict(StepRun.objects.values_list("step_key", "state"))
    assert states["vip"] == StepRun.State.DONE
    assert states["big-only"] == StepRun.State.SKIPPED
    assert Task.objects.filter(title="VIP welcome").exists()
    assert not Task.objects.filter(title="Big deal").exists()
