"""``queue_bench``: fill a database with tasks, then time the pages CS staff live in.

Server time is measured in-process through Django's test client (middleware, views,
queries and template rendering; no network), with DEBUG off. Everything it creates is
named ``bench-…`` and deleted at the end.
"""

import datetime as dt
import random
import statistics
import time
from dataclasses import asdict, dataclass

from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from apps.benchmarks.stats import percentile
from apps.core import clock
from apps.core.models import Profile
from apps.customers.models import Account
from apps.queues.models import Queue, Task

PREFIX = "bench-"
STATUSES = [Task.Status.OPEN] * 6 + [Task.Status.IN_PROGRESS, Task.Status.DONE, Task.Status.DONE]


@dataclass
class QueueBenchResult:
    backend: str
    tasks: int
    requests_per_page: int
    my_work_p50_ms: float
    my_work_p95_ms: float
    queue_p50_ms: float
    queue_p95_ms: float
    api_list_p50_ms: float
    api_list_p95_ms: float
    queries_per_page: int
    queries: dict


class QueueBench:
    def __init__(self, *, tasks: int, requests: int, log) -> None:
        self.tasks, self.requests, self.log = tasks, requests, log
        self.rng = random.Random(20261122)  # the same data set on every run

    def fill(self) -> User:
        """5 queues, 20 CSMs (each in 2 queues), 1,000 accounts, N tasks."""
        csm_group = Group.objects.get(name="CSM")
        with transaction.atomic():
            users = []
            for i in range(20):
                user = User.objects.create_user(f"{PREFIX}csm{i}", password=None)
                user.groups.add(csm_group)
                users.append(user)
            Profile.objects.bulk_create(
                [Profile(user=u, timezone="America/New_York") for u in users]
            )
            queues = [
                Queue.objects.create(name=f"{PREFIX}queue {i}", slug=f"{PREFIX}queue-{i}")
                for i in range(5)
            ]
            for i, user in enumerate(users):
                user.task_queues.add(queues[i % 5], queues[(i + 1) % 5])
            accounts = Account.objects.bulk_create(
                [
                    Account(name=f"{PREFIX}account {i}", timezone="Europe/Berlin")
                    for i in range(1000)
                ]
            )
        now = clock.now()
        made = 0
        while made < self.tasks:
            batch = []
            for _ in range(min(5000, self.tasks - made)):
                queue = self.rng.choice(queues)
                due = now + dt.timedelta(hours=self.rng.randint(-24 * 30, 24 * 60))
                batch.append(
                    Task(
                        title=f"{PREFIX}task {made + len(batch)}",
                        kind="check_in",
                        queue=queue,
                        account=self.rng.choice(accounts),
                        assignee=self.rng.choice(users) if self.rng.random() < 0.8 else None,
                        priority=self.rng.randint(1, 4),
                        due_at=due,
                        sla_due_at=due,
                        status=self.rng.choice(STATUSES),
                        created_at=now - dt.timedelta(days=40),
                    )
                )
            Task.objects.bulk_create(batch)
            made += len(batch)
            self.log(f"{made} tasks")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE queues_task")
        return users[0]

    def measure(self, user: User) -> QueueBenchResult:
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        queue = user.task_queues.order_by("slug").first()
        pages = {
            "my_work": lambda i: "/work/",
            "queue": lambda i: f"/tasks/?queue={queue.slug}&page={1 + i % 5}",
            "api_list": lambda i: f"/api/tasks/?queue={queue.slug}&page={1 + i % 5}",
        }
        timings: dict[str, list[float]] = {}
        queries: dict[str, int] = {}
        with override_settings(DEBUG=False):
            for name, url in pages.items():
                for i in range(3):  # warm caches and connections
                    client.get(url(i))
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(url(0))
                if response.status_code != 200:
                    raise RuntimeError(f"{url(0)} answered {response.status_code}")
                queries[name] = len(captured)
                timings[name] = []
                for i in range(self.requests):
                    started = time.perf_counter()
                    client.get(url(i))
                    timings[name].append((time.perf_counter() - started) * 1000)
        return QueueBenchResult(
            backend=connection.vendor,
            tasks=Task.objects.filter(title__startswith=PREFIX).count(),
            requests_per_page=self.requests,
            my_work_p50_ms=round(statistics.median(timings["my_work"]), 1),
            my_work_p95_ms=percentile(timings["my_work"], 95),
            queue_p50_ms=round(statistics.median(timings["queue"]), 1),
            queue_p95_ms=percentile(timings["queue"], 95),
            api_list_p50_ms=round(statistics.median(timings["api_list"]), 1),
            api_list_p95_ms=percentile(timings["api_list"], 95),
            queries_per_page=max(queries.values()),
            queries=queries,
        )

    def clean_up(self) -> None:
        Task.objects.filter(queue__slug__startswith=PREFIX).delete()
        Queue.objects.filter(slug__startswith=PREFIX).delete()
        Account.objects.filter(name__startswith=PREFIX).delete()
        User.objects.filter(username__startswith=PREFIX).delete()


def as_dict(result: QueueBenchResult) -> dict:
    return asdict(result)
