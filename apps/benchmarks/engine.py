"""``engine_bench``: close N deals won with real Celery workers and measure the engine.

Everything it creates is named ``bench-…`` and deleted at the end. It runs against the
configured database and broker (PostgreSQL + Redis when DATABASE_URL / CELERY_BROKER_URL
say so) and refuses a database holding other deals unless forced.
"""

import datetime as dt
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min

from apps.benchmarks.stats import percentile
from apps.benchmarks.workers import Workers
from apps.core import clock
from apps.core.models import DomainEvent
from apps.customers.models import Account, Contact, Product, ProductFamily
from apps.deals.models import Deal, DealLineItem, WinReason
from apps.deals.services import deal_close_won
from apps.engine.execution import step_runs_claim_due
from apps.engine.models import Enrollment, StepRun
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue, Task
from config.celery import app as celery_app

PREFIX = "bench-"


@dataclass
class BenchResult:
    backend: str
    deals: int
    steps: int
    workers: int
    enrollments_per_s: float
    steps_per_s: float
    first_task_p50_ms: float
    first_task_p99_ms: float
    tick_ms_10k: float | None
    tick_ms_1m: float | None
    worker_peak_rss_mb: float
    duplicate_effects: int
    wall_s: float


def backend_name() -> str:
    broker = celery_app.conf.broker_url.split("://")[0]
    return f"{connection.vendor}+{broker}"


def other_data_exists() -> bool:
    """Real deals or active playbooks: the bench would enroll or disturb them."""
    return (
        Deal.objects.exclude(name__startswith=PREFIX).exists()
        or Playbook.objects.filter(status=Playbook.Status.ACTIVE)
        .exclude(name__startswith=PREFIX)
        .exists()
    )


