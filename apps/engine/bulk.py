"""Enroll existing accounts in a playbook, in bulk.

A team that starts with Afterwin already has customers, and a programme (quarterly
business reviews, a relationship survey) must reach them too, not only deals won from now
on. A bulk run takes the accounts matching a filter, skips those the playbook's enrollment
policy refuses, and enrolls the others in chunks: one multi-row insert of enrollments and
one of their first step runs per chunk, each step's timing computed here. The step runs
are rows in state pending; the dispatcher runs them when they are due, as for any other
enrollment.

- **Idempotent.** Every enrollment of a run has the run's own ``playbook.bulk_enrolled``
  event as its trigger event (the ``one_enrollment_per_trigger`` key), and the run's cursor
  (``last_account_id``; accounts are taken in id order) moves in the transaction that
  writes a chunk. A repeated message continues where the run stands; a second run skips
  the accounts the first one enrolled.
- **Customer since** is the close date of the account's earliest won deal. An account
  without a won deal has no such date, so a "customer since" filter leaves it out.
- **Churned accounts are never enrolled**: churning cancelled their playbooks.
- The enrollment's deal is the account's latest won deal (or none), as for an account
  event; the playbook's own trigger filters do not apply, the run's filter does.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from apps.core import clock, outbox
from apps.core.errors import Conflict, DomainError, ValidationFailed
from apps.core.models import DomainEvent
from apps.core.step_kinds import StepDefinition
from apps.customers.models import Account, Product
from apps.deals.models import Deal, DealLineItem, Stage
from apps.engine.models import BulkEnrollment, Enrollment, StepRun
from apps.engine.timing import UTC, Calendar, StepTiming, step_timing
from apps.playbooks.models import Playbook, PlaybookVersion

logger = logging.getLogger(__name__)

BULK_ENROLLED_EVENT = "playbook.bulk_enrolled"
CHUNK_SIZE = 2000
MAX_SPREAD_BUSINESS_DAYS = 60
SKIP_REASONS = {
    "already_enrolled": "already enrolled in this playbook",
    "cooldown": "enrolled within the playbook's cool-down",
}


# The filter -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountFilter:
    """Which accounts a bulk run enrolls. An empty field does not filter; a field with
    several values matches any of them."""

    lifecycle_status: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    segment: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    csm: tuple[int, ...] = ()  # user ids
    products: tuple[str, ...] = ()  # SKUs bought in any won deal of the account
    customer_since_from: dt.date | None = None
    customer_since_to: dt.date | None = None

    def as_data(self) -> dict[str, Any]:
        """The JSON form (only the fields that filter), as the API takes it."""
        data: dict[str, Any] = {}
        for name in FILTER_FIELDS:
            value = getattr(self, name)
            if isinstance(value, dt.date):
                data[name] = value.isoformat()
            elif value:
                data[name] = list(value)
        return data


FILTER_FIELDS = {
    "lifecycle_status": "lifecycle statuses",
    "tier": "account tiers",
    "segment": "account segments",
    "country": "ISO country codes",
    "csm": "user ids of CSMs",
    "products": "product SKUs bought in a won deal",
    "customer_since_from": "earliest won deal closed on or after (YYYY-MM-DD)",
    "customer_since_to": "earliest won deal closed on or before (YYYY-MM-DD)",
}
ENROLLABLE_LIFECYCLES = [s for s in Account.Lifecycle.values if s != Account.Lifecycle.CHURNED]


def _as_list(value: Any) -> list[Any]:
    if value in (None, "", []):
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _choices_problem(values: list[Any], allowed: list[str], what: str) -> str | None:
    unknown = [str(v) for v in values if v not in allowed]
    if unknown:
        return f"Unknown {what} “{'”, “'.join(unknown)}”; use one of: {', '.join(allowed)}."
    return None


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def account_filter_from_data(data: Any) -> AccountFilter:
    """Read a filter from its JSON form. Raises ``ValidationFailed`` with every problem,
    keyed ``filters.<field>`` (``filters`` for the shape and unknown fields)."""
    problems: dict[str, list[str]] = {}

    def problem(name: str, message: str) -> None:
        problems.setdefault(f"filters.{name}" if name else "filters", []).append(message)

    if data in (None, ""):
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The filters are not an object.",
            {"filters": ['Filters are an object such as {"tier": ["enterprise"]}.']},
        )
    for key in data:
        if key not in FILTER_FIELDS:
            problem("", f"Unknown filter “{key}”; use: {', '.join(FILTER_FIELDS)}.")
    values = {name: _as_list(data.get(name)) for name in FILTER_FIELDS if "since" not in name}
    for name in ("lifecycle_status", "tier", "segment", "country", "products"):
        if any(not isinstance(v, str) for v in values[name]):
            problem(name, f"Give the {FILTER_FIELDS[name]} as a list of text values.")
            values[name] = []

    if Account.Lifecycle.CHURNED in values["lifecycle_status"]:
        problem(
            "lifecycle_status",
            "Churned accounts are never enrolled: their playbooks were cancelled when they "
            "churned.",
        )
        values["lifecycle_status"] = [
            v for v in values["lifecycle_status"] if v != Account.Lifecycle.CHURNED
        ]
    if message := _choices_problem(
        values["lifecycle_status"], ENROLLABLE_LIFECYCLES, "lifecycle status"
    ):
        problem("lifecycle_status", message)
    if message := _choices_problem(values["tier"], Account.Tier.values, "tier"):
        problem("tier", message)
    countries = [c.upper() for c in values["country"]]
    bad = [c for c in countries if len(c) != 2 or not c.isalpha()]
    if bad:
        problem("country", f"“{'”, “'.join(bad)}”: use two-letter ISO codes such as DE.")
    csm_ids: list[int] = []
    for value in values["csm"]:
        try:
            csm_ids.append(int(value))
        except (TypeError, ValueError):
            problem("csm", f"“{value}” is not a user id.")
    missing = sorted(
        set(csm_ids)
        - set(get_user_model().objects.filter(pk__in=csm_ids).values_list("pk", flat=True))
    )
    if missing:
        problem("csm", f"There is no user with the id {', '.join(map(str, missing))}.")
    skus = values["products"]
    unknown_skus = sorted(
        set(skus) - set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    )
    if unknown_skus:
        problem("products", f"There is no product with the SKU “{'”, “'.join(unknown_skus)}”.")
    dates: dict[str, dt.date | None] = {}
    for name in ("customer_since_from", "customer_since_to"):
        try:
            dates[name] = _date(data.get(name))
        except (TypeError, ValueError):
            problem(name, "Use a date such as 2024-01-31.")
            dates[name] = None
    since, until = dates["customer_since_from"], dates["customer_since_to"]
    if since and until and until < since:
        problem("customer_since_to", "The end of the “customer since” range is before its start.")
    if problems:
        raise ValidationFailed("These filters cannot be used.", problems)
    return AccountFilter(
        lifecycle_status=tuple(values["lifecycle_status"]),
        tier=tuple(values["tier"]),
        segment=tuple(values["segment"]),
        country=tuple(countries),
        csm=tuple(csm_ids),
        products=tuple(skus),
        customer_since_from=since,
        customer_since_to=until,
    )


# Selectors --------------------------------------------------------------------------


def _won_deals() -> QuerySet[Deal]:
    return Deal.objects.filter(account=OuterRef("pk"), stage=Stage.CLOSED_WON)


def accounts_matching(account_filter: AccountFilter) -> QuerySet[Account]:
    """The accounts a filter selects (never churned ones)."""
    f = account_filter
    accounts = Account.objects.filter(
        lifecycle_status__in=f.lifecycle_status or ENROLLABLE_LIFECYCLES
    )
    if f.tier:
        accounts = accounts.filter(tier__in=f.tier)
    if f.segment:
        accounts = accounts.filter(segment__in=f.segment)
    if f.country:
        accounts = accounts.filter(country__in=f.country)
    if f.csm:
        accounts = accounts.filter(csm_id__in=f.csm)
    if f.products:
        bought = DealLineItem.objects.filter(
            deal__account=OuterRef("pk"), deal__stage=Stage.CLOSED_WON, product__sku__in=f.products
        )
        accounts = accounts.filter(Exists(bought))
    if f.customer_since_from or f.customer_since_to:
        first_win = (
            _won_deals()
            .filter(close_date__isnull=False)
            .order_by("close_date")
            .values("close_date")
        )
        accounts = accounts.annotate(customer_since=Subquery(first_win[:1]))
        if f.customer_since_from:
            accounts = accounts.filter(customer_since__gte=f.customer_since_from)
        if f.customer_since_to:
            accounts = accounts.filter(customer_since__lte=f.customer_since_to)
    return accounts


def _with_policy(accounts: QuerySet[Account], *, playbook: Playbook, now: dt.datetime):
    """Annotate each account with its latest won deal and whether the playbook's
    enrollment policy skips it: ``already_enrolled`` (a running enrollment in the
    playbook, or under "once per deal" an earlier one for the same deal) and
    ``in_cooldown`` (enrolled within the playbook's account cool-down)."""
    earlier = Enrollment.objects.filter(playbook=playbook, account=OuterRef("pk"))
    latest_won = _won_deals().order_by(F("closed_at").desc(nulls_last=True), "-id").values("pk")
    accounts = accounts.annotate(latest_deal_id=Subquery(latest_won[:1]))
    already = Q(
        Exists(earlier.filter(state__in=[Enrollment.State.ACTIVE, Enrollment.State.PAUSED]))
    )
    if playbook.enrollment_policy == Playbook.Policy.ONCE_PER_DEAL:
        # The same rule as an event's enrollment: once per deal, or per account without one.
        already |= Q(Exists(earlier.filter(deal_id=OuterRef("latest_deal_id"))))
        already |= Q(Exists(earlier.filter(deal__isnull=True)), latest_deal_id__isnull=True)
    days = playbook.account_cooldown_days
    cooldown = (
        Q(Exists(earlier.filter(created_at__gte=now - dt.timedelta(days=days))))
        if days
        else Q(Value(False))
    )
    return accounts.annotate(
        already_enrolled=ExpressionWrapper(already, output_field=BooleanField()),
        in_cooldown=ExpressionWrapper(cooldown, output_field=BooleanField()),
    )


def account_segments() -> list[str]:
    """The segments accounts use, for a filter's choices."""
    return list(
        Account.objects.exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def account_countries() -> list[str]:
    return list(Account.objects.order_by("country").values_list("country", flat=True).distinct())


# Preview ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkRequest:
    """A checked request: an active playbook with a version, a filter, a spread."""

    playbook: Playbook
    account_filter: AccountFilter
    spread_business_days: int


@dataclass(frozen=True)
class BulkPreview:
    """What a run would do now: how many accounts match and why some would be skipped."""

    request: BulkRequest
    total: int
    already_enrolled: int
    cooldown: int

    @property
    def skipped(self) -> int:
        return self.already_enrolled + self.cooldown

    @property
    def to_enroll(self) -> int:
        return self.total - self.skipped

    @property
    def skipped_reasons(self) -> dict[str, int]:
        return {"already_enrolled": self.already_enrolled, "cooldown": self.cooldown}


def _playbook_problem(playbook: Any) -> tuple[Playbook | None, str | None]:
    if playbook in (None, ""):
        return None, "Choose a playbook."
    if not isinstance(playbook, Playbook):
        try:
            playbook_id = int(playbook)
        except (TypeError, ValueError):
            return None, f"“{playbook}” is not a playbook id."
        playbook = Playbook.objects.select_related("current_version").filter(pk=playbook_id).first()
        if playbook is None:
            return None, f"There is no playbook with the id {playbook_id}."
    if playbook.status == Playbook.Status.DRAFT:
        return None, f"“{playbook.name}” is a draft: publish it before enrolling accounts."
    if playbook.status == Playbook.Status.ARCHIVED:
        return None, f"“{playbook.name}” is archived: publish it again to enroll accounts."
    if playbook.current_version_id is None:
        return None, f"“{playbook.name}” has no published version."
    return playbook, None


def bulk_request_check(
    *, playbook: Any, filters: Any, spread_business_days: Any = 0
) -> BulkRequest:
    """Check a request. Raises ``ValidationFailed`` carrying every problem by field:
    ``playbook``, ``spread_business_days``, ``filters`` and ``filters.<field>``."""
    problems: dict[str, list[str]] = {}
    checked, message = _playbook_problem(playbook)
    if message:
        problems["playbook"] = [message]
    spread = spread_business_days if spread_business_days not in (None, "") else 0
    if (
        isinstance(spread, bool)
        or not isinstance(spread, int)
        or not 0 <= spread <= MAX_SPREAD_BUSINESS_DAYS
    ):
        problems["spread_business_days"] = [
            f"Give a whole number of business days from 0 (everyone starts now) to "
            f"{MAX_SPREAD_BUSINESS_DAYS}."
        ]
    try:
        account_filter = account_filter_from_data(filters)
    except ValidationFailed as exc:
        problems.update(exc.errors)
    if problems:
        raise ValidationFailed("These accounts cannot be enrolled.", problems)
    return BulkRequest(playbook=checked, account_filter=account_filter, spread_business_days=spread)


def bulk_request_preview(request: BulkRequest) -> BulkPreview:
    """Count the accounts a checked request matches and those the policy skips, in one
    query. An empty result is refused: there is nothing to confirm."""
    counts = _with_policy(
        accounts_matching(request.account_filter), playbook=request.playbook, now=clock.now()
    ).aggregate(
        matching=Count("pk"),
        skipped_enrolled=Count("pk", filter=Q(already_enrolled=True)),
        skipped_cooldown=Count("pk", filter=Q(in_cooldown=True, already_enrolled=False)),
    )
    if not counts["matching"]:
        raise ValidationFailed(
            "No account matches these filters.",
            {"filters": ["No account matches these filters; widen them."]},
        )
    return BulkPreview(
        request=request,
        total=counts["matching"],
        already_enrolled=counts["skipped_enrolled"],
        cooldown=counts["skipped_cooldown"],
    )


def bulk_enrollment_preview(
    *, playbook: Any, filters: Any, spread_business_days: Any = 0
) -> BulkPreview:
    """Check a request and count what it would do, changing nothing."""
    request = bulk_request_check(
        playbook=playbook, filters=filters, spread_business_days=spread_business_days
    )
    return bulk_request_preview(request)


# Starting and running ---------------------------------------------------------------


@transaction.atomic
def bulk_enrollment_start(
    *, playbook: Any, filters: Any, spread_business_days: Any = 0, actor: Any
) -> BulkEnrollment:
    """Record a bulk run (queued) and its trigger event, and send ``engine.bulk_enroll``
    after commit. Bad input raises ``ValidationFailed`` and writes nothing."""
    preview = bulk_enrollment_preview(
        playbook=playbook, filters=filters, spread_business_days=spread_business_days
    )
    request, now = preview.request, clock.now()
    actor = actor if getattr(actor, "pk", None) else None
    run = BulkEnrollment.objects.create(
        playbook=request.playbook,
        version_id=request.playbook.current_version_id,
        filters=request.account_filter.as_data(),
        spread_business_days=request.spread_business_days,
        requested_by=actor,
        total=preview.total,
        created_at=now,
    )
    # A record, not a message: nobody handles it, so it is written as processed.
    run.trigger_event = DomainEvent.objects.create(
        name=BULK_ENROLLED_EVENT,
        aggregate_type=BulkEnrollment._meta.model_name,
        aggregate_id=run.pk,
        payload={
            "playbook_id": run.playbook_id,
            "version_id": run.version_id,
            "filters": run.filters,
            "spread_business_days": run.spread_business_days,
        },
        actor=actor,
        occurred_at=now,
        processed_at=now,
    )
    run.save(update_fields=["trigger_event"])
    _send(run)
    logger.info("bulk enrollment %s queued: %s accounts match", run.pk, preview.total)
    return run


def _send(run: BulkEnrollment) -> None:
    from apps.engine.tasks import bulk_enroll

    outbox.send_after_commit(bulk_enroll, run.pk, what=f"bulk enrollment {run.pk}")


@transaction.atomic
def bulk_enrollment_resume(*, bulk_enrollment: BulkEnrollment, actor: Any = None) -> BulkEnrollment:
    """Send a run's message again (it was lost), or continue a failed run from its
    cursor. Harmless while it runs: chunks are taken in turn under a lock."""
    run = BulkEnrollment.objects.select_for_update().get(pk=bulk_enrollment.pk)
    if run.state == BulkEnrollment.State.DONE:
        raise Conflict("This run is done; start a new one to enroll the accounts that match now.")
    if run.state == BulkEnrollment.State.FAILED:
        run.state, run.error, run.finished_at = BulkEnrollment.State.QUEUED, "", None
        run.save(update_fields=["state", "error", "finished_at"])
    _send(run)
    logger.info("bulk enrollment %s resumed by %s", run.pk, actor)
    return run


def bulk_enrollment_run(*, bulk_enrollment_id: int, chunk_size: int = CHUNK_SIZE) -> str:
    """Enroll a run's accounts, one chunk per transaction, and record how it ended.
    Returns the run's state (a duplicate message finds it done and does nothing)."""
    claimed = outbox.claim_row(
        BulkEnrollment.objects.filter(state=BulkEnrollment.State.QUEUED),
        pk=bulk_enrollment_id,
        lease={
            "state": BulkEnrollment.State.RUNNING,
            "started_at": Coalesce(F("started_at"), Value(clock.now())),
        },
    )
    state = (
        BulkEnrollment.objects.filter(pk=bulk_enrollment_id).values_list("state", flat=True).first()
    )
    if state != BulkEnrollment.State.RUNNING:
        return state or "missing"
    if not claimed:
        # A redelivered message (its worker died) or a duplicate: it continues from the
        # cursor, taking chunks in turn with any other worker on the same run.
        logger.info("bulk enrollment %s: continuing a running run", bulk_enrollment_id)
    run = BulkEnrollment.objects.select_related("version").get(pk=bulk_enrollment_id)
    starts = _FirstSteps(
        version=run.version, spread_business_days=run.spread_business_days, now=clock.now()
    )
    try:
        account_filter = account_filter_from_data(run.filters)
        while _enroll_chunk(run.pk, account_filter=account_filter, starts=starts, size=chunk_size):
            pass
    except Exception as exc:
        logger.exception("bulk enrollment %s failed", bulk_enrollment_id)
        _record_failure(bulk_enrollment_id, exc)
        return BulkEnrollment.State.FAILED
    return BulkEnrollment.State.DONE


@transaction.atomic
def _enroll_chunk(
    bulk_enrollment_id: int, *, account_filter: AccountFilter, starts: "_FirstSteps", size: int
) -> bool:
    """Enroll the next ``size`` matching accounts after the cursor. Returns True while
    more may follow."""
    playbook_id = (
        BulkEnrollment.objects.filter(pk=bulk_enrollment_id)
        .values_list("playbook_id", flat=True)
        .get()
    )
    # Lock order: the playbook, then the run. Two runs into one playbook take chunks in
    # turn, so each sees what the other committed and skips those accounts.
    playbook = Playbook.objects.select_for_update().get(pk=playbook_id)
    run = BulkEnrollment.objects.select_for_update().get(pk=bulk_enrollment_id)
    if run.state != BulkEnrollment.State.RUNNING:
        return False
    if playbook.status != Playbook.Status.ACTIVE:
        raise Conflict(f"“{playbook.name}” was archived during the run.")
    now = clock.now()
    rows = list(
        _with_policy(accounts_matching(account_filter), playbook=playbook, now=now)
        .filter(pk__gt=run.last_account_id)
        .order_by("pk")
        .values_list(
            "pk", "timezone", "country", "latest_deal_id", "already_enrolled", "in_cooldown"
        )[:size]
    )
    enrollments, timings = [], []
    for account_id, timezone, country, deal_id, already_enrolled, in_cooldown in rows:
        if already_enrolled:
            run.skipped_already_enrolled += 1
            continue
        if in_cooldown:
            run.skipped_cooldown += 1
            continue
        day = starts.day_for(run.enrolled + len(enrollments))
        timings.append(starts.timings(timezone=timezone, country=country, day=day))
        enrollments.append(
            Enrollment(
                playbook=playbook,
                version_id=run.version_id,
                account_id=account_id,
                deal_id=deal_id,
                trigger_event_id=run.trigger_event_id,
                created_at=now,
            )
        )
    Enrollment.objects.bulk_create(enrollments)
    StepRun.objects.bulk_create(
        [
            StepRun(
                enrollment=enrollment,
                step_key=step.key,
                occurrence=1,
                kind=step.kind,
                due_at=timing.due,
                planned_at=timing.planned,
                moved_because=timing.moved_because,
                state=StepRun.State.PENDING,
                created_at=now,
            )
            for enrollment, first_steps in zip(enrollments, timings, strict=True)
            for step, timing in first_steps
        ],
        batch_size=size,
    )
    run.enrolled += len(enrollments)
    fields = ["enrolled", "skipped_already_enrolled", "skipped_cooldown", "last_account_id"]
    if rows:
        run.last_account_id = rows[-1][0]
    more = len(rows) == size
    if not more:
        # What matched when the run started may have changed; the counts are the truth.
        run.state, run.finished_at, run.total = BulkEnrollment.State.DONE, now, run.processed
        fields += ["state", "finished_at", "total"]
    run.save(update_fields=fields)
    logger.info(
        "bulk enrollment %s: %s enrolled, %s skipped so far", run.pk, run.enrolled, run.skipped
    )
    return more


def _record_failure(bulk_enrollment_id: int, exc: Exception) -> None:
    if isinstance(exc, SoftTimeLimitExceeded):
        error = "Stopped by the time limit; resume the run to enroll the remaining accounts."
    elif isinstance(exc, DomainError):
        error = exc.message
    else:
        error = f"{type(exc).__name__}: {exc}"
    BulkEnrollment.objects.filter(pk=bulk_enrollment_id).exclude(
        state=BulkEnrollment.State.DONE
    ).update(state=BulkEnrollment.State.FAILED, error=error[:4000], finished_at=clock.now())


@dataclass
class _FirstSteps:
    """The timing of a version's first steps for each account, computed once per time
    zone, country and start day: accounts that share them share their timings too."""

    version: PlaybookVersion
    spread_business_days: int
    now: dt.datetime
    _calendars: dict[tuple[str, str], Calendar] = field(default_factory=dict)
    _timings: dict[tuple[str, str, int], list[tuple[StepDefinition, StepTiming]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self.steps = [s for s in self.version.definitions if s.starts_at_enrollment]

    def day_for(self, index: int) -> int:
        """The start day (0 = today) of the ``index``-th account enrolled by the run:
        round robin, so each day gets as many starts as the next."""
        return index % self.spread_business_days if self.spread_business_days else 0

    def timings(
        self, *, timezone: str, country: str, day: int
    ) -> list[tuple[StepDefinition, StepTiming]]:
        key = (timezone, country, day)
        if key not in self._timings:
            calendar = self._calendars.get((timezone, country))
            if calendar is None:
                calendar = Calendar.for_place(timezone=timezone, country=country)
                self._calendars[(timezone, country)] = calendar
            base = self._start(calendar, day)
            self._timings[key] = [
                (step, step_timing(step=step, base=base, calendar=calendar)) for step in self.steps
            ]
        return self._timings[key]

    def _start(self, calendar: Calendar, day: int) -> dt.datetime:
        """Now, or with a spread the ``day``-th business day from today in the account's
        calendar (today counts if it is one), at the current local time of day."""
        if not self.spread_business_days:
            return self.now
        local = self.now.astimezone(calendar.tz)
        start = calendar.add_business_days(calendar.next_business_day(local.date()), day)
        if start == local.date():
            return self.now
        return calendar.localize(start, local.time()).astimezone(UTC)


def bulk_enrollment_summary(run: BulkEnrollment) -> str:
    """How a run ended or how far it is, in a sentence."""
    skipped = [
        f"{count:,} {SKIP_REASONS[reason]}"
        for reason, count in (
            ("already_enrolled", run.skipped_already_enrolled),
            ("cooldown", run.skipped_cooldown),
        )
        if count
    ]
    because = f" ({'; '.join(skipped)})" if skipped else ""
    counts = f"{run.enrolled:,} enrolled, {run.skipped:,} skipped{because}"
    if run.state == BulkEnrollment.State.DONE:
        return f"Done: {counts}."
    if run.state == BulkEnrollment.State.FAILED:
        return f"Failed after {counts}: {run.error}"
    if run.state == BulkEnrollment.State.QUEUED:
        return f"Queued: {run.total:,} accounts to go through."
    return f"{run.processed:,} of {run.total:,} accounts: {counts}."
