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
