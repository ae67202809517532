"""What moving one enrollment to another version of its playbook does to each step.

A plan is computed from the enrollment, its step runs and the two versions, and reads
nothing else from the database: the dry run shows it, and the apply computes it again
under the enrollment's lock and carries it out, so what the dry run said is what the
apply does when nothing ran in between.

Steps are matched by key:

- **kept**: in both versions with the same timing; what is scheduled stays as it is (a
  changed config applies when the step runs, since the engine reads the version then);
- **removed**: only in the old version; its pending runs are cancelled, what it already
  did (a task, an email) is left as it is;
- **added**: only in the new version; scheduled as if it had been there from the
  enrollment's start (a step that already ran under an earlier version is not scheduled
  again; the cancelled run of one an earlier move removed is scheduled anew). A step
  that starts after another is timed from when that step first completed; if that step
  has not run yet, the engine schedules the new step when it does (it reads the new
  version then); if it was skipped, the branch was not taken.
  When the time has passed, the admin chooses: it runs now (``from_start``), or it is
  timed from now (``from_now``). A repeating step that is caught up runs its latest
  missed occurrence now; its first occurrence is written as skipped, because later
  occurrences are counted from its planned moment;
- **re-timed**: in both versions with a different timing (delay, time of day, window,
  business days, start, repetition); what is still to run is re-timed to the new timing
  (``retime``) or left (``leave``). A repetition the new version no longer allows is
  cancelled; one it newly allows after a finished occurrence is scheduled.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from apps.core.dates import datetime_zone_text
from apps.core.step_kinds import StepDefinition
from apps.engine.models import Enrollment, EnrollmentMove, StepRun
from apps.engine.timing import Calendar, StepTiming, step_timing
from apps.playbooks.models import PlaybookVersion

KEPT, REMOVED, ADDED, RETIMED = "kept", "removed", "added", "retimed"
CHANGE_LABELS = {KEPT: "Kept", REMOVED: "Removed", ADDED: "Added", RETIMED: "Re-timed"}
UNFINISHED = (StepRun.State.PENDING, StepRun.State.FAILED, StepRun.State.RUNNING)
TIMING_FIELDS = (
    "start",
    "after_step",
    "delay_days",
    "delay_hours",
    "business_days",
    "at_time",
    "window_start",
    "window_end",
    "repeat_every_days",
    "repeat_max",
)


@dataclass(frozen=True)
class NewRun:
    """A step run the move creates."""

    occurrence: int
    timing: StepTiming
    skipped_because: str = ""  # written as skipped: a caught-up repetition's anchor

    def as_record(self) -> dict[str, Any]:
        return {
            "occurrence": self.occurrence,
            "due_at": self.timing.due.isoformat(),
            "planned_at": self.timing.planned.isoformat(),
            "skipped": self.skipped_because,
        }


@dataclass(frozen=True)
class Retime:
    """A pending run given a new due moment."""

    run_id: int
    occurrence: int
    was_due_at: dt.datetime
    timing: StepTiming

    def as_record(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "occurrence": self.occurrence,
            "was_due_at": self.was_due_at.isoformat(),
            "due_at": self.timing.due.isoformat(),
        }


@dataclass(frozen=True)
class StepChange:
    """What the move does to one step of one enrollment, in words and in actions."""

    key: str
    name: str
    change: str  # kept | removed | added | retimed
    outcome: "Words"
    kind: str = ""
    cancel: tuple[int, ...] = ()
    retime: tuple[Retime, ...] = ()
    create: tuple[NewRun, ...] = ()
    set_kind: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self.change]

    def as_record(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "change": self.change,
            "outcome": str(self.outcome),
            "cancelled_runs": list(self.cancel),
            "retimed_runs": [r.as_record() for r in self.retime],
            "created_runs": [r.as_record() for r in self.create],
            "kind_changed_runs": list(self.set_kind),
        }


@dataclass(frozen=True)
class EnrollmentPlan:
    enrollment: Enrollment
    to_version: PlaybookVersion
    steps: tuple[StepChange, ...]
    completes: bool = False

    def of(self, change: str) -> list[StepChange]:
        return [step for step in self.steps if step.change == change]

    @property
    def changed(self) -> list[StepChange]:
        """The steps the move changes something about (a kept step changes nothing
        unless its kind changed)."""
        return [step for step in self.steps if step.change != KEPT or step.set_kind]

    @property
    def unchanged(self) -> int:
        return len(self.steps) - len(self.changed)

    def as_record(self) -> list[dict[str, Any]]:
        return [step.as_record() for step in self.steps]


@dataclass(frozen=True)
class MoveOptions:
    added_steps: str = EnrollmentMove.AddedSteps.FROM_START
    retimed_steps: str = EnrollmentMove.RetimedSteps.RETIME


def _literal(text: str) -> str:
    """A name put in a ``Words`` template as it is (braces and all)."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class Words:
    """What happens to a step, in words, with its moments written out only when read: a
    dry run over thousands of enrollments counts changes without formatting dates it
    never shows. ``template`` has one ``{}`` per moment. Moments read in the account's
    zone, named, as the Preview timeline writes them: "Sat 5 Dec 2026, 02:00 JST"."""

    template: str
    moments: tuple[dt.datetime, ...] = ()
    tz: dt.tzinfo = dt.UTC

    def __str__(self) -> str:
        return self.template.format(
            *(datetime_zone_text(moment, tz=self.tz) for moment in self.moments)
        )

    def __add__(self, other: "Words") -> "Words":
        return Words(f"{self.template} {other.template}", self.moments + other.moments, self.tz)


