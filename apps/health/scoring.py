"""How a score is made, read-only: the raw value of every factor for many accounts in a
fixed number of queries (one aggregate per kind of input, whatever the number of
accounts), then points, weights and contributions in Python.

A factor without data (no NPS answer yet, no usage reported, not onboarding, never
touched) is **left out and its weight shared among the others**: the score is the
weighted average of the factors that have data, and the factor's line says why it did
not count. A neutral value would move the score for a reason nobody can act on. When no
factor with a weight has data, there is no score (band ``unknown``). Prospects and churned
accounts are not measured: every factor says so and they have no score.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum

from apps.core import clock
from apps.customers.models import Account
from apps.engine.models import Enrollment, StepRun
from apps.growth.models import UsageSnapshot
from apps.health.models import Band, FactorKey, HealthFactor, HealthSettings
from apps.queues.models import Task
from apps.surveys.models import Kind as SurveyKind
from apps.surveys.models import Response

OPEN = list(Task.OPEN_STATUSES)
FINISHED_TASK = [Task.Status.DONE, Task.Status.SKIPPED]


@dataclass(frozen=True)
class FactorResult:
    """One factor's line for one account: what was measured, what it is worth and why."""

    key: str
    label: str
    has_data: bool
    raw: float | None  # the measured value (a count, days, a percentage, an NPS score)
    value: str  # the raw value as a person reads it: "3 overdue tasks", "passive (8)"
    points: float | None  # 0–100
    weight: float  # as configured
    share: float  # % of the score this factor carries after redistribution (0 if left out)
    contribution: float  # points × share: the score is the sum of the contributions
    why: str


@dataclass(frozen=True)
class Computed:
    account_id: int
    score: int | None
    band: str
    factors: list[FactorResult] = field(default_factory=list)

    def factors_json(self) -> list[dict]:
        return [asdict(factor) for factor in self.factors]


@dataclass
class Inputs:
    """The raw inputs of a batch of accounts, read with one query per kind of input."""

    lifecycle: dict[int, str] = field(default_factory=dict)
    nps: dict[int, tuple[int, str, dt.datetime]] = field(default_factory=dict)
    overdue: dict[int, int] = field(default_factory=dict)
    escalations: dict[int, int] = field(default_factory=dict)
    plan: dict[int, tuple[int, int]] = field(default_factory=dict)  # (due, done)
    usage: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # used, licensed, n
    last_task: dict[int, dt.datetime] = field(default_factory=dict)
    last_answer: dict[int, dt.datetime] = field(default_factory=dict)


