"""The door: a CRM's request is authenticated the vendor's way, stored raw with its
events, and acknowledged; the worker processes the events after the commit.

A request that fails authentication (a bad or missing signature, a stale timestamp, an
unknown tenant) is refused before anything is stored, and only counted."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.core import clock
from apps.core.outbox import send_after_commit
from apps.integrations.models import InboundDelivery, InboundEvent, InboundRejection
from apps.integrations.vendors import adapter
from apps.integrations.vendors.base import Authenticated, InboundRequest

logger = logging.getLogger(__name__)


def rejection_count(*, vendor: str, reason: str, connection=None) -> None:
    """Count one refused request (the request itself is not kept)."""
    scope = str(connection.pk) if connection is not None else ""
    now = clock.now()
    rows = InboundRejection.objects.filter(vendor=vendor, scope=scope, reason=reason)
    if rows.update(count=F("count") + 1, last_at=now):
        return
    try:
        with transaction.atomic():
            InboundRejection.objects.create(
                vendor=vendor,
                scope=scope,
                connection=connection,
                reason=reason,
                count=1,
                first_at=now,
                last_at=now,
            )
    except IntegrityError:  # another request counted the first one meanwhile
        rows.update(count=F("count") + 1, last_at=now)


def delivery_authenticate(*, vendor: str, request: InboundRequest) -> Authenticated:
    """Check the request the vendor's way; raises ``Rejected`` or ``Malformed``."""
    return adapter(vendor).authenticate(request)


@transaction.atomic
def delivery_store(*, vendor: str, auth: Authenticated, body: bytes) -> InboundDelivery:
    """Store the delivery as received and one row per event the connection has not had
    yet (the CRM's event key is unique per connection, so a repeated delivery adds
    nothing); the worker is asked to process them once this commits."""
    from apps.integrations.tasks import process_delivery

    delivery = InboundDelivery.objects.create(
        connection=auth.connection,
        vendor=vendor,
        headers=auth.headers,
        body=(body if auth.stored_body is None else auth.stored_body).decode(
            "utf-8", errors="replace"
        ),
    )
    keys = [spec.key for spec in auth.events]
    every_key = keys + [key for spec in auth.events for key in spec.earlier_keys]
    known = set(
        InboundEvent.objects.filter(
            connection=auth.connection, event_key__in=every_key
        ).values_list("event_key", flat=True)
    )
    fresh: dict[str, InboundEvent] = {}
    for spec in auth.events:
        if spec.key in fresh or known.intersection((spec.key, *spec.earlier_keys)):
            continue
        fresh[spec.key] = InboundEvent(
            connection=auth.connection,
            delivery=delivery,
            vendor=vendor,
            event_key=spec.key[:200],
            kind=spec.kind[:60],
            object_type=spec.object_type[:40],
            object_id=spec.object_id[:100],
            payload=spec.payload,
            occurred_at=spec.occurred_at,
            next_attempt_at=delivery.received_at,
        )
    # A concurrent copy of the same delivery may insert the same keys first: the unique
    # constraint keeps one, and this insert skips it.
    InboundEvent.objects.bulk_create(fresh.values(), ignore_conflicts=True)
    delivery.events_new = len(fresh)
    delivery.events_repeated = len(keys) - len(fresh)
    delivery.save(update_fields=["events_new", "events_repeated"])
    if fresh:
        send_after_commit(process_delivery, delivery.pk, what=f"{vendor} delivery {delivery.pk}")
    logger.info(
        "%s delivery %s for connection %s: %s new events, %s repeated",
        vendor,
        delivery.pk,
        auth.connection.pk,
        delivery.events_new,
        delivery.events_repeated,
    )
    return delivery
