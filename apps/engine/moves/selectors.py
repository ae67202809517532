"""Reads of moving enrollments: checking a request, the enrollments it would move, the
dry run (one plan per enrollment), a run's summary."""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from apps.core import clock
from apps.core.errors import ValidationFailed
from apps.engine.models import Enrollment, EnrollmentMove, StepRun
from apps.engine.moves.plan import (
    ADDED,
    KEPT,
    REMOVED,
    RETIMED,
    EnrollmentPlan,
    MoveOptions,
    enrollment_plan,
)
from apps.engine.timing import company_holidays_read_once
from apps.playbooks.models import PlaybookVersion

RUNNING_STATES = (Enrollment.State.ACTIVE, Enrollment.State.PAUSED)
# What a plan reads of a step run.
PLAN_READS = (
    "enrollment_id",
    "step_key",
    "occurrence",
    "kind",
    "state",
    "due_at",
    "planned_at",
    "finished_at",
)
MAX_CANARY = 100_000


@dataclass(frozen=True)
class MoveRequest:
    to_version: PlaybookVersion
    from_version: PlaybookVersion | None
    options: MoveOptions
    canary: int | None


def _version(value: Any, *, field_name: str) -> PlaybookVersion | None:
    if isinstance(value, PlaybookVersion):
        return value
    if value in (None, ""):
        return None
    if not str(value).isdecimal():
        raise ValidationFailed(
            "Choose a published version.", {field_name: [f"“{value}” is not a version id."]}
        )
    version = PlaybookVersion.objects.select_related("playbook").filter(pk=int(value)).first()
    if version is None:
        raise ValidationFailed(
            "Choose a published version.",
            {
                field_name: [
                    f"There is no published version with id {value}. A draft must be "
                    "published before enrollments can move to it."
                ]
            },
        )
    return version


def move_request_check(
    *,
    to_version: Any,
    from_version: Any = None,
    added_steps: Any = EnrollmentMove.AddedSteps.FROM_START,
    retimed_steps: Any = EnrollmentMove.RetimedSteps.RETIME,
    canary: Any = None,
) -> MoveRequest:
    """A move request checked; every problem is raised at once, keyed by field, and
    nothing is written. "Nothing to move" is a problem too."""
    problems: dict[str, list[str]] = {}
    target = source = None
    try:
        target = _version(to_version, field_name="to_version")
        if target is None:
            problems["to_version"] = ["Choose the published version to move enrollments to."]
    except ValidationFailed as exc:
        problems.update(exc.errors)
    try:
        source = _version(from_version, field_name="from_version")
    except ValidationFailed as exc:
        problems.update(exc.errors)
    if added_steps not in EnrollmentMove.AddedSteps.values:
        problems["added_steps"] = [f"Choose one of: {', '.join(EnrollmentMove.AddedSteps.values)}."]
    if retimed_steps not in EnrollmentMove.RetimedSteps.values:
        problems["retimed_steps"] = [
            f"Choose one of: {', '.join(EnrollmentMove.RetimedSteps.values)}."
        ]
    if canary in ("", None):
        canary = None
    elif not str(canary).isdecimal() or not 1 <= int(canary) <= MAX_CANARY:
        problems["canary"] = [f"A whole number from 1 to {MAX_CANARY}, or empty to move all."]
    else:
        canary = int(canary)
    if target is not None and source is not None:
        if source.playbook_id != target.playbook_id:
            problems["from_version"] = [
                f"v{source.number} belongs to “{source.playbook.name}”, not to "
                f"“{target.playbook.name}”."
            ]
        elif source.pk == target.pk:
            problems["from_version"] = [
                f"The enrollments on v{target.number} are already on the version to move to."
            ]
    if problems:
        raise ValidationFailed("The move cannot start.", problems)
    request = MoveRequest(
        to_version=target,
        from_version=source,
        options=MoveOptions(added_steps=added_steps, retimed_steps=retimed_steps),
        canary=canary,
    )
    if not enrollments_to_move(request).exists():
        where = f"v{source.number}" if source else "other versions"
        raise ValidationFailed(
            "Nothing to move.",
            {
                "from_version" if source else "to_version": [
                    f"No running enrollment of “{target.playbook.name}” is on {where}: "
                    f"nothing to move to v{target.number}."
                ]
            },
        )
    return request


