"""Monthly counts behind the metrics (``ResponseMonth``, ``InvitationMonth``).

Every write that adds a response, follows one up or creates invitations adds to the
counts of its month in the same transaction, with one ``INSERT … ON CONFLICT DO UPDATE``
per batch (PostgreSQL and SQLite both have it). Rows written in bulk outside those
services (demo history, benchmarks) are counted again with ``rollups_rebuild``.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import Coalesce, TruncMonth

from apps.surveys.models import (
    INVITATION_MONTH_KEY,
    RESPONSE_MONTH_KEY,
    Invitation,
    InvitationMonth,
    Response,
    ResponseMonth,
)


def month_of(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date().replace(day=1)


def _add(model, key: tuple[str, ...], counter: str, counts: Counter) -> None:
    """Add ``counts`` ({key values: n}) to ``model``'s rows, creating missing ones."""
    rows = [(*values, n) for values, n in counts.items() if n]
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in (*key, counter))
    placeholders = ", ".join(["(" + ", ".join(["%s"] * (len(key) + 1)) + ")"] * len(rows))
    conflict = ", ".join(connection.ops.quote_name(c) for c in key)
    column = connection.ops.quote_name(counter)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {placeholders} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {column} = {table}.{column} + "
            f"excluded.{column}",
            [value for row in rows for value in row],
        )


def _response_key(response: Response, *, followed_up: bool) -> tuple:
    return (
        month_of(response.answered_at),
        response.kind,
        response.band,
        response.score,
        response.segment,
        response.csm_id or 0,
        response.playbook_id or 0,
        followed_up,
    )


def responses_counted(responses: Iterable[Response]) -> None:
    counts = Counter(_response_key(r, followed_up=r.followed_up_at is not None) for r in responses)
    _add(ResponseMonth, RESPONSE_MONTH_KEY, "responses", counts)


def response_followed_up(response: Response) -> None:
    """Move one response from the "not followed up" count to the "followed up" one."""
    counts = Counter()
    counts[_response_key(response, followed_up=False)] -= 1
    counts[_response_key(response, followed_up=True)] += 1
    _add(ResponseMonth, RESPONSE_MONTH_KEY, "responses", counts)


def invitations_counted(invitations: Iterable[Invitation]) -> None:
    counts = Counter(
        (
            month_of(inv.created_at),
            inv.survey.kind,
            inv.account.segment,
            inv.account.csm_id or 0,
            inv.playbook_id or 0,
            inv.status == Invitation.Status.SUPPRESSED,
        )
        for inv in invitations
    )
    _add(InvitationMonth, INVITATION_MONTH_KEY, "invitations", counts)


@transaction.atomic
def rollups_rebuild() -> None:
    """Count every response and invitation again (after rows were written in bulk)."""
    ResponseMonth.objects.all().delete()
    InvitationMonth.objects.all().delete()
    responses = (
        Response.objects.annotate(month=TruncMonth("answered_at", tzinfo=dt.UTC))
        .values("month", "kind", "band", "score", "segment", "csm_id", "playbook_id")
        .annotate(n=Count("id"), followed=Count("followed_up_at"))
    )
    counts: Counter = Counter()
    for row in responses:
        base = (
            row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"],
            row["kind"],
            row["band"],
            row["score"],
            row["segment"],
            row["csm_id"] or 0,
            row["playbook_id"] or 0,
        )
        counts[(*base, True)] += row["followed"]
        counts[(*base, False)] += row["n"] - row["followed"]
    _add(ResponseMonth, RESPONSE_MONTH_KEY, "responses", counts)
    invitations = (
        Invitation.objects.annotate(
            month=TruncMonth("created_at", tzinfo=dt.UTC),
            csm=Coalesce("account__csm_id", 0),
        )
        .values("month", "survey__kind", "account__segment", "csm", "playbook_id", "status")
        .annotate(n=Count("id"))
    )
    counts = Counter()
    for row in invitations:
        month = row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"]
        key = (
            month,
            row["survey__kind"],
            row["account__segment"],
            row["csm"],
            row["playbook_id"] or 0,
            row["status"] == Invitation.Status.SUPPRESSED,
        )
        counts[key] += row["n"]
    _add(InvitationMonth, INVITATION_MONTH_KEY, "invitations", counts)
