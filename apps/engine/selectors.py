import datetime as dt
import zoneinfo
from typing import Any

from apps.engine.models import StepRun


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
    "Sun 28 Feb 10:00 → Mon 1 Mar 10:00: not a business day (weekend)"; "" if it was not."""
    if not run.moved_because or run.planned_at is None or run.planned_at == run.due_at:
        return ""
    if tz is None:
        tz = run.enrollment.account.timezone
    zone = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz

    def local(moment: dt.datetime) -> str:
        at = moment.astimezone(zone)
        return f"{at:%a} {at.day} {at:%b %H:%M}"

    return f"{local(run.planned_at)} → {local(run.due_at)}: {run.moved_because}"
