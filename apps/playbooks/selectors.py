from django.db.models import QuerySet

from apps.playbooks.models import Playbook


def playbooks_for_trigger(*, trigger: str) -> QuerySet[Playbook]:
    """Active playbooks with a published version that start on ``trigger``."""
    return Playbook.objects.filter(
        trigger=trigger, status=Playbook.Status.ACTIVE, current_version__isnull=False
    ).select_related("current_version")
