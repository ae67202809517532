"""What the tests of the task list's SLA and completion filters share, on the page and in
the API: one queue's tasks past, within and without an SLA, and tasks two people
completed in ISO weeks 46 and 47 of 2026."""

import datetime as dt

from apps.queues.models import Task
from tests.factories import QueueFactory, TaskFactory, UserFactory

NOW = dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC)  # Wednesday of ISO week 47
HOUR = dt.timedelta(hours=1)


def sla_and_completion_tasks(manager) -> tuple:
    """Carla and Chris, CSMs in ``manager``'s queue, and its tasks; returns the two."""
    carla = UserFactory(username="carla", role="CSM")
    chris = UserFactory(username="chris", role="CSM")
    queue = QueueFactory(name="Onboarding", members=[carla, chris], manager=manager)

    def task(title, **kwargs):
        return TaskFactory(queue=queue, title=title, **kwargs)

    task("Open, past its SLA", assignee=carla, sla_due_at=NOW - HOUR)
    task("Open, within its SLA", assignee=carla, sla_due_at=NOW + HOUR)
    task("Open, no SLA", assignee=carla)
    task("Marked breached", assignee=carla, sla_due_at=NOW + HOUR, sla_breached_at=NOW - HOUR)
    done = Task.Status.DONE
    monday = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)
    task(
        "Done late", status=done, completed_by=chris, completed_at=monday, sla_due_at=monday - HOUR
    )
    task(
        "Done in time",
        status=done,
        completed_by=chris,
        completed_at=monday,
        sla_due_at=monday + HOUR,
    )
    task("Done by Carla", status=done, completed_by=carla, completed_at=monday)
    task("Done last week", status=done, completed_by=chris, completed_at=monday - 7 * 24 * HOUR)
    # Sunday 23:30 UTC is already Monday of week 47 in Berlin.
    task(
        "Done late Sunday",
        status=done,
        completed_by=chris,
        completed_at=dt.datetime(2026, 11, 15, 23, 30, tzinfo=dt.UTC),
    )
    return carla, chris
