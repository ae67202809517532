"""Reads of bulk enrollment: the accounts a filter matches, what the enrollment policy
says about each, the preview counts, a run's summary."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

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

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.customers.models import Account
from apps.deals.models import Deal, DealLineItem, Stage
from apps.engine.bulk.filters import ENROLLABLE_LIFECYCLES, AccountFilter, account_filter_from_data
from apps.engine.models import BulkEnrollment, Enrollment
from apps.playbooks.models import Playbook

MAX_SPREAD_BUSINESS_DAYS = 60
SKIP_REASONS = {
    "already_enrolled": "already enrolled in this playbook",
    "cooldown": "enrolled within the playbook's cool-down",
}


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


def accounts_with_policy(accounts: QuerySet[Account], *, playbook: Playbook, now: dt.datetime):
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
    counts = accounts_with_policy(
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
