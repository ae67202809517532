"""Run a playbook against a deal on a virtual clock, then roll everything back.

The same services as production (scheduling, conditions, executors) run inside one
transaction that is always rolled back, so a preview writes nothing and sends nothing:
messages are sent only on commit, and there is none.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from apps.core import clock, step_kinds
from apps.core.dates import datetime_zone_text
from apps.core.models import DomainEvent
from apps.customers.models import Account, Contact
from apps.deals.models import Deal
from apps.engine.execution import step_run_execute
from apps.engine.models import Enrollment, StepRun
from apps.engine.selectors import step_run_effect, step_run_move
from apps.engine.services import step_runs_resume_waiting, step_runs_schedule
from apps.playbooks.models import Playbook
from apps.playbooks.services import playbook_publish


@dataclass(frozen=True)
class TimelineRow:
    day: int
    at: dt.datetime  # UTC
    local: str  # the account's wall clock
    step_key: str
    step_name: str
    occurrence: int
    kind: str
    state: str
    effect: str
    # "Sun 28 Feb 2027, 10:00 → Mon 1 Mar 2027, 10:00: not a business day (weekend)"
    moved: str = ""


class _Rollback(Exception):
    pass


def _sample_deal() -> Deal:
    account = Account.objects.create(
        name="Sample Customer GmbH", timezone="Europe/Berlin", country="DE", tier="mid_market"
    )
    contact = Contact.objects.create(
        account=account, name="Sam Sample", email="sam@sample.example", is_primary=True
    )
    return Deal.objects.create(
        name="Sample deal",
        account=account,
        amount=Decimal("24000"),
        currency="EUR",
        primary_contact=contact,
    )


def playbook_simulate(
    *,
    playbook: Playbook,
    deal: Deal | None = None,
    days: int = 180,
    start: dt.datetime | None = None,
    answers: dict[str, str] | None = None,
) -> list[TimelineRow]:
    """What ``playbook``'s current draft would do for ``deal`` (or a sample deal) over
    ``days`` days from ``start``. ``answers`` are what customers answer when a step asks
    them (``{"nps": "3"}``, or ``"none"`` for no answer), through the step kind's
    ``simulate_answer``. Deterministic for the same inputs; writes nothing."""
    start = start or clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=days)
    rows: list[TimelineRow] = []
    try:
        with transaction.atomic(), clock.frozen(start) as virtual:
            version = playbook_publish(playbook=playbook, actor=None)  # rolled back below
            deal = deal or _sample_deal()
            tz = zoneinfo.ZoneInfo(deal.account.timezone)
            event = DomainEvent.objects.create(
                name="simulation.started", aggregate_type="deal", aggregate_id=deal.pk
            )
            enrollment = Enrollment.objects.create(
                playbook=playbook,
                version=version,
                deal=deal,
                account=deal.account,
                trigger_event=event,
            )
            names = {step.key: step.name for step in version.definitions}
            first = [step for step in version.definitions if step.starts_at_enrollment]
            step_runs_schedule(enrollment=enrollment, steps=first, base=start)
            while True:
                run = (
                    enrollment.step_runs.exclude(state__in=StepRun.FINISHED_STATES)
                    .order_by("due_at", "id")
                    .first()
                )
                if run is None or run.due_at > end:
                    break
                virtual.set(max(run.due_at, clock.now()))
                # Claimed as the dispatcher would claim it, for this enrollment only.
                StepRun.objects.filter(pk=run.pk).update(
                    state=StepRun.State.RUNNING, generation=enrollment.generation
                )
                step_run_execute(step_run_id=run.pk)
                run.refresh_from_db()
                finished = [run, *_answered(run, answers or {})]
                for done in finished:
                    local = done.due_at.astimezone(tz)
                    if done is not run:
                        local = clock.now().astimezone(tz)
                    rows.append(
                        TimelineRow(
                            day=(local.date() - start.astimezone(tz).date()).days,
                            at=local.astimezone(dt.UTC),
                            local=datetime_zone_text(local, tz=tz),
                            step_key=done.step_key,
                            step_name=names.get(done.step_key, done.step_key),
                            occurrence=done.occurrence,
                            kind=done.kind,
                            state=done.state,
                            effect=step_run_effect(done) or done.state,
                            moved=step_run_move(done, tz=tz) if done is run else "",
                        )
                    )
            raise _Rollback
    except _Rollback:
        pass
    return rows


def _answered(run: StepRun, answers: dict[str, str]) -> list[StepRun]:
    """The runs an assumed answer to ``run`` finished (the waits for it)."""
    try:
        kind = step_kinds.get(run.kind)
    except LookupError:
        return []
    if kind.simulate_answer is None or run.state != StepRun.State.DONE:
        return []
    finished: list[StepRun] = []
    for event in kind.simulate_answer(run, answers):
        waiting = set(
            run.enrollment.step_runs.filter(kind="wait", state__in=StepRun.DUE_STATES).values_list(
                "pk", flat=True
            )
        )
        step_runs_resume_waiting(event)
        finished += list(
            StepRun.objects.filter(pk__in=waiting, state=StepRun.State.DONE).order_by("id")
        )
    return finished


def timeline_as_text(rows: list[TimelineRow]) -> str:
    header = ("day", "local time", "step", "effect")
    lines = [
        (
            str(r.day),
            r.local,
            f"{r.step_name}" + (f" #{r.occurrence}" if r.occurrence > 1 else ""),
            r.effect + (f" (moved: {r.moved})" if r.moved else ""),
        )
        for r in rows
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths[:-1]) + "  {}"
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)
