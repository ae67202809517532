"""``engine_bench``: close deals won with real Celery workers and measure the engine.

Two modes. **burst** closes every deal at once: with ``close="before"`` (the default)
the deals are closed while no worker runs and the clock starts when the workers do, so
``steps_per_s`` is the engine's alone; with ``close="during"`` the bench closes them as
fast as it can with the workers running. **rate** closes ``rate`` deals a second for
``seconds`` seconds with the workers running and reports each close's first-task
latency. The bench process plays beat: it sends ``core.drain`` every
``ENGINE_DISPATCH_SECONDS``.
"""

import datetime as dt
import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q

from apps.benchmarks.engine.ceilings import (
    NOOP,
    celery_noop_per_s,
    celery_noops_send,
    pg_claim_rows_per_s,
)
from apps.benchmarks.engine.data import (
    PREFIX,
    PlaybookShape,
    bench_data_delete,
    deals_create,
    playbook_create,
    rows_delete,
    tables_vacuum,
)
from apps.benchmarks.engine.workers import Workers, broker_backlog
from apps.core import clock
from apps.core.models import DomainEvent
from apps.customers.models import Account
from apps.deals.models import Deal, WinReason
from apps.deals.services import deal_close_won
from apps.engine.execution import step_runs_claim_due
from apps.engine.models import Enrollment, StepRun
from apps.notifications.models import EmailMessage, Notification
from apps.playbooks.models import Playbook
from apps.queues.models import Task
from config.celery import app as celery_app

WINDOW_S = 10  # steps_per_s_window_min/max: the slowest and fastest 10-second stretch
RSS_BASELINE_SHARE = 0.05  # worker memory is compared from 5 % of the work on (warm)


@dataclass(frozen=True)
class BenchOptions:
    deals: int = 200
    shape: PlaybookShape = field(default_factory=PlaybookShape)
    workers: int = 2
    close: str = "before"  # burst: close "before" the workers start, or "during"
    rate: float | None = None  # closes per second: the paced mode, with ``seconds``
    seconds: float | None = None
    noop_tasks: int = 2000
    claim_rows: int = 20_000
    ticks: bool = True
    tick_1m: bool = True
    timeout: float = 1800
    settle_timeout: float = 600

    @property
    def mode(self) -> str:
        return "rate" if self.rate else "burst"

    @property
    def deal_count(self) -> int:
        return round(self.rate * self.seconds) if self.rate else self.deals


@dataclass
class BenchResult:
    backend: str
    mode: str
    close: str
    workers: int
    playbook: str
    deals: int
    steps: int
    steps_not_done: dict
    close_s: float
    closes_per_s: float
    drain_s: float
    settle_s: float
    backlog_left: int
    steps_per_s: float
    steps_per_s_window_min: float | None
    steps_per_s_window_max: float | None
    enrollments_per_s: float
    first_task_p50_ms: float | None
    first_task_p99_ms: float | None
    first_task_max_ms: float | None
    queries_per_step: float | None
    savepoints_per_step: float | None
    celery_noop_per_s: float | None
    pg_claim_rows_per_s: float | None
    tick_ms_10k: float | None
    tick_ms_1m: float | None
    worker_rss_start_mb: float
    worker_rss_end_mb: float
    worker_rss_growth_pct: float
    worker_peak_rss_mb: float
    worker_rss_trace_mb: list
    duplicate_effects: int
    effects: dict
    worker_tasks: dict
    wall_s: float
    load_average: dict
    autovacuum: str | None


def backend_name() -> str:
    broker = celery_app.conf.broker_url.split("://")[0]
    return f"{connection.vendor}+{broker}"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 1)


def _mb(kb: float) -> float:
    return round(kb / 1024, 1)


