"""Reads for the admin and for the deal pages."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.urls import reverse
from django.utils import timezone

from apps.core import clock
from apps.core.dates import datetime_text
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
from apps.integrations.tokens import EARLY, TOKEN_URLS, refresh_configured, token_url


def csm_choices() -> QuerySet:
    """Who may be a connection's default CSM: active users with the CSM role."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name="CSM")
        .order_by("first_name", "last_name", "username")
    )


def receiving_url(vendor: str) -> str:
    """The URL to give the CRM."""
    return absolute_url(reverse("integrations:receive", args=[vendor]))


def salesforce_url(connection: CrmConnection, *, key: str) -> str:
    """Salesforce's URL carries the connection's key (Salesforce signs nothing)."""
    return f"{receiving_url('salesforce')}?{urlencode({'key': key})}"


def url_to_give(connection: CrmConnection) -> str:
    """The URL to give the CRM as the connection page shows it: Salesforce's key is
    shown only once, when it is saved, so here it stays hidden."""
    if connection.vendor != "salesforce":
        return receiving_url(connection.vendor)
    if not connection.secret:
        return (
            f"{receiving_url('salesforce')}?key=… (no key yet: save the connection to get "
            "one; until then Salesforce's messages are refused)"
        )
    return (
        f"{receiving_url('salesforce')}?key=•••• (the key was shown once when it was saved; "
        "to replace it, enter a new one under Secret)"
    )


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


@dataclass(frozen=True)
class TokenStatus:
    """What the connection page and its Test page say about the API token."""

    refresh: str  # whether OAuth refresh is set up, and where it refreshes
    expiry: str  # when the current access token expires
    can_refresh: bool


def token_status(connection: CrmConnection) -> TokenStatus:
    if connection.vendor not in TOKEN_URLS:
        return TokenStatus("not used: this CRM sends what Afterwin needs", "—", False)
    can_refresh = refresh_configured(connection)
    if can_refresh:
        refresh = (
            f"set up: client id {connection.oauth_client_id}, client secret and refresh token "
            f"saved (hidden); refreshed at {token_url(connection)}"
        )
    else:
        refresh = (
            "not set up: the API token is sent as it is (a HubSpot private app's token does "
            "not expire; a Zoho or HubSpot public-app access token stops working within the "
            "hour)"
        )
    expires = connection.access_token_expires_at
    if not connection.api_token:
        expiry = "no access token yet" + (": one is fetched before the next read" * can_refresh)
    elif expires is None:
        expiry = (
            "not known: used until the CRM refuses it, then refreshed"
            if can_refresh
            else "not known (Afterwin does not refresh it)"
        )
    else:
        now = clock.now()
        expiry = ("expires " if expires > now else "expired ") + datetime_text(
            timezone.localtime(expires)
        )
        if expires <= now + EARLY and can_refresh:
            expiry += ": refreshed before the next read"
    return TokenStatus(refresh, expiry, can_refresh)


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
        "url": url_to_give(connection),
        "token": token_status(connection),
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
