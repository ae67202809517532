"""Who gets a new task, and why: the assignment rules of queues and playbook steps."""

import datetime as dt

import pytest

from apps.core import clock
from apps.core.errors import NotPermitted, ValidationFailed
from apps.core.models import DomainEvent
from apps.queues.models import Queue, Task, TaskActivity
from apps.queues.services import assignee_pick, task_assign, task_create
from apps.queues.step_kinds import validate_task_config
from tests.factories import (
    AccountFactory,
    DealFactory,
    ProfileFactory,
    QueueFactory,
    TaskFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
Strategy = Queue.Strategy


def person(username: str, first_name: str, role: str = "CSM"):
    return UserFactory(username=username, first_name=first_name, last_name="", role=role)


@pytest.fixture
def people():
    return {
        name: person(name, name.title())
        for name in ("anna", "ben", "cleo")  # ids in this order
    }


@pytest.fixture
def pool(people):
    return QueueFactory(
        name="Onboarding", members=list(people.values()), assignment_strategy=Strategy.ROUND_ROBIN
    )


def away(user, *, backup=None, until=dt.date(2026, 12, 4)):
    return ProfileFactory(
        user=user,
        out_of_office_from=dt.date(2026, 11, 20),
        out_of_office_until=until,
        backup=backup,
    )


def test_the_accounts_csm_gets_the_task(people, pool):
    account = AccountFactory(csm=people["ben"])

    with clock.frozen(MONDAY):
        chosen, reason = assignee_pick(queue=pool, strategy="account_csm", account=account)

    assert chosen == people["ben"]
    assert reason == "Assigned to the account's CSM, Ben."


def test_the_deal_owner_gets_the_task(people, pool, rep):
    deal = DealFactory(owner=rep)

    chosen, reason = assignee_pick(queue=pool, strategy="deal_owner", deal=deal)

    assert chosen == rep
    assert "deal owner" in reason


def test_an_out_of_office_csm_passes_the_task_to_their_backup(people, pool):
    away(people["ben"], backup=people["cleo"])
    account = AccountFactory(csm=people["ben"])

    with clock.frozen(MONDAY):
        chosen, reason = assignee_pick(queue=pool, strategy="account_csm", account=account)

    assert chosen == people["cleo"]
    assert reason == "Ben is out of office until Fri 4 Dec 2026; given to their backup Cleo."


def test_when_the_backup_is_away_too_the_task_stays_claimable(people, pool):
    away(people["ben"], backup=people["cleo"])
    away(people["cleo"])
    account = AccountFactory(csm=people["ben"])

    with clock.frozen(MONDAY):
        chosen, reason = assignee_pick(queue=pool, strategy="account_csm", account=account)

    assert chosen is None
    assert "Ben is out of office" in reason and "Cleo is out of office" in reason
    assert reason.endswith("left unassigned.")


def test_out_of_office_ends_on_its_last_day(people, pool):
    away(people["ben"], until=dt.date(2026, 11, 22))
    account = AccountFactory(csm=people["ben"])

    with clock.frozen(MONDAY):
        assert (
            assignee_pick(queue=pool, strategy="account_csm", account=account)[0] == people["ben"]
        )


def test_a_csm_at_capacity_is_passed_over(people, pool):
    ProfileFactory(user=people["ben"], capacity=2)
    TaskFactory.create_batch(2, queue=pool, assignee=people["ben"])
    account = AccountFactory(csm=people["ben"])

    chosen, reason = assignee_pick(queue=pool, strategy="account_csm", account=account)

    assert chosen is None
    assert reason.startswith("Ben is at capacity (2 open tasks)")


def test_a_csm_over_capacity_stays_passed_over_and_one_without_a_limit_is_not_counted(
    people, pool, django_assert_max_num_queries
):
    # Given more work by hand than their limit: the count stops at the limit, and still
    # says they are at it.
    ProfileFactory(user=people["ben"], capacity=2)
    TaskFactory.create_batch(5, queue=pool, assignee=people["ben"])
    chosen, reason = assignee_pick(
        queue=pool, strategy="account_csm", account=AccountFactory(csm=people["ben"])
    )
    assert chosen is None
    assert reason.startswith("Ben is at capacity (2 open tasks)")

    # No limit: however many open tasks, they get the next one.
    ProfileFactory(user=people["cleo"], capacity=None)
    TaskFactory.create_batch(5, queue=pool, assignee=people["cleo"])
    account = AccountFactory(csm=people["cleo"])
    with django_assert_max_num_queries(3):  # a savepoint, its release, their profile; no count
        chosen, _ = assignee_pick(queue=pool, strategy="account_csm", account=account)
    assert chosen == people["cleo"]


def test_round_robin_takes_turns_and_skips_who_is_away(people, pool):
    away(people["ben"])

    with clock.frozen(MONDAY):
        picks = [assignee_pick(queue=pool) for _ in range(4)]

    assert [who.username for who, _ in picks] == ["anna", "cleo", "anna", "cleo"]
    assert picks[0][1] == "Round-robin in Onboarding: Anna's turn."
    assert picks[1][1] == (
        "Round-robin in Onboarding: Cleo's turn "
        "(passed over: Ben is out of office until Fri 4 Dec 2026)."
    )


def test_round_robin_keeps_its_place_when_someone_joins(people, pool):
    assignee_pick(queue=pool)  # anna
    dora = person("dora", "Dora")
    pool.members.add(dora)

    assert [assignee_pick(queue=pool)[0].username for _ in range(4)] == [
        "ben",
        "cleo",
        "dora",
        "anna",
    ]


def test_least_open_work_goes_to_the_least_busy_member_with_room(people, pool):
    TaskFactory.create_batch(3, queue=pool, assignee=people["anna"])
    TaskFactory.create_batch(1, queue=pool, assignee=people["ben"])
    ProfileFactory(user=people["cleo"], capacity=0)  # takes no new work

    chosen, reason = assignee_pick(queue=pool, strategy="least_open")

    assert chosen == people["ben"]
    assert reason == (
        "Fewest open tasks in Onboarding: Ben (1 open) (passed over: Cleo is at capacity "
        "(0 open tasks))."
    )


def test_nobody_available_leaves_the_task_claimable(people, pool):
    for user in people.values():
        away(user)

    with clock.frozen(MONDAY):
        chosen, reason = assignee_pick(queue=pool)

    assert chosen is None
    assert "Every member of Onboarding is out of office or at capacity" in reason


def test_task_create_uses_the_queues_rule_and_records_why(people, pool):
    with clock.frozen(MONDAY):
        task = task_create(queue=pool, title="Kickoff call")

    assert task.assignee == people["anna"]
    assert task.assignment_reason == "Round-robin in Onboarding: Anna's turn."
    kinds = list(TaskActivity.objects.filter(task=task).values_list("kind", "message"))
    assert kinds == [
        ("created", "Created in Onboarding."),
        ("assigned", "Round-robin in Onboarding: Anna's turn."),
    ]
    event = DomainEvent.objects.get(name="task.assigned")
    assert event.payload["task_id"] == task.pk
    assert event.payload["assignee_id"] == people["anna"].pk
    assert event.payload["reason"] == task.assignment_reason


def test_a_claim_only_queue_leaves_new_tasks_unassigned(people):
    queue = QueueFactory(name="Renewals", members=list(people.values()))

    task = task_create(queue=queue, title="Renewal call")

    assert task.assignee is None
    assert task.assignment_reason == "Renewals tasks are claimed by its members."
    assert not DomainEvent.objects.filter(name="task.assigned").exists()


def test_step_config_accepts_the_new_rules_and_refuses_bad_ones(people, pool):
    base = {"queue": pool.slug, "title": "Call"}

    for good in ("round_robin", "least_open", "queue", "unassigned", "user:anna"):
        assert validate_task_config({**base, "assign_to": good}) == {}
    assert validate_task_config({**base, "sla_hours": 8}) == {}
    assert "assign_to" in validate_task_config({**base, "assign_to": "user:nobody"})
    assert "assign_to" in validate_task_config({**base, "assign_to": "everyone"})
    for bad in (0, -4, "8", True, 10_000):
        assert "sla_hours" in validate_task_config({**base, "sla_hours": bad})


# Reassignment ----------------------------------------------------------------------------


def test_a_manager_reassigns_and_the_reason_is_kept(people, pool, cs_manager):
    pool.manager = cs_manager
    pool.save()
    task = TaskFactory(queue=pool, assignee=people["anna"])

    task_assign(task=task, actor=cs_manager, assignee=people["ben"], reason="Anna is overloaded")

    task.refresh_from_db()
    assert task.assignee == people["ben"]
    assert (
        task.assignment_reason
        == f"Assigned to Ben by {cs_manager.get_full_name()}: Anna is overloaded"
    )
    activity = TaskActivity.objects.get(task=task, kind="assigned")
    assert activity.actor == cs_manager
    event = DomainEvent.objects.get(name="task.assigned")
    assert event.payload["assignee_id"] == people["ben"].pk
    assert event.actor == cs_manager


def test_a_member_hands_on_their_own_task_but_not_a_colleagues(people, pool):
    mine = TaskFactory(queue=pool, assignee=people["anna"])
    bens = TaskFactory(queue=pool, assignee=people["ben"])

    task_assign(task=mine, actor=people["anna"], assignee=people["cleo"])
    with pytest.raises(NotPermitted):
        task_assign(task=bens, actor=people["anna"], assignee=people["anna"])

    assert Task.objects.get(pk=mine.pk).assignee == people["cleo"]
    assert Task.objects.get(pk=bens.pk).assignee == people["ben"]


def test_a_task_goes_only_to_someone_who_works_the_queue(people, pool, admin_user):
    stranger = person("stan", "Stan")
    task = TaskFactory(queue=pool)

    with pytest.raises(ValidationFailed) as refused:
        task_assign(task=task, actor=admin_user, assignee=stranger)

    assert refused.value.errors == {"assignee": ["Stan does not work the Onboarding queue."]}
    assert Task.objects.get(pk=task.pk).assignee is None


def test_unassigning_makes_the_task_claimable_again(people, pool, admin_user):
    task = TaskFactory(queue=pool, assignee=people["anna"])

    task_assign(task=task, actor=admin_user, assignee=None, reason="back to the pool")

    task.refresh_from_db()
    assert task.assignee is None
    assert task.assignment_reason.startswith("Unassigned by")