class Bench:
    def __init__(self, *, options: BenchOptions, log) -> None:
        self.options, self.log = options, log
        self.run = f"{PREFIX}{uuid.uuid4().hex[:6]}"
        self.next_beat = 0.0
        self.rss_start: dict[int, int] = {}
        self.rss_end: dict[int, int] = {}
        self.rss_trace: list[float] = []  # the largest worker at each tenth of the work

    # The run ---------------------------------------------------------------------------

    def run_bench(self) -> BenchResult:
        options = self.options
        started = time.perf_counter()
        self.load_start = os.getloadavg()
        bench_data_delete()  # an interrupted run's deals would be enrolled too
        self.playbook = playbook_create(run=self.run, shape=options.shape)
        deals_create(run=self.run, count=options.deal_count, log=self.log)
        tables_vacuum()
        deals = list(
            Deal.objects.filter(name__startswith=f"{self.run} deal")
            .select_related("account", "primary_contact")
            .order_by("id")
        )
        reason, _ = WinReason.objects.get_or_create(name="Benchmark")
        workers = Workers(count=options.workers, name=self.run, log=self.log)
        workers.start()
        noop_stats = None
        engine_from = None  # close "before": latencies count from the workers' start
        try:
            self.log(f"timing {options.noop_tasks} no-op tasks")
            celery_noops_send(options.noop_tasks)
            self._settle(workers, timeout=300)
            if options.mode == "burst" and options.close == "before":
                noop_stats = workers.stop()
                closed_at, close_s = self._close(deals, reason, workers=None)
                workers = Workers(count=options.workers, name=self.run, log=self.log)
                workers.start()
                engine_from = clock.now()
            else:
                closed_at, close_s = self._close(deals, reason, workers=workers)
            drain_from = engine_from or min(closed_at.values())
            done = self._wait_done(workers, deals=len(deals))
            drain_s = (done - drain_from).total_seconds()
            self.log("waiting for the workers' queues to empty")
            settle_s, backlog_left = self._settle(workers, timeout=self.options.settle_timeout)
        finally:
            stats = workers.stop()
        noop_stats = noop_stats or stats
        return self._collect(
            closed_at=closed_at,
            engine_from=engine_from,
            close_s=close_s,
            drain_s=drain_s,
            settle_s=settle_s,
            backlog_left=backlog_left,
            stats=stats,
            noop_per_s=celery_noop_per_s(noop_stats, options.noop_tasks),
            started=started,
        )

    def _beat(self) -> None:
        """What beat does every few seconds."""
        if time.monotonic() >= self.next_beat:
            celery_app.send_task("core.drain")
            self.next_beat = time.monotonic() + settings.ENGINE_DISPATCH_SECONDS

    def _close(
        self, deals: list[Deal], reason: WinReason, *, workers: Workers | None
    ) -> tuple[dict[int, dt.datetime], float]:
        """Close every deal won through the service, paced at ``rate`` if given. Returns
        each deal's commit time and the seconds the closes took."""
        rate = self.options.rate
        self.log(f"closing {len(deals)} deals" + (f" at {rate}/s" if rate else ""))
        closed_at: dict[int, dt.datetime] = {}
        started = time.monotonic()
        for i, deal in enumerate(deals):
            if rate:
                time.sleep(max(0.0, started + i / rate - time.monotonic()))
            deal_close_won(
                deal=deal, actor=None, source="system", win_reason=reason, win_notes="benchmark"
            )
            closed_at[deal.pk] = clock.now()  # after the commit
            if workers is not None:
                self._beat()
        return closed_at, time.monotonic() - started

    def _wait_done(self, workers: Workers, *, deals: int) -> dt.datetime:
        """Until every enrollment has completed (all its steps finished). Samples worker
        memory on the way: the first sample from 5 % of the enrollments on is the
        baseline (the workers have warmed up by then), the last one the end."""
        enrollments = Enrollment.objects.filter(
            playbook=self.playbook, state=Enrollment.State.COMPLETED
        )
        deadline = time.monotonic() + self.options.timeout
        completed = 0
        while time.monotonic() < deadline:
            self._beat()
            completed = enrollments.count()
            if not self.rss_start and completed >= max(1, deals * RSS_BASELINE_SHARE):
                self.rss_start = workers.rss_kb()
            while len(self.rss_trace) < 10 and completed >= deals * (len(self.rss_trace) + 1) / 10:
                self.rss_trace.append(_mb(max(workers.rss_kb().values(), default=0)))
            if completed >= deals:
                self.rss_end = workers.rss_kb()
                return clock.now()
            time.sleep(0.25)
        self.log(f"timed out with {completed}/{deals} enrollments completed")
        self.rss_end = workers.rss_kb()
        return clock.now()

    def _settle(self, workers: Workers, *, timeout: float) -> tuple[float, int]:
        """Until the broker holds nothing for the workers and no event waits (the
        assignment notices, the wake-ups every close sent). Returns the seconds and the
        messages still waiting when ``timeout`` ran out (0 when it settled)."""
        started = time.monotonic()
        deadline = started + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            self._beat()
            busy = (
                broker_backlog() > 0
                or DomainEvent.objects.filter(processed_at__isnull=True).exists()
            )
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 1:  # and the messages they had taken
                break
            time.sleep(0.25)
        else:
            self.log(f"the workers were still busy after {timeout}s")
            return round(time.monotonic() - started, 1), broker_backlog()
        return round(time.monotonic() - started, 1), 0

    # Measurements ----------------------------------------------------------------------

    def _collect(
        self,
        *,
        closed_at: dict[int, dt.datetime],
        engine_from: dt.datetime | None,
        close_s: float,
        drain_s: float,
        settle_s: float,
        backlog_left: int,
        stats: dict,
        noop_per_s: float | None,
        started: float,
    ) -> BenchResult:
        options = self.options
        runs = StepRun.objects.filter(enrollment__playbook=self.playbook)
        done = runs.filter(state=StepRun.State.DONE)
        span = done.aggregate(first=Min("started_at"), last=Max("finished_at"))
        steps = done.count()
        steps_s = (span["last"] - span["first"]).total_seconds() if steps else 0.0
        window_min, window_max = self._windows(done, span["first"])
        not_done = dict(
            runs.exclude(state=StepRun.State.DONE)
            .values_list("state")
            .annotate(n=Count("id"))
            .order_by()
        )
        enrollments = Enrollment.objects.filter(playbook=self.playbook)
        last_enrollment = enrollments.aggregate(t=Max("created_at"))["t"]
        first_close = min(closed_at.values())
        enrolled_s = (last_enrollment - (engine_from or first_close)).total_seconds()
        latencies = self._first_task_latencies(closed_at, engine_from)
        work = {name: row for name, row in stats["by_name"].items() if name != NOOP}
        statements = sum(row["statements"] for row in work.values())
        savepoints = sum(row["savepoints"] for row in work.values())
        self.log(f"timing {options.claim_rows} raw claims")
        claim_rows = (
            pg_claim_rows_per_s(rows=options.claim_rows, batch=100, claimers=options.workers)
            if options.claim_rows
            else None
        )
        tick_10k = tick_1m = None
        if options.ticks:
            self.log("measuring dispatcher ticks")
            tick_10k = self.tick_ms(10_000)
            tick_1m = self.tick_ms(1_000_000) if options.tick_1m else None
        # The worker that grew most: its memory from 5 % of the work on, and at the end.
        growth = {
            pid: (self.rss_end.get(pid, kb) - kb) / kb * 100
            for pid, kb in self.rss_start.items()
            if kb
        }
        grew = max(growth, key=growth.get, default=None)
        shape = options.shape
        return BenchResult(
            backend=backend_name(),
            mode=options.mode,
            close=options.close if options.mode == "burst" else "paced",
            workers=options.workers,
            playbook=f"{','.join(shape.kinds)} x{shape.steps}"
            + (" chained" if shape.chained else ""),
            deals=len(closed_at),
            steps=steps,
            steps_not_done=not_done,
            close_s=round(close_s, 1),
            closes_per_s=round(len(closed_at) / max(close_s, 1e-6), 1),
            drain_s=round(drain_s, 1),
            settle_s=settle_s,
            backlog_left=backlog_left,
            steps_per_s=round(steps / steps_s, 1) if steps_s else 0.0,
            steps_per_s_window_min=window_min,
            steps_per_s_window_max=window_max,
            enrollments_per_s=round(enrollments.count() / max(enrolled_s, 1e-6), 1),
            first_task_p50_ms=_percentile(latencies, 50),
            first_task_p99_ms=_percentile(latencies, 99),
            first_task_max_ms=_percentile(latencies, 100),
            queries_per_step=round(statements / steps, 2) if steps else None,
            savepoints_per_step=round(savepoints / steps, 2) if steps else None,
            celery_noop_per_s=noop_per_s,
            pg_claim_rows_per_s=claim_rows,
            tick_ms_10k=tick_10k,
            tick_ms_1m=tick_1m,
            worker_rss_start_mb=_mb(self.rss_start.get(grew, 0)),
            worker_rss_end_mb=_mb(self.rss_end.get(grew, 0)),
            worker_rss_growth_pct=round(growth[grew], 1) if grew else 0.0,
            worker_peak_rss_mb=_mb(stats["peak_rss_kb"]),
            worker_rss_trace_mb=self.rss_trace,
            duplicate_effects=self._duplicate_effects(),
            effects=self._effects(),
            worker_tasks={
                name: {key: round(value, 2) for key, value in row.items()}
                for name, row in sorted(stats["by_name"].items())
            },
            wall_s=round(time.perf_counter() - started, 1),
            load_average={
                "start": [round(x, 2) for x in self.load_start],
                "end": [round(x, 2) for x in os.getloadavg()],
            },
            autovacuum=_autovacuum(),
        )

    def _windows(self, done, first: dt.datetime | None) -> tuple[float | None, float | None]:
        """Steps per second in each whole 10-second stretch from the first step's start;
        the slowest and the fastest."""
        if first is None:
            return None, None
        buckets = Counter(
            int((finished - first).total_seconds() // WINDOW_S)
            for finished in done.values_list("finished_at", flat=True)
        )
        whole = [buckets[i] / WINDOW_S for i in range(max(buckets))]  # the last is partial
        if not whole:
            return None, None
        return round(min(whole), 1), round(max(whole), 1)

    def _first_task_latencies(
        self, closed_at: dict[int, dt.datetime], engine_from: dt.datetime | None
    ) -> list[float]:
        """Milliseconds from a close's commit (or the workers' start, for deals closed
        before it) to the deal's first task row."""
        first_tasks = (
            Task.objects.filter(deal_id__in=list(closed_at))
            .values("deal_id")
            .annotate(t=Min("created_at"))
            .order_by()
        )
        latencies = []
        for row in first_tasks:
            since = closed_at[row["deal_id"]]
            if engine_from is not None:
                since = max(since, engine_from)
            latencies.append((row["t"] - since).total_seconds() * 1000)
        return latencies

    def _effects(self) -> dict:
        accounts = Account.objects.filter(name__startswith=f"{self.run} account")
        emails = EmailMessage.objects.filter(
            Q(contact__account__in=accounts) | Q(recipient__username__startswith=self.run)
        )
        return {
            "tasks": Task.objects.filter(account__in=accounts).count(),
            "notifications": Notification.objects.filter(
                recipient__username__startswith=self.run
            ).count(),
            "emails": emails.count(),
            "emails_sent": emails.filter(status=EmailMessage.Status.SENT).count(),
        }

    def _duplicate_effects(self) -> int:
        """Effects written twice: a task with the same title for the same deal, an email
        with the same subject to the same address, a notification with the same title
        for the same person (every title names its step and account)."""
        accounts = Account.objects.filter(name__startswith=f"{self.run} account")

        def twice(queryset, *fields) -> int:
            return (
                queryset.values(*fields).annotate(n=Count("id")).filter(n__gt=1).order_by().count()
            )

        return (
            twice(Task.objects.filter(account__in=accounts), "deal_id", "title")
            + twice(
                EmailMessage.objects.filter(
                    Q(contact__account__in=accounts) | Q(recipient__username__startswith=self.run)
                ),
                "to_email",
                "subject",
            )
            + twice(
                Notification.objects.filter(recipient__username__startswith=self.run),
                "recipient_id",
                "title",
            )
        )

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
        rows_delete(StepRun.objects.filter(enrollment=enrollment))
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


def _autovacuum() -> str | None:
    """The server's autovacuum setting: off, the work tables' statistics and dead index
    entries are left to the engine's own checks."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0]


def as_dict(result: BenchResult) -> dict:
    return asdict(result)
