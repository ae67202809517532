from django.db.models import QuerySet

from apps.deals.models import Deal, StageChange


def deal_list() -> QuerySet[Deal]:
    return Deal.objects.select_related(
        "account", "owner", "primary_contact", "win_reason", "loss_reason"
    )


def deal_timeline(*, deal: Deal) -> QuerySet[StageChange]:
    """The deal's stage history, oldest first."""
    return deal.stage_changes.select_related("actor").order_by("occurred_at", "id")
