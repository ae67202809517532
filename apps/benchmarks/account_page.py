"""``account_page_bench``: one account with a million tasks, then time its page.

The account gets N tasks (2 % open, the rest done over the last three years, in two
queues its CSM works, assigned in turn to its CSM and 48 colleagues: a million tasks are
years of a team's work, not one person's queue), a won deal, 50 staff notes and a
health score. On PostgreSQL the
tasks are written by one ``INSERT … SELECT`` over ``generate_series`` (minutes for a
million rows, indexes included); elsewhere with ``bulk_create`` (for the test's few
hundred). Then the CSM opens the account page N times through Django's test client
(middleware, view, queries and templates; no network) with DEBUG off, and the figures
are p50 and p95 of those requests. Everything is named ``bench-…`` and deleted at the
end.
"""

import datetime as dt
import statistics
import time
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from apps.benchmarks.stats import percentile
from apps.core import clock
from apps.core.models import Profile
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.health.models import AccountHealth
from apps.queues.models import Queue, Task
from apps.workspace.models import AccountNote

PREFIX = "bench-"
OPEN_SHARE = 50  # one task in 50 is open
TEAM = 49  # people the tasks are assigned to in turn (prime to OPEN_SHARE: open ones spread)
BATCH = 5000
THREE_YEARS_S = 3 * 365 * 24 * 3600


@dataclass
class AccountPageBenchResult:
    backend: str
    tasks_in_database: int
    tasks_of_the_account: int
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    queries_per_page: int
    target_p95_ms: int = 200


