"""Account reads for the workspace pages: the filtered account list and the account's
360 view. Each section of the 360 reads one bounded query, whatever the account's size;
what the viewer may not see (tasks outside their queues, emails, responses, referrals
without the permission) is left out, not hidden in the template."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.deals.selectors import account_revenue, with_arr_and_renewal
from apps.engine.models import Enrollment
from apps.engine.selectors import enrollment_timeline
from apps.growth.models import Referral, UsageSnapshot
from apps.growth.services import latest_snapshots
from apps.growth.suggestions import suggestions_for
from apps.health.selectors import HealthPanel, account_health_panel
from apps.notifications.models import EmailMessage
from apps.queues.models import Task
from apps.queues.selectors import tasks_visible_to
from apps.surveys.models import Response
from apps.workspace.models import AccountNote

# How many rows each section of the account page shows (the newest); each section links
# to the full list where the product has one.
SECTION_ROWS = 20
FINISHED_ENROLLMENTS = 5

SORTS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "arr": (F("arr_total").asc(nulls_first=True), "name", "id"),
    "-arr": (F("arr_total").desc(nulls_last=True), "name", "id"),
    "renewal": (F("renewal_date").asc(nulls_last=True), "name", "id"),
    "-renewal": (F("renewal_date").desc(nulls_last=True), "name", "id"),
    # Worst first: a score nobody could compute (no data) and a health never computed
    # come after the scored accounts either way.
    "health": (F("health__score").asc(nulls_last=True), "name", "id"),
    "-health": (F("health__score").desc(nulls_last=True), "name", "id"),
}
# The health filter's "not computed": no AccountHealth row yet.
NOT_COMPUTED = "none"


@dataclass(frozen=True)
class AccountFilters:
    search: str = ""
    lifecycle: str = ""
    tier: str = ""
    segment: str = ""
    country: str = ""
    csm_id: int | None = None
    owner_id: int | None = None
    renewal_within_days: int | None = None
    health_band: str = ""
    sort: str = "name"


def account_list(*, filters: AccountFilters, today: dt.date) -> QuerySet[Account]:
    """Accounts matching ``filters``, sorted, with their CSM, owner and health loaded and
    ``arr_total`` and ``renewal_date`` annotated: one query per page."""
    accounts = with_arr_and_renewal(
        Account.objects.select_related("csm", "owner", "health"), today=today
    )
    if filters.health_band == NOT_COMPUTED:
        accounts = accounts.filter(health__isnull=True)
    elif filters.health_band:
        accounts = accounts.filter(health__band=filters.health_band)
    if filters.search:
        accounts = accounts.filter(
            Q(name__icontains=filters.search) | Q(domain__icontains=filters.search)
        )
    for field, value in (
        ("lifecycle_status", filters.lifecycle),
        ("tier", filters.tier),
        ("segment", filters.segment),
        ("country", filters.country),
        ("csm_id", filters.csm_id),
        ("owner_id", filters.owner_id),
    ):
        if value:
            accounts = accounts.filter(**{field: value})
    if filters.renewal_within_days is not None:
        accounts = accounts.filter(
            renewal_date__gte=today,
            renewal_date__lte=today + dt.timedelta(days=filters.renewal_within_days),
        )
    return accounts.order_by(*SORTS.get(filters.sort, SORTS["name"]))


# The account page ----------------------------------------------------------------------


def account_for_page(*, pk: int) -> Account | None:
    return Account.objects.select_related("csm", "owner").filter(pk=pk).first()


def account_contacts(*, account: Account) -> list[Contact]:
    return list(account.contacts.order_by("-is_primary", "name")[:SECTION_ROWS])


def account_deals(*, account: Account) -> list[Deal]:
    """The account's deals, newest first, with what they were won or lost for."""
    return list(
        account.deals.select_related("owner", "win_reason", "loss_reason").order_by(
            "-created_at", "-id"
        )[:SECTION_ROWS]
    )


