"""The insights benchmark: N deals over two years (won, lost and open, with reasons, reps,
segments, product families and the accounts' onboarding moves), their enrollments with
ten step runs each and open and done tasks, written by PostgreSQL itself with a few
``INSERT … SELECT`` statements; then each insights page and the team dashboard timed as
a leader opens them (Django's test client, so rendering included)."""

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from apps.benchmarks.engine.data import (
    PREFIX,
    PlaybookShape,
    bench_data_delete,
    playbook_create,
    tables_vacuum,
)
from apps.benchmarks.stats import timed
from apps.customers.models import ProductFamily
from apps.deals.models import Deal, LossReason, WinReason
from apps.engine.models import StepRun
from apps.insights.services import funnel_counts_rebuild
from apps.queues.models import Queue, Task

RUN = f"{PREFIX}insights"
STEPS = 10
SEGMENTS = ("Retail", "Software", "Fintech", "Logistics", "Healthcare", "Public")


@dataclass
class InsightsBenchResult:
    deals: int
    step_runs: int
    tasks: int
    insert_s: float
    funnel_count_s: float
    timings_ms: dict[str, dict[str, float]] = field(default_factory=dict)


def _ids(rows) -> list[int]:
    return [row.pk for row in rows]


def data_create(*, deals: int, log: Callable[[str], None]) -> None:
    """``deals`` deals (45 % won, 35 % lost, the rest open) over two years on deals ÷ 5
    accounts, one enrollment per deal in a ten-step playbook (so ten step runs per deal:
    1,000,000 for 100,000 deals), and a task for each enrollment's first two steps."""
    User = get_user_model()
    reps = _ids(User.objects.bulk_create([User(username=f"{RUN}-rep-{i}") for i in range(20)]))
    csms = _ids(User.objects.bulk_create([User(username=f"{RUN}-csm-{i}") for i in range(10)]))
    families = _ids(
        ProductFamily.objects.bulk_create(
            [ProductFamily(name=f"{RUN} family {i}") for i in range(5)]
        )
    )
    win = _ids(WinReason.objects.bulk_create([WinReason(name=f"{RUN} win {i}") for i in range(6)]))
    loss = _ids(
        LossReason.objects.bulk_create([LossReason(name=f"{RUN} loss {i}") for i in range(6)])
    )
    playbook = playbook_create(run=RUN, shape=PlaybookShape(kinds=("task",), steps=STEPS))
    queue = Queue.objects.get(slug=f"{RUN}-onboarding")
    queue.members.add(*csms)
    playbook.refresh_from_db()
    version_id = playbook.current_version_id
    accounts = max(1, deals // 5)
    with transaction.atomic(), connection.cursor() as cursor:
        log(f"{accounts} accounts, products")
        cursor.execute(
            """
            INSERT INTO customers_product
              (created_at, updated_at, sku, name, family_id, list_price, currency, active)
            SELECT now(), now(), %s || '-sku-' || g, 'Product ' || g,
                   (%s::bigint[])[1 + g %% 5], 1000, 'USD', true
            FROM generate_series(0, 9) g
            """,
            [RUN, families],
        )
        cursor.execute(
            """
            INSERT INTO customers_account
              (created_at, updated_at, name, domain, timezone, country, tier, segment,
               lifecycle_status, csm_id, owner_id)
            SELECT now() - interval '800 days', now(), %s || '-account-' || g, '', 'UTC',
                   'US', 'smb', (%s::text[])[1 + g %% 6],
                   (ARRAY['prospect','onboarding','active','active','at_risk'])[1 + g %% 5],
                   (%s::bigint[])[1 + g %% 10], (%s::bigint[])[1 + g %% 20]
            FROM generate_series(1, %s) g
            """,
            [RUN, list(SEGMENTS), csms, reps, accounts],
        )
        log(f"{deals} deals")
        # Deal g: created up to 730 days ago, closed 7 to 126 days later (if that is
        # past); won when g % 20 < 9, lost when < 16, else open.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_deal ON COMMIT DROP AS
            SELECT g,
                   CASE WHEN g %% 20 < 9 THEN 'closed_won' WHEN g %% 20 < 16 THEN 'closed_lost'
                        ELSE 'negotiation' END AS stage,
                   now() - ((g * 7919) %% 730) * interval '1 day' AS created_at,
                   (7 + (g * 31) %% 120) * interval '1 day' AS cycle
            FROM generate_series(1, %s) g
            """,
            [deals],
        )
        cursor.execute(
            """
            INSERT INTO deals_deal
              (created_at, updated_at, name, kind, pipeline, source, stage, amount, currency,
               close_date, win_notes, loss_notes, closed_at, account_id, owner_id,
               win_reason_id, loss_reason_id, term_months)
            SELECT d.created_at, now(), %s || '-deal-' || d.g,
                   (ARRAY['new_business','new_business','expansion','renewal'])[1 + d.g %% 4],
                   'sales', 'sales', d.stage, 500 + (d.g * 37) %% 20000, 'USD',
                   CASE WHEN d.stage <> 'negotiation' THEN (d.created_at + d.cycle)::date END,
                   '', '',
                   CASE WHEN d.stage <> 'negotiation' THEN LEAST(now(), d.created_at + d.cycle)
                   END,
                   a.first + d.g %% %s, (%s::bigint[])[1 + d.g %% 20],
                   CASE WHEN d.stage = 'closed_won' THEN (%s::bigint[])[1 + (d.g / 20) %% 6] END,
                   CASE WHEN d.stage = 'closed_lost' THEN (%s::bigint[])[1 + (d.g / 20) %% 6] END,
                   12
            FROM bench_deal d
            CROSS JOIN (SELECT min(id) AS first FROM customers_account WHERE name LIKE %s) a
            """,
            [RUN, accounts, reps, win, loss, f"{RUN}-account-%"],
        )
        cursor.execute(
            """
            INSERT INTO deals_deallineitem (quantity, unit_price, deal_id, product_id)
            SELECT 1 + d.id %% 3, 1000, d.id, p.first + d.id %% 10
            FROM deals_deal d
            CROSS JOIN (SELECT min(id) AS first FROM customers_product WHERE sku LIKE %s) p
            WHERE d.name LIKE %s
            """,
            [f"{RUN}-sku-%", f"{RUN}-deal-%"],
        )
        log("onboarding moves")
        # A won new-business deal moves its account into onboarding at the close; four
        # in five finish 5 to 64 days later.
        cursor.execute(
            """
            INSERT INTO customers_accountlifecyclechange
              (from_status, to_status, reason, at, account_id, actor_id)
            SELECT 'prospect', 'onboarding', '', d.closed_at, d.account_id, NULL::integer
            FROM deals_deal d
            WHERE d.name LIKE %s AND d.stage = 'closed_won' AND d.kind = 'new_business'
            UNION ALL
            SELECT 'onboarding', 'active', '',
                   d.closed_at + (5 + d.id %% 60) * interval '1 day', d.account_id, NULL::integer
            FROM deals_deal d
            WHERE d.name LIKE %s AND d.stage = 'closed_won' AND d.kind = 'new_business'
              AND d.id %% 5 <> 0
            """,
            [f"{RUN}-deal-%", f"{RUN}-deal-%"],
        )
        log("events and enrollments")
        cursor.execute(
            """
            INSERT INTO core_domainevent
              (name, aggregate_type, aggregate_id, payload, occurred_at, processed_at,
               attempts, last_error)
            SELECT 'deal.closed_won', 'deal', d.id, '{}', COALESCE(d.closed_at, d.created_at),
                   COALESCE(d.closed_at, d.created_at), 0, ''
            FROM deals_deal d WHERE d.name LIKE %s
            """,
            [f"{RUN}-deal-%"],
        )
        cursor.execute(
            """
            INSERT INTO engine_enrollment
              (created_at, updated_at, state, context, generation, cancelled_reason,
               account_id, deal_id, playbook_id, trigger_event_id, version_id)
            SELECT e.occurred_at, now(), 'active', '{}', 0, '', d.account_id, d.id, %s, e.id, %s
            FROM core_domainevent e
            JOIN deals_deal d ON d.id = e.aggregate_id
            WHERE e.aggregate_type = 'deal' AND d.name LIKE %s
            """,
            [playbook.pk, version_id, f"{RUN}-deal-%"],
        )
        log(f"{deals * STEPS} step runs")
        # Step s of enrollment n: the further the step, the more are pending or skipped.
        cursor.execute(
            """
            INSERT INTO engine_steprun
              (step_key, occurrence, kind, due_at, state, attempts, generation, last_error,
               result, created_at, enrollment_id, moved_because, priority)
            SELECT 's' || s, 1, 'task', e.created_at + s * interval '3 days',
                   CASE WHEN (e.id + s) %% 50 = 0 THEN 'dead'
                        WHEN (e.id * 7 + s) %% 10 < s / 3 THEN 'pending'
                        WHEN (e.id + s * 3) %% 9 = 0 THEN 'skipped'
                        ELSE 'done' END,
                   1, 0, '', '{}', e.created_at, e.id, '', 1
            FROM engine_enrollment e
            CROSS JOIN generate_series(1, %s) s
            WHERE e.playbook_id = %s
            """,
            [STEPS, playbook.pk],
        )
        log("tasks")
        # One task per enrollment's first two steps: done within or past an SLA, or open.
        cursor.execute(
            """
            INSERT INTO queues_task
              (created_at, updated_at, title, body, kind, assignment_reason, priority, due_at,
               status, outcome, outcome_notes, completed_at, cancelled_reason, account_id,
               assignee_id, completed_by_id, queue_id, skipped_reason, sla_due_at)
            SELECT r.created_at, now(), 'Bench task ' || r.id, '', 'general', '', 3,
                   now() + ((r.id %% 40) - 20) * interval '1 day',
                   CASE WHEN r.state = 'done' THEN 'done' ELSE 'open' END, '', '',
                   CASE WHEN r.state = 'done' THEN now() - (r.id %% 30) * interval '1 day' END,
                   '', e.account_id, (%s::bigint[])[1 + r.id %% 10],
                   CASE WHEN r.state = 'done' THEN (%s::bigint[])[1 + r.id %% 10] END, %s, '',
                   now() - ((r.id %% 30) - 1) * interval '1 day'
            FROM engine_steprun r JOIN engine_enrollment e ON e.id = r.enrollment_id
            WHERE e.playbook_id = %s AND r.step_key IN ('s1', 's2')
            """,
            [csms, csms, queue.pk, playbook.pk],
        )


def bench_data_delete_all() -> None:
    """What the engine bench's clean-up does not know: the reasons."""
    bench_data_delete()
    WinReason.objects.filter(name__startswith=RUN).delete()
    funnel_counts_rebuild()  # the counts of the deleted step runs go too
    LossReason.objects.filter(name__startswith=RUN).delete()


PAGES = {
    "deals": "/insights/",
    "deals_year_segment_by_family": "/insights/?since={year_ago}&segment=Retail&by=family",
    "deals_by_rep": "/insights/?by=rep",
    "deals_by_quarter": "/insights/?by=quarter",
    "onboarding": "/insights/onboarding/",
    "onboarding_year_segment": "/insights/onboarding/?since={year_ago}&segment=Software",
    "growth": "/insights/growth/",
    "export_win_reasons_by_family": "/insights/export/win-reasons.csv?by=family",
    "team_dashboard": "/team/",
}


def run(*, deals: int, repeats: int, log: Callable[[str], None]) -> InsightsBenchResult:
    if connection.vendor != "postgresql":
        raise RuntimeError("insights_bench needs PostgreSQL (DATABASE_URL=postgres://…).")
    bench_data_delete_all()
    started = time.perf_counter()
    data_create(deals=deals, log=log)
    insert_s = time.perf_counter() - started
    log(f"written in {insert_s:.0f} s; vacuum analyze")
    tables_vacuum()
    started = time.perf_counter()
    funnel_counts_rebuild()
    funnel_s = time.perf_counter() - started
    log(f"funnel counted in {funnel_s:.1f} s")
    result = InsightsBenchResult(
        deals=Deal.objects.filter(name__startswith=RUN).count(),
        step_runs=StepRun.objects.filter(enrollment__playbook__name__startswith=RUN).count(),
        tasks=Task.objects.filter(queue__slug__startswith=RUN).count(),
        insert_s=round(insert_s, 1),
        funnel_count_s=round(funnel_s, 1),
    )
    viewer = get_user_model().objects.create_superuser(f"{RUN}-viewer", "", None)
    client = Client(HTTP_HOST="localhost")  # an allowed host outside the test runner
    client.force_login(viewer)
    year_ago = (dt.date.today() - dt.timedelta(days=365)).isoformat()

    def page(url: str) -> Callable[[], None]:
        def get() -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                b"".join(response.streaming_content)

        return get

    for name, url in PAGES.items():
        log(f"timing {name}")
        result.timings_ms[name] = timed(page(url.format(year_ago=year_ago)), repeats)
    return result