def inputs_read(*, account_ids: list[int], factors: list[HealthFactor], now: dt.datetime) -> Inputs:
    """Every factor's raw input for ``account_ids``: seven queries, however many."""
    inputs = Inputs()
    inputs.lifecycle = dict(
        Account.objects.filter(pk__in=account_ids).values_list("pk", "lifecycle_status")
    )
    escalation_queue = (
        next((f.queue_slug for f in factors if f.key == FactorKey.ESCALATIONS), "") or "escalations"
    )

    # Overdue and escalated work in one pass over the accounts' open tasks.
    for row in (
        Task.objects.filter(account_id__in=account_ids, status__in=OPEN)
        .values("account_id")
        .annotate(
            overdue=Count("pk", filter=Q(due_at__lt=now)),
            escalations=Count("pk", filter=Q(queue__slug=escalation_queue)),
        )
    ):
        inputs.overdue[row["account_id"]] = row["overdue"]
        inputs.escalations[row["account_id"]] = row["escalations"]

    latest_nps = (
        Response.objects.filter(account_id=OuterRef("account_id"), kind=SurveyKind.NPS)
        .order_by("-answered_at", "-id")
        .values("pk")[:1]
    )
    for account_id, score, band, answered_at in (
        Response.objects.filter(account_id__in=account_ids, kind=SurveyKind.NPS)
        .filter(pk=Subquery(latest_nps))
        .values_list("account_id", "score", "band", "answered_at")
    ):
        inputs.nps[account_id] = (score, band, answered_at)

    # The onboarding plan: the steps of the account's enrollments (running or finished:
    # an enrollment is complete once its last step ran, while the tasks it made may still
    # be open; cancelled ones are left out) that were due by now. A step that made a task
    # is due when its task is (a kickoff call due in two days is not late today) and done
    # when the task is closed; any other step is done when its run finished.
    task_closed = Q(task__status__in=FINISHED_TASK)
    for row in (
        StepRun.objects.filter(enrollment__account_id__in=account_ids, due_at__lte=now)
        .exclude(enrollment__state=Enrollment.State.CANCELLED)
        .exclude(state=StepRun.State.CANCELLED)
        .filter(
            Q(task__isnull=True)
            | Q(task__due_at__isnull=True)
            | Q(task__due_at__lte=now)
            | task_closed
        )
        .values(account_id=F("enrollment__account_id"))
        .annotate(
            due=Count("pk"),
            done=Count(
                "pk",
                filter=Q(state__in=[StepRun.State.DONE, StepRun.State.SKIPPED])
                & (Q(task__isnull=True) | task_closed),
            ),
        )
    ):
        inputs.plan[row["account_id"]] = (row["due"], row["done"])

    latest_usage = (
        UsageSnapshot.objects.filter(
            account_id=OuterRef("account_id"), product_id=OuterRef("product_id")
        )
        .order_by("-measured_at", "-id")
        .values("pk")[:1]
    )
    for row in (
        UsageSnapshot.objects.filter(account_id__in=account_ids, licensed_units__gt=0)
        .filter(pk=Subquery(latest_usage))
        .values("account_id")
        .annotate(used=Sum("used_units"), licensed=Sum("licensed_units"), products=Count("pk"))
    ):
        inputs.usage[row["account_id"]] = (row["used"], row["licensed"], row["products"])

    inputs.last_task = dict(
        Task.objects.filter(account_id__in=account_ids, status=Task.Status.DONE)
        .values("account_id")
        .annotate(last=Max("completed_at"))
        .values_list("account_id", "last")
    )
    inputs.last_answer = dict(
        Response.objects.filter(account_id__in=account_ids)
        .values("account_id")
        .annotate(last=Max("answered_at"))
        .values_list("account_id", "last")
    )
    return inputs


def ramp(raw: float, *, full_at: Decimal | None, zero_at: Decimal | None) -> float:
    """Points on a straight line: 100 at ``full_at``, 0 at ``zero_at``, clamped."""
    full = float(full_at if full_at is not None else 0)
    zero = float(zero_at if zero_at is not None else 0)
    if full == zero:
        return 100.0 if raw == full else 0.0
    points = 100 * (raw - zero) / (full - zero)
    return max(0.0, min(100.0, points))


def _n(value: float | Decimal) -> str:
    return f"{float(value):g}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Measure:
    """A factor's measurement before weighting: None for raw and points means no data."""

    raw: float | None
    value: str
    points: float | None
    why: str


# Health is a customer's: a prospect has nothing to measure yet and a churned account
# nothing left to save. Their factors are all left out (no score), saying why.
MEASURED = (Account.Lifecycle.ONBOARDING, Account.Lifecycle.ACTIVE, Account.Lifecycle.AT_RISK)


def _on_scale(factor: HealthFactor, raw: float, value: str, what: str, unit: str = "") -> Measure:
    """A measured raw value, its points on the factor's line and why, with the scale."""
    full, zero = _n(factor.full_at or 0), _n(factor.zero_at or 0)
    return Measure(
        float(raw),
        value,
        ramp(raw, full_at=factor.full_at, zero_at=factor.zero_at),
        f"{what} (full marks at {full}{unit}, none at {zero}{unit}).",
    )


def _left_out(value: str, why: str) -> Measure:
    return Measure(None, value, None, f"{why}: left out.")