def _joined(parts: list[Words]) -> Words:
    return Words(" ".join(p.template for p in parts), tuple(m for p in parts for m in p.moments))


def _timing_of(step: StepDefinition) -> tuple:
    return tuple(getattr(step, name) for name in TIMING_FIELDS)


@dataclass
class _History:
    """An enrollment's step runs by step key, occurrence order."""

    runs: dict[str, list[StepRun]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, runs: Iterable[StepRun]) -> "_History":
        history = cls()
        for run in sorted(runs, key=lambda r: (r.step_key, r.occurrence)):
            history.runs[run.step_key].append(run)
        return history

    def unfinished(self, key: str) -> list[StepRun]:
        return [run for run in self.runs.get(key, []) if run.state in UNFINISHED]

    def first_done_at(self, key: str) -> dt.datetime | None:
        done = [
            run.finished_at
            for run in self.runs.get(key, [])
            if run.state == StepRun.State.DONE and run.finished_at
        ]
        return min(done) if done else None


def enrollment_plan(
    *,
    enrollment: Enrollment,
    runs: Iterable[StepRun],
    to_version: PlaybookVersion,
    options: MoveOptions,
    now: dt.datetime,
    calendar: Calendar | None = None,
) -> EnrollmentPlan:
    """What moving ``enrollment`` (with its step ``runs``) to ``to_version`` would do,
    step by step, at ``now``."""
    calendar = calendar or Calendar.for_account(enrollment.account)
    history = _History.of(runs)
    old = {step.key: step for step in enrollment.version.definitions}
    new = {step.key: step for step in to_version.definitions}
    planner = _Planner(
        enrollment=enrollment,
        history=history,
        old=old,
        new=new,
        options=options,
        now=now,
        calendar=calendar,
        version_label=f"v{to_version.number}",
    )
    changes = [
        replace(change, outcome=replace(change.outcome, tz=calendar.tz))
        for change in (planner.step(key) for key in [*old, *(key for key in new if key not in old)])
    ]
    cancelled = {run_id for change in changes for run_id in change.cancel}
    still_to_run = any(
        run.pk not in cancelled for key in history.runs for run in history.unfinished(key)
    )
    created = any(run.skipped_because == "" for change in changes for run in change.create)
    completes = enrollment.state == Enrollment.State.ACTIVE and not (still_to_run or created)
    return EnrollmentPlan(
        enrollment=enrollment, to_version=to_version, steps=tuple(changes), completes=completes
    )