class AccountPageBench:
    def __init__(self, *, tasks: int, requests: int, log) -> None:
        self.tasks, self.requests, self.log = tasks, requests, log

    def fill(self) -> tuple[User, Account]:
        csm_role = Group.objects.get(name="CSM")
        team = [
            User.objects.create_user(f"{PREFIX}csm{i or ''}", password=None, first_name="Bench")
            for i in range(TEAM)
        ]
        for person in team:
            person.groups.add(csm_role)
        csm = team[0]
        self.team = [person.pk for person in team]
        Profile.objects.create(user=csm, timezone="Europe/Berlin")
        queues = [
            Queue.objects.create(name=f"{PREFIX}queue {i}", slug=f"{PREFIX}queue-{i}")
            for i in range(2)
        ]
        for queue in queues:
            queue.members.add(csm)
        account = Account.objects.create(
            name=f"{PREFIX}account",
            domain="bench.example",
            timezone="Asia/Tokyo",
            csm=csm,
            lifecycle_status=Account.Lifecycle.ACTIVE,
        )
        today = clock.now().date()
        Deal.objects.create(
            name=f"{PREFIX}deal",
            account=account,
            stage="closed_won",
            amount=Decimal("120000"),
            close_date=today - dt.timedelta(days=100),
            closed_at=clock.now() - dt.timedelta(days=100),
        )
        AccountNote.objects.bulk_create(
            [
                AccountNote(
                    account=account,
                    author=csm,
                    body=f"Note {i}",
                    created_at=clock.now() - dt.timedelta(hours=i),
                )
                for i in range(50)
            ]
        )
        AccountHealth.objects.create(account=account, score=71, band="green", factors=[])
        if connection.vendor == "postgresql":
            self._insert_tasks_in_sql(account, queues)
        else:
            self._insert_tasks_in_batches(account, queues)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE queues_task")
        return csm, account

    def _insert_tasks_in_sql(self, account: Account, queues: list[Queue]) -> None:
        now = clock.now()
        done_at = f"%(now)s - make_interval(secs => (g::bigint * 7919) %% {THREE_YEARS_S})"
        with transaction.atomic(), connection.cursor() as cursor:
            for start in range(1, self.tasks + 1, 100_000):
                end = min(self.tasks, start + 99_999)
                cursor.execute(
                    f"""
                    INSERT INTO queues_task (
                        title, body, kind, queue_id, account_id, assignee_id,
                        assignment_reason, priority, due_at, status, outcome, outcome_notes,
                        completed_by_id, completed_at, cancelled_reason, skipped_reason,
                        sla_due_at, created_at, updated_at
                    )
                    SELECT
                        %(prefix)s || g, '', 'check_in',
                        CASE WHEN g %% 2 = 0 THEN %(q0)s ELSE %(q1)s END,
                        %(account)s, (%(team)s::int[])[1 + g %% {TEAM}], '', 1 + g %% 4,
                        %(now)s + make_interval(hours => g %% 2000 - 1000),
                        CASE WHEN g %% {OPEN_SHARE} = 0 THEN 'open' ELSE 'done' END,
                        CASE WHEN g %% {OPEN_SHARE} = 0 THEN '' ELSE 'reached' END, '',
                        CASE WHEN g %% {OPEN_SHARE} = 0 THEN NULL
                             ELSE (%(team)s::int[])[1 + g %% {TEAM}] END,
                        CASE WHEN g %% {OPEN_SHARE} = 0 THEN NULL ELSE {done_at} END,
                        '', '', NULL, %(now)s, %(now)s
                    FROM generate_series(%(start)s, %(end)s) AS g
                    """,
                    {
                        "prefix": f"{PREFIX}task ",
                        "q0": queues[0].pk,
                        "q1": queues[1].pk,
                        "account": account.pk,
                        "team": self.team,
                        "now": now,
                        "start": start,
                        "end": end,
                    },
                )
                self.log(f"{end} tasks")

    def _insert_tasks_in_batches(self, account: Account, queues: list[Queue]) -> None:
        now = clock.now()
        for start in range(0, self.tasks, BATCH):
            batch = []
            for g in range(start, min(self.tasks, start + BATCH)):
                is_open = g % OPEN_SHARE == 0
                batch.append(
                    Task(
                        title=f"{PREFIX}task {g}",
                        kind="check_in",
                        queue=queues[g % 2],
                        account=account,
                        assignee_id=self.team[g % TEAM],
                        priority=1 + g % 4,
                        due_at=now + dt.timedelta(hours=g % 2000 - 1000),
                        status=Task.Status.OPEN if is_open else Task.Status.DONE,
                        outcome="" if is_open else "reached",
                        completed_by_id=None if is_open else self.team[g % TEAM],
                        completed_at=None
                        if is_open
                        else now - dt.timedelta(seconds=(g * 7919) % THREE_YEARS_S),
                    )
                )
            Task.objects.bulk_create(batch)

    def measure(self, csm: User, account: Account) -> AccountPageBenchResult:
        client = Client(HTTP_HOST="localhost")
        client.force_login(csm)
        url = reverse("workspace:account_detail", args=[account.pk])
        timings = []
        with override_settings(DEBUG=False):
            for _ in range(3):  # warm caches and connections
                client.get(url)
            # Counted by a wrapper, not from the debug log: that log is a bounded deque,
            # and once full it no longer tells how many queries were added.
            executed = []
            with connection.execute_wrapper(
                lambda execute, sql, params, many, context: (
                    executed.append(sql),
                    execute(sql, params, many, context),
                )[1]
            ):
                response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
            for _ in range(self.requests):
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
        return AccountPageBenchResult(
            backend=connection.vendor,
            tasks_in_database=Task.objects.count(),
            tasks_of_the_account=Task.objects.filter(account=account).count(),
            requests=self.requests,
            p50_ms=round(statistics.median(timings), 1),
            p95_ms=percentile(timings, 95),
            max_ms=round(max(timings), 1),
            queries_per_page=len(executed),
        )

    def clean_up(self) -> None:
        if connection.vendor == "postgresql":
            # One statement: the ORM would load a million ids to look for cascades, and
            # nothing refers to these tasks.
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM queues_task WHERE queue_id IN "
                    "(SELECT id FROM queues_queue WHERE slug LIKE %s)",
                    [f"{PREFIX}%"],
                )
        Task.objects.filter(queue__slug__startswith=PREFIX).delete()
        Queue.objects.filter(slug__startswith=PREFIX).delete()
        Deal.objects.filter(name__startswith=PREFIX).delete()
        Account.objects.filter(name__startswith=PREFIX).delete()
        User.objects.filter(username__startswith=PREFIX).delete()


def as_dict(result: AccountPageBenchResult) -> dict:
    return asdict(result)
