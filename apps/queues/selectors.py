from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.queues.models import Queue, Task

# Roles that oversee every queue rather than working their own.
ROLES_SEEING_ALL_TASKS = ("Admin", "CS Manager")


def task_user_sees_all(*, user: Any) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name__in=ROLES_SEEING_ALL_TASKS).exists()


def task_list_visible_to(*, user: Any) -> QuerySet[Task]:
    """Tasks ``user`` may see: all of them for superusers, admins and CS managers;
    otherwise the tasks assigned to them and those in queues they are a member of."""
    tasks = Task.objects.select_related("queue", "account", "deal", "assignee", "completed_by")
    if not user.is_authenticated:
        return tasks.none()
    if task_user_sees_all(user=user):
        return tasks
    # A subquery rather than a join on the members table, so no task appears twice.
    member_of = Queue.objects.filter(members=user).values("pk")
    return tasks.filter(Q(assignee=user) | Q(queue__in=member_of))


def queue_list_with_open_counts() -> QuerySet[Queue]:
    # Meta.ordering is dropped from aggregating queries, so the order is stated here.
    return Queue.objects.annotate(
        open_task_count=Count("tasks", filter=Q(tasks__status__in=Task.OPEN_STATUSES))
    ).order_by("name", "id")