class Bench:
    def __init__(self, *, deals: int, steps: int, workers: int, log) -> None:
        self.deals, self.steps, self.workers, self.log = deals, steps, workers, log
        self.run = f"{PREFIX}{uuid.uuid4().hex[:6]}"
        self.worker_processes = Workers(count=workers, name=self.run)

    # Set-up ----------------------------------------------------------------------------

    def create_playbook(self) -> Playbook:
        queue, _ = Queue.objects.get_or_create(
            slug=f"{self.run}-queue", defaults={"name": self.run}
        )
        playbook = Playbook.objects.create(name=f"{self.run} playbook")
        for i in range(1, self.steps + 1):
            PlaybookStep.objects.create(
                playbook=playbook,
                position=i,
                key=f"s{i}",
                name=f"Bench step {i}",
                kind="task",
                start="enrollment" if i == 1 else "after_step",
                after_step="" if i == 1 else f"s{i - 1}",
                config={"queue": queue.slug, "title": f"Bench step {i} for {{{{ account.name }}}}"},
            )
        playbook_publish(playbook=playbook, actor=None)
        return playbook

    def create_deals(self) -> list[Deal]:
        family, _ = ProductFamily.objects.get_or_create(name=f"{self.run} family")
        product = Product.objects.create(sku=self.run, name=self.run, family=family, list_price=100)
        deals = []
        with transaction.atomic():
            for i in range(self.deals):
                account = Account.objects.create(name=f"{self.run} account {i}", timezone="UTC")
                contact = Contact.objects.create(
                    account=account, name="Bench", email=f"{i}@bench.invalid", is_primary=True
                )
                deal = Deal.objects.create(
                    name=f"{self.run} deal {i}",
                    account=account,
                    stage="negotiation",
                    amount=Decimal("100"),
                    currency="USD",
                    close_date=dt.date.today(),
                    primary_contact=contact,
                )
                DealLineItem.objects.create(deal=deal, product=product, unit_price=100)
                deals.append(deal)
        return deals

    # Measurements ----------------------------------------------------------------------

    def tick_ms(self, pending: int) -> float:
        """Median time of a dispatcher claim with ``pending`` future step runs in the
        table and 500 due ones (claimed, reset, claimed again)."""
        account = Account.objects.create(name=f"{self.run} tick", timezone="UTC")
        deal = Deal.objects.create(name=f"{self.run} tick", account=account)
        playbook = Playbook.objects.get(name=f"{self.run} playbook")
        event = DomainEvent.objects.create(
            name="bench.tick", aggregate_type="deal", aggregate_id=deal.pk
        )
        enrollment = Enrollment.objects.create(
            playbook=playbook,
            version=playbook.current_version,
            deal=deal,
            account=account,
            trigger_event=event,
            state=Enrollment.State.COMPLETED,
        )
        now = clock.now()
        self._insert_pending(enrollment, pending, due_now=500, now=now)
        timings = []
        for _ in range(5):
            with transaction.atomic():  # the claim's locks end with it; nothing changes
                started = time.perf_counter()
                step_runs_claim_due(limit=settings.ENGINE_BATCH_MAX)
                timings.append((time.perf_counter() - started) * 1000)
        StepRun.objects.filter(enrollment=enrollment).delete()
        return round(statistics.median(timings), 2)

    def _insert_pending(self, enrollment, count: int, *, due_now: int, now: dt.datetime) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    INSERT INTO engine_steprun (enrollment_id, step_key, occurrence, kind, due_at,
                        state, attempts, generation, last_error, result, created_at,
                        moved_because, priority)
                    SELECT %s, 'tick', g, 'task',
                        CASE WHEN g <= %s THEN %s - interval '1 minute'
                             ELSE %s + (g || ' seconds')::interval END,
                        'pending', 0, 0, '', '{}', %s, '', 1
                    FROM generate_series(1, %s) AS g
                    """,
                    [enrollment.pk, due_now, now, now, now, count],
                )
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE engine_steprun")
            return
        batch = []
        for g in range(1, count + 1):
            due = now - dt.timedelta(minutes=1) if g <= due_now else now + dt.timedelta(seconds=g)
            batch.append(
                StepRun(
                    enrollment=enrollment,
                    step_key="tick",
                    occurrence=g,
                    kind="task",
                    due_at=due,
                    created_at=now,
                )
            )
            if len(batch) == 5000:
                StepRun.objects.bulk_create(batch)
                batch = []
        StepRun.objects.bulk_create(batch)

    def run_bench(self, *, skip_1m: bool, timeout: float) -> BenchResult:
        started = time.perf_counter()
        run = self.run
        self.clean_up()  # leftovers of an interrupted run would enroll these deals too
        self.run = run
        self.playbook = self.create_playbook()
        deals = self.create_deals()
        reason, _ = WinReason.objects.get_or_create(name="Benchmark")
        self.worker_processes.start()
        try:
            closed_at: dict[int, dt.datetime] = {}
            for deal in deals:
                deal_close_won(
                    deal=deal, actor=None, source="system", win_reason=reason, win_notes="benchmark"
                )
                closed_at[deal.pk] = clock.now()
            expected = self.deals * self.steps
            deadline = time.monotonic() + timeout
            next_beat = 0.0
            while time.monotonic() < deadline:
                if time.monotonic() >= next_beat:  # what beat does every few seconds
                    celery_app.send_task("core.drain")
                    next_beat = time.monotonic() + settings.ENGINE_DISPATCH_SECONDS
                self.worker_processes.sample_rss()
                done = StepRun.objects.filter(
                    enrollment__deal__in=deals, state=StepRun.State.DONE
                ).count()
                if done >= expected:
                    break
                time.sleep(0.25)
            else:
                self.log(f"timed out with {done}/{expected} steps done")
        finally:
            self.worker_processes.stop()
        return self.collect(deals, closed_at, started, skip_1m)

    def collect(self, deals, closed_at, started, skip_1m) -> BenchResult:
        first_close = min(closed_at.values())
        enrollments = Enrollment.objects.filter(deal__in=deals)
        last_enrollment = enrollments.aggregate(t=Max("created_at"))["t"]
        runs = StepRun.objects.filter(enrollment__deal__in=deals, state=StepRun.State.DONE)
        last_step = runs.aggregate(t=Max("finished_at"))["t"]
        first_tasks = (
            Task.objects.filter(deal__in=deals, step_run__step_key="s1")
            .values("deal_id")
            .annotate(t=Min("created_at"))
        )
        latencies = [
            (row["t"] - closed_at[row["deal_id"]]).total_seconds() * 1000 for row in first_tasks
        ]
        duplicates = (
            Task.objects.filter(deal__in=deals)
            .values("deal_id", "title")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )
        span = lambda end: max((end - first_close).total_seconds(), 1e-6)  # noqa: E731
        self.log("measuring dispatcher ticks")
        tick_10k = self.tick_ms(10_000)
        tick_1m = None if skip_1m else self.tick_ms(1_000_000)
        return BenchResult(
            backend=backend_name(),
            deals=self.deals,
            steps=runs.count(),
            workers=self.workers,
            enrollments_per_s=round(enrollments.count() / span(last_enrollment), 1)
            if last_enrollment
            else 0.0,
            steps_per_s=round(runs.count() / span(last_step), 1) if last_step else 0.0,
            first_task_p50_ms=percentile(latencies, 50) if latencies else -1,
            first_task_p99_ms=percentile(latencies, 99) if latencies else -1,
            tick_ms_10k=tick_10k,
            tick_ms_1m=tick_1m,
            worker_peak_rss_mb=self.worker_processes.peak_rss_mb,
            duplicate_effects=duplicates,
            wall_s=round(time.perf_counter() - started, 1),
        )

    # Clean-up --------------------------------------------------------------------------

    def clean_up(self) -> None:
        """Delete what this run (and any earlier interrupted run) created."""
        self.run = PREFIX
        deals = Deal.objects.filter(name__startswith=self.run)
        deal_ids = list(deals.values_list("id", flat=True))
        Task.objects.filter(deal_id__in=deal_ids).delete()
        Enrollment.objects.filter(deal_id__in=deal_ids).delete()
        DomainEvent.objects.filter(aggregate_type="deal", aggregate_id__in=deal_ids).delete()
        DomainEvent.objects.filter(
            name__in=["step.completed", "task.created"], payload__deal_id__in=deal_ids
        ).delete()
        deals.delete()
        Account.objects.filter(name__startswith=self.run).delete()
        Playbook.objects.filter(name__startswith=self.run).update(current_version=None)
        for playbook in Playbook.objects.filter(name__startswith=self.run):
            playbook.versions.all().delete()
            playbook.delete()
        Queue.objects.filter(slug__startswith=self.run).delete()
        Product.objects.filter(sku__startswith=self.run).delete()
        ProductFamily.objects.filter(name__startswith=self.run).delete()


def as_dict(result: BenchResult) -> dict:
    return asdict(result)
