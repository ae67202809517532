import difflib
import json

from django.db.models import QuerySet

from apps.playbooks.models import Playbook, PlaybookVersion


def playbooks_for_trigger(*, trigger: str) -> QuerySet[Playbook]:
    """Active playbooks with a published version that start on ``trigger``."""
    return Playbook.objects.filter(
        trigger=trigger, status=Playbook.Status.ACTIVE, current_version__isnull=False
    ).select_related("current_version")


def version_diff(*, old: PlaybookVersion, new: PlaybookVersion) -> list[str]:
    """A unified diff of two versions' snapshots (trigger, filters, cancel rules, steps)."""

    def lines(version: PlaybookVersion) -> list[str]:
        snapshot = {
            "trigger": version.trigger,
            "filters": version.filters,
            "cancel_on": version.cancel_on,
            "steps": version.steps,
        }
        return json.dumps(snapshot, indent=2, ensure_ascii=False, sort_keys=True).splitlines()

    return list(
        difflib.unified_diff(
            lines(old), lines(new), f"v{old.number}", f"v{new.number}", lineterm="", n=3
        )
    )
