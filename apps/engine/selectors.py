import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.core import clock
from apps.core.dates import datetime_text
from apps.core.models import DomainEvent
from apps.core.step_kinds import step_timing_label
from apps.engine.models import Enrollment, StepRun
from apps.playbooks.models import Playbook


def step_run_effect(run: StepRun, *, show_error: bool = True) -> str:
    """What a step run did, in words, for timelines (simulation, task pages)."""
    result: dict[str, Any] = run.result or {}
    if run.state == StepRun.State.SKIPPED or "skipped" in result:
        return f"Skipped: {result.get('skipped', 'conditions not met')}"
    if "summary" in result:
        return result["summary"]
    if "outcome" in result:
        return f"Wait ended: {result['outcome']}"
    if run.state in (StepRun.State.FAILED, StepRun.State.DEAD):
        if show_error:
            return f"{run.get_state_display()}: {run.last_error}"
        return "Failed; the team running playbooks has been told."
    return ""


def step_run_move(run: StepRun, *, tz: zoneinfo.ZoneInfo | str | None = None) -> str:
    """When and why a step run was moved from its plan, in the account's local time:
    "Sun 28 Feb 2027, 10:00 → Mon 1 Mar 2027, 10:00: not a business day (weekend)"; "" if
    it was not."""
    if not run.moved_because or run.planned_at is None or run.planned_at == run.due_at:
        return ""
    if tz is None:
        tz = run.enrollment.account.timezone
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz

    def local(moment: dt.datetime) -> str:
        at = moment.astimezone(zone)
        return datetime_text(at)

    return f"{local(run.planned_at)} → {local(run.due_at)}: {run.moved_because}"


# Playbook timelines for pages (a task's, and later an account's or a deal's) -------------


def enrollment_timeline(
    *, enrollments: QuerySet[Enrollment], current_step_run_id: int | None = None
) -> list[dict[str, Any]]:
    """What each playbook did and will do, step by step: per enrollment, its version's
    steps in order with their timing in words and their runs (``is_current`` marks
    ``current_step_run_id``, e.g. the run that made the task on screen). Two queries,
    however many enrollments and runs."""
    timeline = []
    for enrollment in enrollments.select_related(
        "playbook", "version__playbook", "account"
    ).prefetch_related("step_runs"):
        runs_by_key: dict[str, list[StepRun]] = {}
        for run in enrollment.step_runs.all():
            runs_by_key.setdefault(run.step_key, []).append(run)
        steps = []
        zone = zoneinfo.ZoneInfo(enrollment.account.timezone)
        for step in enrollment.version.definitions:
            runs = sorted(runs_by_key.pop(step.key, []), key=lambda r: (r.due_at, r.pk))
            steps.append(
                {
                    "name": step.name,
                    "kind": step.kind,
                    "timing": step_timing_label(step),
                    "runs": [_run_entry(run, current_step_run_id, zone) for run in runs],
                }
            )
        timeline.append({"enrollment": enrollment, "steps": steps})
    return timeline


def _run_entry(
    run: StepRun, current_step_run_id: int | None, zone: zoneinfo.ZoneInfo
) -> dict[str, Any]:
    finished = run.state in StepRun.FINISHED_STATES
    when = (run.finished_at or run.due_at) if finished else run.due_at
    effect = step_run_effect(run, show_error=False)
    return {
        "run": run,
        "when": when,
        "effect": effect,
        "upcoming": run.state
        in (StepRun.State.PENDING, StepRun.State.RUNNING, *StepRun.DUE_STATES),
        "is_current": run.pk == current_step_run_id,
        "moved": step_run_move(run, tz=zone),
    }


# The deal page's panel: what a close started ------------------------------------------


@dataclass(frozen=True)
class DealEnrollments:
    """The playbooks a deal's close started: per enrollment, the steps that have run or
    are due now (its first steps), those scheduled for later (name and when) and the
    names of those not scheduled yet.

    ``starting`` is true while an event about the won deal (its close) waits for a worker
    or an opening step is due and not run yet: the deal page then reloads the panel
    (``refresh``)."""

    entries: list[dict[str, Any]]
    starting: bool
    won: bool

    @property
    def refresh(self) -> bool:
        return self.starting


