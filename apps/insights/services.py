"""The insights app's only write: the playbook funnel's daily counts, rebuilt from the
step runs in one transaction (the page reads the previous counts until it commits)."""

import datetime as dt

from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import TruncDate

from apps.core import clock
from apps.engine.models import StepRun
from apps.insights.models import StepFunnelDay

BATCH = 5000


@transaction.atomic
def funnel_counts_rebuild() -> int:
    """Count every playbook step's first occurrences by the day (UTC) their enrollment
    started and the account's segment: reached, done, skipped, dead. Replaces the
    previous counts; running it twice gives the same rows. Returns how many rows."""
    now = clock.now()
    rows = (
        StepRun.objects.filter(occurrence=1)
        .values(
            "step_key",
            playbook_id=F("enrollment__playbook_id"),
            day=TruncDate("enrollment__created_at", tzinfo=dt.UTC),
            segment=F("enrollment__account__segment"),
        )
        .annotate(
            reached=Count("id"),
            done=Count("id", filter=Q(state=StepRun.State.DONE)),
            skipped=Count("id", filter=Q(state=StepRun.State.SKIPPED)),
            dead=Count("id", filter=Q(state=StepRun.State.DEAD)),
        )
        .order_by()
    )
    StepFunnelDay.objects.all().delete()
    made = StepFunnelDay.objects.bulk_create(
        (StepFunnelDay(**row, counted_at=now) for row in rows.iterator()), batch_size=BATCH
    )
    return len(made)