def enrollments_to_move(request: MoveRequest) -> QuerySet[Enrollment]:
    """The running (active or paused) enrollments of the playbook on another version
    (or on the chosen one), in id order: the order a run takes them in."""
    query = Enrollment.objects.filter(
        playbook_id=request.to_version.playbook_id, state__in=RUNNING_STATES
    ).exclude(version_id=request.to_version.pk)
    if request.from_version is not None:
        query = query.filter(version_id=request.from_version.pk)
    return query.order_by("pk")


def plans_for(
    enrollments: list[Enrollment], *, request: MoveRequest, now=None
) -> list[EnrollmentPlan]:
    """The plan of each enrollment (their step runs read in one query)."""
    now = now or clock.now()
    runs: dict[int, list[StepRun]] = {enrollment.pk: [] for enrollment in enrollments}
    for run in StepRun.objects.filter(enrollment_id__in=list(runs)).only(*PLAN_READS):
        runs[run.enrollment_id].append(run)
    # One version object per version, so its steps are read from the snapshot once.
    versions = {request.to_version.pk: request.to_version}
    for enrollment in enrollments:
        enrollment.version = versions.setdefault(enrollment.version_id, enrollment.version)
    with company_holidays_read_once():
        return [
            enrollment_plan(
                enrollment=enrollment,
                runs=runs[enrollment.pk],
                to_version=request.to_version,
                options=request.options,
                now=now,
            )
            for enrollment in enrollments
        ]


@dataclass
class MovePreview:
    """The dry run: how many enrollments move, what happens to their steps in total, and
    the plans of one page of them."""

    request: MoveRequest
    running: int
    to_move: int
    counts: dict[str, int] = field(default_factory=dict)
    plans: list[EnrollmentPlan] = field(default_factory=list)
    completing: int = 0
    # Step runs the move cancels, re-times and schedules, over every enrollment.
    cancelled: int = 0
    retimed: int = 0
    created: int = 0

    @property
    def canary_only(self) -> bool:
        return self.to_move < self.running


PREVIEW_CHUNK = 500


def enrollment_move_preview(
    *, request: MoveRequest, offset: int = 0, limit: int = 25
) -> MovePreview:
    """The dry run of ``request``: totals over every enrollment it would move (a canary
    counts its first N), and the plans of ``limit`` of them from ``offset``."""
    query = enrollments_to_move(request).select_related("version", "account", "deal")
    running = query.count()
    to_move = min(running, request.canary) if request.canary else running
    preview = MovePreview(
        request=request,
        running=running,
        to_move=to_move,
        counts={KEPT: 0, REMOVED: 0, ADDED: 0, RETIMED: 0},
    )
    now = clock.now()
    last = 0
    seen = 0
    while seen < to_move:
        chunk = list(query.filter(pk__gt=last)[: min(PREVIEW_CHUNK, to_move - seen)])
        if not chunk:
            break
        for index, plan in enumerate(plans_for(chunk, request=request, now=now), start=seen):
            for step in plan.steps:
                preview.counts[step.change] += 1
                preview.cancelled += len(step.cancel)
                preview.retimed += len(step.retime)
                preview.created += sum(1 for run in step.create if not run.skipped_because)
            preview.completing += plan.completes
            if offset <= index < offset + limit:
                preview.plans.append(plan)
        seen += len(chunk)
        last = chunk[-1].pk
    return preview


def enrollment_move_summary(move: EnrollmentMove) -> str:
    """One line on how far a move got."""
    canary = f" (canary: the first {move.canary})" if move.canary else ""
    if move.state == EnrollmentMove.State.QUEUED:
        return f"Queued: {move.total} enrollments to move to v{move.to_version.number}{canary}."
    counts = f"{move.moved} moved, {move.failed} failed, {move.unchanged} unchanged"
    if move.state == EnrollmentMove.State.RUNNING:
        return f"Running: {counts} of {move.total}."
    if move.state == EnrollmentMove.State.FAILED:
        return f"Stopped: {counts}. {move.error}"
    return f"Done: {counts}{canary}."
