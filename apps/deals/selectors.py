from django.db.models import Prefetch, QuerySet

from apps.deals.models import Deal, DealFieldChange, DealLineItem, Stage, StageChange


def deal_list() -> QuerySet[Deal]:
    return Deal.objects.select_related(
        "account", "owner", "primary_contact", "win_reason", "loss_reason"
    )


def deal_timeline(*, deal: Deal) -> QuerySet[StageChange]:
    """The deal's stage history, oldest first."""
    return deal.stage_changes.select_related("actor").order_by("occurred_at", "id")


def deal_field_changes(*, deal: Deal) -> QuerySet[DealFieldChange]:
    """Changes to the deal's fields and line items, oldest first."""
    return deal.field_changes.select_related("actor").order_by("occurred_at", "id")


def deal_list_with_line_items() -> QuerySet[Deal]:
    """Deals with their line items and products loaded, for detail views."""
    return deal_list().prefetch_related(
        Prefetch("line_items", queryset=DealLineItem.objects.select_related("product"))
    )


def deal_latest_won(*, account) -> Deal | None:
    """The account's most recently won deal: the deal an account event's enrollment
    works with (its owner, its products)."""
    return (
        Deal.objects.select_related("account")
        .filter(account=account, stage=Stage.CLOSED_WON)
        .order_by("-closed_at", "-id")
        .first()
    )
