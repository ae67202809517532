"""``bulk_enroll_bench``: enroll N existing accounts in a playbook in bulk, and time it.

It creates N active accounts in eight time zones and countries (a third of them
enterprise), each with a won deal, and a published programme playbook (a review task for
enterprise accounts and one for the others, both at enrollment, and a follow-up after the
review). Then it does what an admin does: a preview, then a run through the real
``engine.bulk_enroll`` task on a Celery worker process, timed from the request's commit
to the run's end; then a second run, which must enroll nobody. Everything is named
``bench-…`` and deleted at the end.
"""

import datetime as dt
import time
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count

from apps.benchmarks.engine.bench import backend_name
from apps.benchmarks.engine.data import PREFIX
from apps.benchmarks.engine.workers import Workers
from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.deals.models import Deal
from apps.engine.bulk import CHUNK_SIZE, bulk_enrollment_preview, bulk_enrollment_start
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.playbooks.models import Playbook, PlaybookStep
from apps.playbooks.services import playbook_publish
from apps.queues.models import Queue

PLACES = (
    ("Europe/Berlin", "DE"),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("Europe/London", "GB"),
    ("Asia/Tokyo", "JP"),
    ("Australia/Sydney", "AU"),
    ("America/Sao_Paulo", "BR"),
    ("Asia/Kolkata", "IN"),
)
BATCH = 5000


@dataclass
class BulkBenchResult:
    backend: str
    accounts: int
    spread_business_days: int
    chunk_size: int
    preview_ms: float
    enrolled: int
    step_runs: int
    run_s: float
    accounts_per_s: float
    second_run_s: float
    second_run_enrolled: int
    duplicate_enrollments: int
    worker_peak_rss_mb: float


