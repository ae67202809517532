"""What ``engine_bench`` creates and deletes: the people, the playbook and the deals.

Everything is named ``bench-…``; ``bench_data_delete`` removes it and whatever the engine
made from it (enrollments, step runs, tasks, notifications, emails, events).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import Q

from apps.core.models import DomainEvent
from apps.customers.models import Account, AccountLifecycleChange, Contact, Product, ProductFamily
from apps.deals.models import Deal, DealFieldChange, DealLineItem, Stage, StageChange
from apps.engine.models import Enrollment, StepRun
from apps.health.models import AccountHealth, HealthSnapshot
from apps.notifications.models import EmailMessage, Notification
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task, TaskActivity

PREFIX = "bench-"
KINDS = ("task", "email", "reminder")
CSMS, REPS = 20, 10
CHUNK = 2000


def other_data_exists() -> bool:
    """Real deals or active playbooks: the bench would enroll or disturb them."""
    return (
        Deal.objects.exclude(name__startswith=PREFIX).exists()
        or Playbook.objects.filter(status=Playbook.Status.ACTIVE)
        .exclude(name__startswith=PREFIX)
        .exists()
    )


@dataclass(frozen=True)
class PlaybookShape:
    """``steps`` steps whose kinds cycle through ``kinds``; all start at enrollment (as
    the demo's onboarding opens), or with ``chained`` each after the previous one."""

    kinds: tuple[str, ...] = KINDS
    steps: int = 3
    chained: bool = False

    def kind(self, position: int) -> str:
        return self.kinds[(position - 1) % len(self.kinds)]

    def count(self, kind: str) -> int:
        return sum(self.kind(i) == kind for i in range(1, self.steps + 1))


def _step_config(kind: str, position: int, queue: Queue) -> dict:
    # The demo's onboarding, with the step number in every title so that a step executed
    # twice shows as two effects with the same title.
    if kind == "task":
        return {
            "queue": queue.slug,
            "title": f"Bench step {position}: kickoff call with {{{{ account.name }}}}",
            "body": "Agree goals and the go-live date with {{ contact.name }}.",
            "assign_to": "account_csm",
            "priority": 2,
            "task_kind": "onboarding_kickoff",
            "due_in_days": 2,
        }
    if kind == "email":
        return {
            "subject": f"Bench step {position}: welcome, {{{{ account.name }}}}",
            "body": "Hi {{ contact.name }},\n\n{{ csm.name }} will guide your onboarding.",
        }
    if kind == "reminder":
        return {
            "to": "deal_owner",
            "title": f"Bench step {position}: introduce {{{{ csm.name }}}} at "
            "{{ account.name }}",
            "body": "Hand the relationship over with a short intro email.",
        }
    raise ValueError(f"engine_bench has no playbook step for the kind {kind!r}")


def playbook_create(*, run: str, shape: PlaybookShape) -> Playbook:
    queue = Queue.objects.create(name=f"{run} onboarding", slug=f"{run}-onboarding")
    playbook = Playbook.objects.create(name=f"{run} playbook")
    for i in range(1, shape.steps + 1):
        chained = shape.chained and i > 1
        PlaybookStep.objects.create(
            playbook=playbook,
            position=i,
            key=f"s{i}",
            name=f"Bench step {i}",
            kind=shape.kind(i),
            start=PlaybookStep.Start.AFTER_STEP if chained else PlaybookStep.Start.ENROLLMENT,
            after_step=f"s{i - 1}" if chained else "",
            config=_step_config(shape.kind(i), i, queue),
        )
    playbook_publish(playbook=playbook, actor=None)
    return playbook


def _people(run: str, role: str, count: int) -> list[User]:
    group = Group.objects.filter(name=role).first()
    users = User.objects.bulk_create(
        [
            User(
                username=f"{run}-{role.lower().replace(' ', '-')}-{i}",
                first_name=role,
                last_name=str(i),
                email=f"{role.lower().replace(' ', '.')}.{i}@bench.invalid",
            )
            for i in range(count)
        ]
    )
    if group is not None:
        group.user_set.add(*users)
    return users


def deals_create(*, run: str, count: int, log) -> None:
    """``count`` deals ready to close won, each on its own account (with a CSM and a
    primary contact) and owned by a rep, written in chunks with one statement per table."""
    csms, reps = _people(run, "CSM", CSMS), _people(run, "Sales Rep", REPS)
    family = ProductFamily.objects.create(name=f"{run} family")
    product = Product.objects.create(sku=run, name=run, family=family, list_price=100)
    today = dt.date.today()
    for start in range(0, count, CHUNK):
        numbers = range(start, min(count, start + CHUNK))
        with transaction.atomic():
            accounts = Account.objects.bulk_create(
                [
                    Account(
                        name=f"{run} account {i}",
                        timezone="UTC",
                        csm=csms[i % CSMS],
                        owner=reps[i % REPS],
                    )
                    for i in numbers
                ]
            )
            contacts = Contact.objects.bulk_create(
                [
                    Contact(
                        account=account,
                        name=f"Contact {i}",
                        email=f"contact.{i}@bench.invalid",
                        is_primary=True,
                    )
                    for i, account in zip(numbers, accounts, strict=True)
                ]
            )
            deals = Deal.objects.bulk_create(
                [
                    Deal(
                        name=f"{run} deal {i}",
                        account=account,
                        owner=reps[i % REPS],
                        stage=Stage.NEGOTIATION,
                        amount=Decimal("100"),
                        currency="USD",
                        close_date=today,
                        primary_contact=contact,
                    )
                    for i, account, contact in zip(numbers, accounts, contacts, strict=True)
                ]
            )
            DealLineItem.objects.bulk_create(
                [DealLineItem(deal=deal, product=product, unit_price=100) for deal in deals]
            )
        log(f"{numbers.stop} deals created")


def rows_delete(queryset) -> None:
    """DELETE the queryset's rows with one statement. Django's ``delete()`` would load
    every row (a large run leaves hundreds of thousands) to cascade and set null in
    Python; callers delete children first instead."""
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    pk = connection.ops.quote_name(queryset.model._meta.pk.column)
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({sql})", params)


def bench_data_delete() -> None:
    """Delete what any run created (this one's and an interrupted one's), children
    first."""
    deals = Deal.objects.filter(name__startswith=PREFIX)
    accounts = Account.objects.filter(name__startswith=PREFIX)
    users = User.objects.filter(username__startswith=PREFIX)
    enrollments = Enrollment.objects.filter(account__in=accounts)
    runs = StepRun.objects.filter(enrollment__in=enrollments)
    tasks = Task.objects.filter(account__in=accounts)
    events = DomainEvent.objects.all()
    with transaction.atomic():
        rows_delete(events.filter(aggregate_type="steprun", aggregate_id__in=runs.values("pk")))
        rows_delete(events.filter(aggregate_type="task", aggregate_id__in=tasks.values("pk")))
        rows_delete(
            events.filter(aggregate_type="enrollment", aggregate_id__in=enrollments.values("pk"))
        )
        rows_delete(
            EmailMessage.objects.filter(
                Q(step_run__in=runs) | Q(recipient__in=users) | Q(contact__account__in=accounts)
            )
        )
        rows_delete(Notification.objects.filter(Q(recipient__in=users) | Q(account__in=accounts)))
        rows_delete(TaskActivity.objects.filter(task__in=tasks))
        rows_delete(tasks)
        rows_delete(runs)
        rows_delete(enrollments)
        # After the enrollments: they protect their trigger events.
        rows_delete(events.filter(aggregate_type="deal", aggregate_id__in=deals.values("pk")))
        rows_delete(events.filter(aggregate_type="account", aggregate_id__in=accounts.values("pk")))
        rows_delete(StageChange.objects.filter(deal__in=deals))
        rows_delete(DealFieldChange.objects.filter(deal__in=deals))
        rows_delete(DealLineItem.objects.filter(deal__in=deals))
        rows_delete(deals)
        rows_delete(Contact.objects.filter(account__in=accounts))
        rows_delete(AccountLifecycleChange.objects.filter(account__in=accounts))
        # The scores the task and lifecycle events computed for the bench's customers.
        rows_delete(AccountHealth.objects.filter(account__in=accounts))
        rows_delete(HealthSnapshot.objects.filter(account__in=accounts))
        rows_delete(accounts)
        Playbook.objects.filter(name__startswith=PREFIX).update(current_version=None)
        for playbook in Playbook.objects.filter(name__startswith=PREFIX):
            playbook.versions.all().delete()
            playbook.delete()
        Queue.objects.filter(slug__startswith=PREFIX).delete()
        Product.objects.filter(sku__startswith=PREFIX).delete()
        ProductFamily.objects.filter(name__startswith=PREFIX).delete()
        users.delete()


def tables_vacuum() -> None:
    """VACUUM ANALYZE on PostgreSQL, so a run starts from the same table state however
    many rows the previous run deleted (their dead tuples would slow its queue scans
    until autovacuum came by) and the planner knows the fresh rows."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