def account_enrollments(*, account: Account) -> dict[str, list[dict[str, Any]]]:
    """Running enrollments (active or paused) and the latest finished ones, each with its
    playbook timeline (the task page's presenter)."""
    running_states = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)
    running_ids = list(
        account.enrollments.filter(state__in=running_states)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:SECTION_ROWS]
    )
    finished_ids = list(
        account.enrollments.exclude(state__in=running_states)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:FINISHED_ENROLLMENTS]
    )
    timeline = enrollment_timeline(
        enrollments=Enrollment.objects.filter(pk__in=[*running_ids, *finished_ids]).order_by(
            "-created_at", "-id"
        )
    )
    return {
        "running": [entry for entry in timeline if entry["enrollment"].pk in running_ids],
        "finished": [entry for entry in timeline if entry["enrollment"].pk in finished_ids],
    }


def account_tasks(*, account: Account, user: Any) -> dict[str, list[Task]]:
    """The account's open tasks (most urgent first) and done ones (latest first), among
    the tasks ``user`` may see."""
    visible = tasks_visible_to(user).filter(account=account)
    return {
        "open": list(
            visible.filter(status__in=Task.OPEN_STATUSES).order_by("priority", "due_at", "id")[
                :SECTION_ROWS
            ]
        ),
        "done": list(
            # Finished tasks always have completed_at; saying so lets the index on
            # (account, completed_at desc, id desc) serve the order and stop at a page.
            visible.filter(
                status__in=(Task.Status.DONE, Task.Status.SKIPPED), completed_at__isnull=False
            ).order_by("-completed_at", "-id")[:SECTION_ROWS]
        ),
    }


def account_emails(*, account: Account) -> list[EmailMessage]:
    """Emails to the account's contacts, newest first, with their delivery state."""
    return list(
        EmailMessage.objects.filter(contact__account=account)
        .select_related("contact")
        .order_by("-created_at", "-id")[:SECTION_ROWS]
    )


def account_responses(*, account: Account) -> list[Response]:
    return list(
        Response.objects.filter(account=account)
        .select_related("contact")
        .order_by("-answered_at", "-id")[:SECTION_ROWS]
    )


def account_usage(*, account: Account) -> list[UsageSnapshot]:
    """The latest usage snapshot of each product the account uses."""
    return list(
        latest_snapshots(UsageSnapshot.objects.filter(account=account))
        .select_related("product")
        .order_by("product__name")
    )


def account_suggestions(*, account: Account, now: dt.datetime) -> list[Any]:
    return suggestions_for(account, now=now)


def account_referrals(*, account: Account) -> dict[str, list[Referral]]:
    """Referrals the account's contacts made, and the referral that brought it in."""
    related = ("referrer_contact", "referrer_account", "account", "deal")
    return {
        "made": list(
            Referral.objects.filter(referrer_account=account)
            .select_related(*related)
            .order_by("-submitted_at", "-id")[:SECTION_ROWS]
        ),
        "received": list(
            Referral.objects.filter(account=account)
            .select_related(*related)
            .order_by("-submitted_at", "-id")[:SECTION_ROWS]
        ),
    }


def account_notes(*, account: Account) -> list[AccountNote]:
    return list(
        AccountNote.objects.filter(account=account)
        .select_related("author")
        .order_by("-created_at", "-id")[:SECTION_ROWS]
    )


def account_figures(*, account: Account, today: dt.date) -> dict[str, Any]:
    revenue = account_revenue(account_ids=[account.pk], today=today).get(account.pk)
    return {
        "arr": sorted(revenue.arr.items()) if revenue else [],
        "renewal_date": revenue.renewal_date if revenue else None,
    }


def account_health(*, account: Account) -> HealthPanel:
    """The health section: score, band, each factor's value and contribution, and the
    daily history chart (the health app's panel)."""
    return account_health_panel(account=account, days=90)