class BulkBench:
    def __init__(self, *, accounts: int, spread: int, timeout: float, log) -> None:
        self.accounts, self.spread, self.timeout, self.log = accounts, spread, timeout, log
        self.run = f"{PREFIX}{uuid.uuid4().hex[:6]}"

    def fill(self) -> Playbook:
        queue, _ = Queue.objects.get_or_create(
            slug=f"{self.run}-queue", defaults={"name": f"{self.run} queue"}
        )
        playbook = Playbook.objects.create(name=f"{self.run} programme")
        review = {"queue": queue.slug, "title": "Business review with {{ account.name }}"}
        for position, (key, op) in enumerate((("review-enterprise", "=="), ("review", "!=")), 1):
            PlaybookStep.objects.create(
                playbook=playbook,
                position=position,
                key=key,
                name=key,
                kind="task",
                config=review,
                at_time=dt.time(10, 0),
                window_start=dt.time(9, 0),
                window_end=dt.time(17, 0),
                conditions=[{"field": "account.tier", "op": op, "value": "enterprise"}],
            )
        PlaybookStep.objects.create(
            playbook=playbook,
            position=3,
            key="follow-up",
            name="follow-up",
            kind="task",
            config=review,
            start="after_step",
            after_step="review",
            delay_days=7,
        )
        playbook_publish(playbook=playbook, actor=None)
        made = 0
        while made < self.accounts:
            size = min(BATCH, self.accounts - made)
            with transaction.atomic():
                accounts = Account.objects.bulk_create(
                    [
                        Account(
                            name=f"{self.run} account {made + i}",
                            timezone=PLACES[(made + i) % len(PLACES)][0],
                            country=PLACES[(made + i) % len(PLACES)][1],
                            tier=Account.Tier.ENTERPRISE if (made + i) % 3 == 0 else "smb",
                            lifecycle_status=Account.Lifecycle.ACTIVE,
                        )
                        for i in range(size)
                    ]
                )
                Deal.objects.bulk_create(
                    [
                        Deal(
                            name=f"{self.run} deal {account.pk}",
                            account=account,
                            stage="closed_won",
                            amount=Decimal("1000"),
                            close_date=dt.date(2024, 1, 1) + dt.timedelta(days=account.pk % 700),
                            closed_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                        )
                        for account in accounts
                    ]
                )
            made += size
            self.log(f"{made} accounts")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE customers_account; ANALYZE deals_deal")
        playbook.refresh_from_db()
        return playbook

    def enroll(self, playbook: Playbook, workers: Workers) -> tuple[BulkEnrollment, float]:
        """Start a run the way the admin does and wait for the worker to finish it."""
        filters = {"lifecycle_status": ["active"]}
        started = time.perf_counter()
        run = bulk_enrollment_start(
            playbook=playbook, filters=filters, spread_business_days=self.spread, actor=None
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.is_finished:
                break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"bulk enrollment {run.pk} not finished after {self.timeout}s")
        if run.state != BulkEnrollment.State.DONE:
            raise RuntimeError(f"bulk enrollment {run.pk} failed: {run.error}")
        return run, round(time.perf_counter() - started, 2)

    def measure(self) -> BulkBenchResult:
        playbook = self.fill()
        started = time.perf_counter()
        preview = bulk_enrollment_preview(
            playbook=playbook, filters={"lifecycle_status": ["active"]}
        )
        preview_ms = round((time.perf_counter() - started) * 1000, 1)
        self.log(f"preview: {preview.to_enroll} to enroll in {preview_ms} ms")
        workers = Workers(count=1, name=self.run, log=self.log)
        workers.start()
        try:
            first, run_s = self.enroll(playbook, workers)
            self.log(f"first run: {first.enrolled} enrolled in {run_s} s")
            second, second_s = self.enroll(playbook, workers)
        finally:
            peak_rss_kb = workers.stop()["peak_rss_kb"]
        enrollments = Enrollment.objects.filter(playbook=playbook)
        duplicates = (
            enrollments.values("account_id").annotate(n=Count("id")).filter(n__gt=1).count()
        )
        return BulkBenchResult(
            backend=backend_name(),
            accounts=self.accounts,
            spread_business_days=self.spread,
            chunk_size=CHUNK_SIZE,
            preview_ms=preview_ms,
            enrolled=first.enrolled,
            step_runs=StepRun.objects.filter(enrollment__playbook=playbook).count(),
            run_s=run_s,
            accounts_per_s=round(first.enrolled / run_s, 1),
            second_run_s=second_s,
            second_run_enrolled=second.enrolled,
            duplicate_enrollments=duplicates,
            worker_peak_rss_mb=round(peak_rss_kb / 1024, 1),
        )

    def clean_up(self) -> None:
        """Delete what this bench (and any interrupted run of it) created.

        Step runs, enrollments, deals and accounts go with plain DELETEs: the ORM would
        load hundreds of thousands of rows to look for dependants, and these have none
        (their steps never ran, so no task, email or notification points at them).
        """
        playbooks = list(
            Playbook.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True)
        )
        accounts = Account.objects.filter(name__startswith=PREFIX).values("pk")
        runs = BulkEnrollment.objects.filter(playbook_id__in=playbooks)
        events = list(runs.values_list("trigger_event_id", flat=True))
        enrollments = Enrollment.objects.filter(playbook__in=playbooks).values("pk")
        with transaction.atomic():
            DomainEvent.objects.filter(
                aggregate_type="enrollment", aggregate_id__in=enrollments
            )._raw_delete(connection.alias)
            StepRun.objects.filter(enrollment__playbook__in=playbooks)._raw_delete(connection.alias)
            Enrollment.objects.filter(playbook__in=playbooks)._raw_delete(connection.alias)
            runs.delete()
            DomainEvent.objects.filter(pk__in=events).delete()
            Deal.objects.filter(account__in=accounts)._raw_delete(connection.alias)
            Account.objects.filter(pk__in=accounts)._raw_delete(connection.alias)
            Playbook.objects.filter(pk__in=playbooks).update(current_version=None)
            for playbook in Playbook.objects.filter(pk__in=playbooks):
                playbook.versions.all().delete()
                playbook.delete()
            Queue.objects.filter(slug__startswith=PREFIX).delete()


def as_dict(result: BulkBenchResult) -> dict:
    return asdict(result)
