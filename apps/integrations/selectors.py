"""Reads for the admin and for the deal pages."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.urls import reverse

from apps.core.links import absolute_url
from apps.deals.origins import Origin
from apps.integrations.models import (
    CrmConnection,
    CrmLink,
    InboundDelivery,
    InboundEvent,
    InboundRejection,
    Vendor,
)


def receiving_url(vendor: str) -> str:
    """The URL to give the CRM."""
    return absolute_url(reverse("integrations:receive", args=[vendor]))


COUNTED = ("processed", "ignored", "blocked", "failed", "pending", "rejected")


def with_counts(connections: QuerySet) -> QuerySet:
    """Each connection with ``n_<state>`` (its events in that state) and ``n_rejected``
    (its refused requests), in the one query of a list."""
    annotations = {}
    for state in COUNTED[:-1]:
        annotations[f"n_{state}"] = Subquery(
            InboundEvent.objects.filter(connection=OuterRef("pk"), state=state)
            .values("connection")
            .annotate(n=Count("id"))
            .values("n"),
            output_field=IntegerField(),
        )
    annotations["n_rejected"] = Subquery(
        InboundRejection.objects.filter(connection=OuterRef("pk"))
        .values("connection")
        .annotate(n=Sum("count"))
        .values("n"),
        output_field=IntegerField(),
    )
    return connections.annotate(**annotations)


def connection_counts(connection_ids: list[int]) -> dict[int, dict[str, int]]:
    """Events per state and refused requests, per connection: two queries."""
    counts: dict[int, dict[str, int]] = {pk: {} for pk in connection_ids}
    rows = (
        InboundEvent.objects.filter(connection_id__in=connection_ids)
        .values("connection_id")
        .annotate(
            **{state: Count("id", filter=Q(state=state)) for state in InboundEvent.State.values}
        )
    )
    for row in rows:
        counts[row.pop("connection_id")].update(row)
    refused = (
        InboundRejection.objects.filter(connection_id__in=connection_ids)
        .values("connection_id")
        .annotate(total=Sum("count"))
    )
    for row in refused:
        counts[row["connection_id"]]["rejected"] = row["total"]
    return counts


def connection_recent(connection: CrmConnection, *, limit: int = 20) -> dict:
    """What the connection's "test" page shows: the last deliveries with their events,
    the refused requests, and the URL to give the CRM."""
    deliveries = list(
        InboundDelivery.objects.filter(connection=connection)
        .prefetch_related("events")
        .order_by("-received_at", "-id")[:limit]
    )
    rejections = list(
        InboundRejection.objects.filter(
            Q(connection=connection) | Q(vendor=connection.vendor, connection=None)
        ).order_by("-last_at")[:20]
    )
    return {
        "deliveries": deliveries,
        "rejections": rejections,
        "url": receiving_url(connection.vendor),
        "counts": connection_counts([connection.pk]).get(connection.pk, {}),
    }


def crm_deal_origins(deal_ids: list[int]) -> dict[int, Origin]:
    """Deals a CRM sent: which CRM and its deal id (the deal's admin page and API)."""
    links = CrmLink.objects.filter(kind=CrmLink.Kind.DEAL, local_id__in=deal_ids).select_related(
        "connection"
    )
    return {
        link.local_id: Origin(
            kind="crm",
            label="From the CRM",
            text=f"{Vendor(link.connection.vendor).label} deal {link.crm_id} "
            f"({link.connection.name})",
            details={"vendor": link.connection.vendor, "crm_id": link.crm_id},
        )
        for link in links
    }