def deal_enrollments(deal: Any) -> DealEnrollments | None:
    """The deal's enrollments with their first steps, for the deal page; None for a deal
    that was never won and started nothing. Three queries."""
    won = deal.stage == "closed_won"
    enrollments = Enrollment.objects.filter(deal_id=deal.pk).order_by("created_at", "id")
    timeline = enrollment_timeline(enrollments=enrollments)
    if not timeline and not won:
        return None
    now = clock.now()
    entries, due_now = [], False
    for entry in timeline:
        started, coming, later = [], [], []
        for step in entry["steps"]:
            runs = [item["run"] for item in step["runs"]]
            if not runs:
                later.append(step["name"])
            elif all(item["upcoming"] and item["run"].due_at > now for item in step["runs"]):
                coming.append({"name": step["name"], "when": min(run.due_at for run in runs)})
            else:
                for item in step["runs"]:
                    item["due_now"] = item["upcoming"] and item["run"].due_at <= now
                started.append(step)
                due_now = due_now or any(
                    run.priority == StepRun.Priority.FIRST and run.state in StepRun.DUE_STATES
                    for run in runs
                )
        entries.append(
            {
                "enrollment": entry["enrollment"],
                "started": started,
                "coming": coming,
                "later": later,
            }
        )
    # An event about the deal that no worker has processed yet: the close, as far as the
    # engine is concerned (it names no other app's events).
    waiting = (
        won
        and DomainEvent.objects.filter(
            aggregate_type=deal._meta.model_name, aggregate_id=deal.pk, processed_at__isnull=True
        ).exists()
    )
    return DealEnrollments(entries=entries, starting=waiting or due_now, won=won)


# A playbook's numbers (its admin page) ------------------------------------------------

# A run in one of these states came due and the engine worked on it: the enrollment
# reached that step. Pending runs are scheduled, not reached; cancelled ones never ran.
REACHED_STATES = (
    StepRun.State.RUNNING,
    StepRun.State.DONE,
    StepRun.State.SKIPPED,
    StepRun.State.FAILED,
    StepRun.State.DEAD,
)


@dataclass(frozen=True)
class StepNumbers:
    key: str
    name: str
    kind: str
    in_current_version: bool
    reached: int  # enrollments
    done: int  # runs (a repeating step counts each occurrence)
    skipped: int
    dead: int
    scheduled: int  # pending or failed with a retry to come


@dataclass(frozen=True)
class PlaybookNumbers:
    enrolled: int
    active: int
    paused: int
    completed: int
    cancelled: int
    steps: list[StepNumbers]


def playbook_numbers(*, playbook: Playbook) -> PlaybookNumbers:
    """How many accounts a playbook enrolled and where they are (active, paused,
    completed, cancelled), and per step how many enrollments reached it and how its runs
    ended. Steps come in the current version's order, then steps only older versions
    had. Three queries, however many enrollments and runs."""
    states = Enrollment.State
    counts = Enrollment.objects.filter(playbook=playbook).aggregate(
        enrolled=Count("id"),
        active=Count("id", filter=Q(state=states.ACTIVE)),
        paused=Count("id", filter=Q(state=states.PAUSED)),
        completed=Count("id", filter=Q(state=states.COMPLETED)),
        cancelled=Count("id", filter=Q(state=states.CANCELLED)),
    )
    runs = {
        row["step_key"]: row
        for row in StepRun.objects.filter(enrollment__playbook=playbook)
        .values("step_key")
        .annotate(
            reached=Count("enrollment_id", distinct=True, filter=Q(state__in=REACHED_STATES)),
            done=Count("id", filter=Q(state=StepRun.State.DONE)),
            skipped=Count("id", filter=Q(state=StepRun.State.SKIPPED)),
            dead=Count("id", filter=Q(state=StepRun.State.DEAD)),
            scheduled=Count("id", filter=Q(state__in=StepRun.DUE_STATES)),
        )
        .order_by()
    }
    # Newest version first: its steps set the order and the names.
    versions = playbook.versions.order_by("-number").values_list("pk", "steps")
    seen: dict[str, StepNumbers] = {}
    for version_id, steps in versions:
        for snapshot in steps:
            key = snapshot["key"]
            if key in seen:
                continue
            row = runs.get(key, {})
            seen[key] = StepNumbers(
                key=key,
                name=snapshot.get("name") or key,
                kind=snapshot.get("kind", ""),
                in_current_version=version_id == playbook.current_version_id,
                reached=row.get("reached", 0),
                done=row.get("done", 0),
                skipped=row.get("skipped", 0),
                dead=row.get("dead", 0),
                scheduled=row.get("scheduled", 0),
            )
    return PlaybookNumbers(**counts, steps=list(seen.values()))