@dataclass
class _Planner:
    enrollment: Enrollment
    history: _History
    old: dict[str, StepDefinition]
    new: dict[str, StepDefinition]
    options: MoveOptions
    now: dt.datetime
    calendar: Calendar
    version_label: str

    def step(self, key: str) -> StepChange:
        if key not in self.new:
            return self._removed(self.old[key])
        if key not in self.old:
            return self._added(self.new[key])
        old, new = self.old[key], self.new[key]
        set_kind = tuple(run.pk for run in self.history.unfinished(key) if old.kind != new.kind)
        if _timing_of(old) == _timing_of(new):
            return self._kept(new, set_kind)
        return self._retimed(old, new, set_kind)

    # kept -------------------------------------------------------------------------

    def _kept(self, step: StepDefinition, set_kind: tuple[int, ...]) -> StepChange:
        pending = self.history.unfinished(step.key)
        if pending:
            outcome = Words("Schedule unchanged: due {}.", (pending[0].due_at,))
        elif self.history.runs.get(step.key):
            outcome = Words("Schedule unchanged: already ran.")
        else:
            outcome = Words("Schedule unchanged: not reached yet.")
        if set_kind:
            outcome += Words(f"Runs as a {_literal(step.kind)} step now.")
        return StepChange(step.key, step.name, KEPT, outcome, kind=step.kind, set_kind=set_kind)

    # removed ----------------------------------------------------------------------

    def _removed(self, step: StepDefinition) -> StepChange:
        pending = self.history.unfinished(step.key)
        done = len(self.history.runs.get(step.key, [])) - len(pending)
        parts = []
        if pending:
            plural = "s" if len(pending) > 1 else ""
            parts.append(
                Words(
                    f"{len(pending)} pending run{plural} cancelled (due {{}}).",
                    (pending[0].due_at,),
                )
            )
        else:
            parts.append(Words("Nothing pending to cancel."))
        if done:
            parts.append(Words("What it already did is left as it is."))
        return StepChange(
            step.key,
            step.name,
            REMOVED,
            _joined(parts),
            kind=step.kind,
            cancel=tuple(run.pk for run in pending),
        )

    # where a step's timing starts under the new version ----------------------------

    def _base(self, step: StepDefinition) -> tuple[dt.datetime | None, Words]:
        """When the step's first occurrence is timed from, or (None, why it is not
        scheduled now)."""
        if step.starts_at_enrollment:
            return self.enrollment.timed_from or self.enrollment.created_at, Words("")
        after = self.new[step.after_step]
        done_at = self.history.first_done_at(after.key)
        if done_at is not None:
            return done_at, Words("")
        runs = self.history.runs.get(after.key, [])
        if runs and not self.history.unfinished(after.key):
            name, state = _literal(after.name), runs[-1].state
            return None, Words(f"Not scheduled: “{name}” did not run ({state}).")
        return None, Words(f"Scheduled when “{_literal(after.name)}” is done.")

    # added ------------------------------------------------------------------------

    def _added(self, step: StepDefinition) -> StepChange:
        # The step may have been in an earlier version: moved away and back again.
        earlier = self.history.runs.get(step.key, [])
        if pending := self.history.unfinished(step.key):
            outcome = Words("Already scheduled (due {}).", (pending[0].due_at,))
            return StepChange(step.key, step.name, ADDED, outcome, kind=step.kind)
        if any(run.state != StepRun.State.CANCELLED for run in earlier):
            outcome = Words("Already ran under an earlier version; not scheduled again.")
            return StepChange(step.key, step.name, ADDED, outcome, kind=step.kind)
        base, why = self._base(step)
        if base is None:
            return StepChange(step.key, step.name, ADDED, why, kind=step.kind)
        first = step_timing(step=step, base=base, calendar=self.calendar)
        if first.due >= self.now:
            runs = (NewRun(1, first),)
            outcome = Words("Scheduled for {}.", (first.due,))
        elif self.options.added_steps == EnrollmentMove.AddedSteps.FROM_NOW:
            fresh = step_timing(step=step, base=self.now, calendar=self.calendar)
            runs = (NewRun(1, fresh),)
            outcome = Words(
                "Its time ({}) has passed: timed from now, due {}.", (first.due, fresh.due)
            )
        else:
            runs, outcome = self._caught_up(step, first)
        return StepChange(step.key, step.name, ADDED, outcome, kind=step.kind, create=runs)

    def _caught_up(
        self, step: StepDefinition, first: StepTiming
    ) -> tuple[tuple[NewRun, ...], Words]:
        """A step whose first time has passed, as if it had been there from the start:
        its latest missed occurrence runs now."""
        latest, timing = 1, first
        if step.repeat_every_days:
            while step.repeat_max is None or latest < step.repeat_max:
                following = step_timing(
                    step=step, base=first.planned, calendar=self.calendar, occurrence=latest + 1
                )
                if following.due > self.now:
                    break
                latest, timing = latest + 1, following
        if latest == 1:
            return (NewRun(1, first),), Words("Its time ({}) has passed: runs now.", (first.due,))
        anchor = NewRun(
            1, first, skipped_because=f"added by the move to {self.version_label} after its time"
        )
        outcome = Words(
            f"Occurrence {latest}: its time ({{}}) has passed: runs now.", (timing.due,)
        )
        return (anchor, NewRun(latest, timing)), outcome

    # re-timed ---------------------------------------------------------------------

    def _retimed(
        self, old: StepDefinition, new: StepDefinition, set_kind: tuple[int, ...]
    ) -> StepChange:
        pending = self.history.unfinished(new.key)
        runs = self.history.runs.get(new.key, [])
        if self.options.retimed_steps == EnrollmentMove.RetimedSteps.LEAVE:
            if pending:
                outcome = Words("Timing changed; left as scheduled (due {}).", (pending[0].due_at,))
            else:
                outcome = Words("Timing changed; what comes next follows the new timing.")
            return StepChange(new.key, new.name, RETIMED, outcome, kind=new.kind, set_kind=set_kind)
        if not runs:
            return StepChange(
                new.key,
                new.name,
                RETIMED,
                Words("Timing changed; not reached yet, so it follows the new timing."),
                kind=new.kind,
            )
        cancel, retime, create, notes = [], [], [], []
        first_planned: dt.datetime | None = None
        by_occurrence = {run.occurrence: run for run in runs}
        first_run = by_occurrence.get(1)
        if first_run is not None and first_run.state not in UNFINISHED:
            first_planned = first_run.planned_at or first_run.due_at
        for run in pending:
            if run.occurrence == 1:
                base, why = self._base(new)
                if base is None:
                    notes.append(why + Words("Left as scheduled (due {}).", (run.due_at,)))
                    continue
                timing = step_timing(step=new, base=base, calendar=self.calendar)
                first_planned = timing.planned
            elif not new.repeat_every_days or (
                new.repeat_max is not None and run.occurrence > new.repeat_max
            ):
                cancel.append(run.pk)
                notes.append(
                    Words(f"Occurrence {run.occurrence} cancelled: no longer repeats that far.")
                )
                continue
            elif first_planned is None:
                notes.append(Words(f"Occurrence {run.occurrence} left as scheduled."))
                continue
            else:
                timing = step_timing(
                    step=new, base=first_planned, calendar=self.calendar, occurrence=run.occurrence
                )
            if timing.due == run.due_at:
                notes.append(Words("Due {} either way.", (run.due_at,)))
                continue
            retime.append(Retime(run.pk, run.occurrence, run.due_at, timing))
            due_now = " (due now)" if timing.due <= self.now else ""
            notes.append(Words(f"{{}} → {{}}{due_now}.", (run.due_at, timing.due)))
        latest = runs[-1]
        if (
            not pending
            and new.repeat_every_days
            and latest.state in (StepRun.State.DONE, StepRun.State.SKIPPED)
            and (new.repeat_max is None or latest.occurrence < new.repeat_max)
            and first_planned is not None
        ):
            following = latest.occurrence + 1
            timing = step_timing(
                step=new, base=first_planned, calendar=self.calendar, occurrence=following
            )
            create.append(NewRun(following, timing))
            notes.append(Words(f"Now repeats: occurrence {following} due {{}}.", (timing.due,)))
        if not notes:
            notes.append(Words("Timing changed; already ran, nothing left to re-time."))
        return StepChange(
            new.key,
            new.name,
            RETIMED,
            _joined(notes),
            kind=new.kind,
            cancel=tuple(cancel),
            retime=tuple(retime),
            create=tuple(create),
            set_kind=tuple(pk for pk in set_kind if pk not in cancel),
        )