def measure(factor: HealthFactor, account_id: int, inputs: Inputs, now: dt.datetime) -> Measure:
    key = factor.key
    lifecycle = inputs.lifecycle.get(account_id)
    if lifecycle not in MEASURED:
        label = Account.Lifecycle(lifecycle).label.lower() if lifecycle else "unknown"
        return Measure(
            None,
            f"not measured ({label})",
            None,
            f"Health is measured for customers only; this account is {label}.",
        )
    if key == FactorKey.NPS:
        answer = inputs.nps.get(account_id)
        if answer is None:
            return _left_out("no answer yet", "No NPS answer yet")
        score, band, answered_at = answer
        points = {"promoter": 100.0, "passive": float(factor.passive_points)}.get(band, 0.0)
        why = f"Latest NPS answer {score} on {answered_at:%d %b %Y}: a {band}."
        return Measure(float(score), f"{band} ({score})", points, why)
    if key == FactorKey.OVERDUE_TASKS:
        count = inputs.overdue.get(account_id, 0)
        what = f"{_plural(count, 'open task')} past due"
        return _on_scale(factor, count, _plural(count, "overdue task"), what)
    if key == FactorKey.ESCALATIONS:
        count = inputs.escalations.get(account_id, 0)
        what = f"{_plural(count, 'open task')} in the {factor.queue_slug or 'escalations'} queue"
        return _on_scale(factor, count, _plural(count, "open escalation"), what)
    if key == FactorKey.ONBOARDING:
        if lifecycle != Account.Lifecycle.ONBOARDING:
            return _left_out("not onboarding", "Not onboarding")
        due, done = inputs.plan.get(account_id, (0, 0))
        if not due:
            return _left_out("nothing due yet", "No onboarding step was due yet")
        percent = round(100 * done / due, 1)
        what = f"{done} of {_plural(due, 'step')} due by now are done"
        return _on_scale(factor, percent, f"{_n(percent)} % of plan", what, " %")
    if key == FactorKey.USAGE:
        usage = inputs.usage.get(account_id)
        if usage is None:
            return _left_out("no usage reported", "No usage reported yet")
        used, licensed, products = usage
        percent = round(100 * used / licensed, 1)
        what = f"{used} of {licensed} licensed units in use across {_plural(products, 'product')}"
        return _on_scale(factor, percent, f"{_n(percent)} % used", what, " %")
    if key == FactorKey.LAST_TOUCH:
        task, answer = inputs.last_task.get(account_id), inputs.last_answer.get(account_id)
        if task is None and answer is None:
            return _left_out("never touched", "No completed task or answered survey yet")
        last = max(t for t in (task, answer) if t is not None)
        days = max(0, (now - last).days)
        how = "a completed task" if last == task else "an answered survey"
        what = f"Last touch {last:%d %b %Y} ({how}), {_plural(days, 'day')} ago"
        return _on_scale(factor, days, _plural(days, "day"), what, " days")
    raise ValueError(f"Unknown health factor {key!r}.")


def score_account(
    *,
    account_id: int,
    factors: list[HealthFactor],
    thresholds: HealthSettings,
    inputs: Inputs,
    now: dt.datetime,
) -> Computed:
    """Weigh the factors that have data; the left-out factors' weight is shared among
    them in proportion to their own weights."""
    measures = [(factor, measure(factor, account_id, inputs, now)) for factor in factors]
    counted = sum(float(f.weight) for f, m in measures if m.points is not None)
    results, total = [], 0.0
    for factor, m in measures:
        weight = float(factor.weight)
        share = weight / counted if counted and m.points is not None else 0.0
        contribution = (m.points or 0.0) * share
        total += contribution
        why = m.why
        if m.points is not None and not weight:
            why += " Weight 0: not counted."
        results.append(
            FactorResult(
                key=factor.key,
                label=factor.label,
                has_data=m.points is not None,
                raw=m.raw,
                value=m.value,
                points=None if m.points is None else round(m.points, 1),
                weight=weight,
                share=round(100 * share, 1),
                contribution=round(contribution, 1),
                why=why,
            )
        )
    score = int(total + 0.5) if counted else None  # half up, as people round
    return Computed(
        account_id=account_id, score=score, band=thresholds.band_of(score), factors=results
    )


def health_compute(
    *, account_ids: Iterable[int], now: dt.datetime | None = None
) -> dict[int, Computed]:
    """The score of each account, computed now and written nowhere."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    now = now or clock.now()
    factors = list(HealthFactor.objects.all())
    thresholds = HealthSettings.current()
    inputs = inputs_read(account_ids=ids, factors=factors, now=now)
    return {
        account_id: score_account(
            account_id=account_id,
            factors=factors,
            thresholds=thresholds,
            inputs=inputs,
            now=now,
        )
        for account_id in ids
        if account_id in inputs.lifecycle
    }


__all__ = ["Band", "Computed", "FactorResult", "health_compute"]
