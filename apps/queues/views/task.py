"""The task page of the CS web UI: the task with its account, deal, playbook timeline
and past work, and its actions (complete, snooze, assign, claim, start, comment).

Every action answers an htmx request with the part of the page it changed, and a plain
form post with a redirect (post/redirect/get), so the page works without JavaScript too.
A refused action's reasons go back on its form, next to the field.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core import clock
from apps.core.dates import datetime_text
from apps.core.errors import Conflict, DomainError, NotPermitted
from apps.core.pages import cs_page, render_page, safe_next, task_panels
from apps.engine.models import Enrollment
from apps.engine.selectors import enrollment_timeline
from apps.queues import selectors, services
from apps.queues.forms import (
    TaskAssignForm,
    TaskCommentForm,
    TaskCompleteForm,
    TaskSnoozeForm,
    add_domain_errors,
)
from apps.queues.models import Task
from apps.queues.views.rows import Row

User = get_user_model()

PAST_TASKS_SHOWN = 10


def _visible_task(request: HttpRequest, pk: int) -> Task:
    """The task, if the viewer may see it; otherwise 404, so its existence does not leak."""
    task = (
        selectors.tasks_visible_to(request.user)
        .select_related("account__csm", "account__owner", "deal__owner", "step_run")
        .filter(pk=pk)
        .first()
    )
    if task is None:
        raise Http404("No such task.")
    return task


def _workable_task(request: HttpRequest, pk: int) -> Task:
    task = _visible_task(request, pk)
    if not selectors.user_can_work(request.user, task):
        raise PermissionDenied("You may see this task but not work on it.")
    return task


def _assign_candidates(task: Task) -> QuerySet:
    """People the task may go to: its queue's members and manager, the account's CSM and
    the deal owner (the service makes the final call)."""
    who = Q(task_queues=task.queue) | Q(managed_queues=task.queue)
    if task.account_id and task.account.csm_id:
        who |= Q(pk=task.account.csm_id)
    if task.deal_id and task.deal.owner_id:
        who |= Q(pk=task.deal.owner_id)
    return (
        User.objects.filter(who, is_active=True)
        .exclude(pk=task.assignee_id or 0)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _task_forms(request: HttpRequest, task: Task, bound: dict[str, forms.Form]) -> dict:
    return {
        "complete_form": bound.get("complete")
        or TaskCompleteForm(task=task, auto_id="complete_%s"),
        "snooze_form": bound.get("snooze")
        or TaskSnoozeForm(
            now=clock.now(), day_start=request.profile.work_start, auto_id="snooze_%s"
        ),
        "assign_form": bound.get("assign")
        or TaskAssignForm(assignees=_assign_candidates(task), auto_id="assign_%s"),
        "comment_form": bound.get("comment") or TaskCommentForm(auto_id="comment_%s"),
    }


def _task_work_context(
    request: HttpRequest, task: Task, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    """The part of the task page that actions change: state, actions and activity."""
    now = clock.now()
    can_work = selectors.user_can_work(request.user, task)
    return {
        "task": task,
        "now": now,
        "row": Row(task=task, sla=selectors.sla_state(task, now)),
        "can_work": can_work and task.is_open,
        "can_claim": can_work and task.is_open and task.assignee_id is None,
        # Starting someone else's task is theirs to do, even for a manager.
        "can_start": can_work
        and task.status == Task.Status.OPEN
        and task.assignee_id in (None, request.user.pk),
        "is_snoozed": task.is_snoozed(now),
        "activities": selectors.task_activities(task=task, newest_first=True),
        **_task_forms(request, task, bound or {}),
    }


def _timeline(task: Task) -> list[dict[str, Any]]:
    """What the playbook did and will do for the task's deal, step by step."""
    enrollments: QuerySet[Enrollment]
    if task.deal_id:
        enrollments = Enrollment.objects.filter(deal_id=task.deal_id)
    elif task.step_run_id:
        enrollments = Enrollment.objects.filter(pk=task.step_run.enrollment_id)
    else:
        return []
    return enrollment_timeline(enrollments=enrollments, current_step_run_id=task.step_run_id)


def _task_detail_context(
    request: HttpRequest, task: Task, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    account, deal = task.account, task.deal
    past_tasks = []
    if account is not None:
        past_tasks = list(
            selectors.tasks_visible_to(request.user)
            .filter(account=account)
            .exclude(pk=task.pk)
            .order_by("-created_at", "-id")[:PAST_TASKS_SHOWN]
        )
    return {
        **_task_work_context(request, task, bound),
        "account": account,
        "contacts": list(account.contacts.all()) if account else [],
        "deal": deal,
        "line_items": list(deal.line_items.select_related("product")) if deal else [],
        "timeline": _timeline(task),
        "past_tasks": past_tasks,
        "panels": task_panels(task),
        "back_url": safe_next(request, reverse("queues:my_work")),
    }


@require_GET
@cs_page(permission="queues.view_task")
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    return render_page(request, "queues/task_detail.html", _task_detail_context(request, task))


def _task_action(
    request: HttpRequest,
    task: Task,
    *,
    name: str,
    form: forms.Form,
    perform: Callable[[dict[str, Any]], Any],
    success: str | Callable[[dict[str, Any]], str],
    warnings: Callable[[dict[str, Any]], list[str]] | None = None,
) -> HttpResponse:
    """Validate, call the service, then answer: the refreshed part of the page for htmx,
    a redirect for a plain post; on refusal, the form again with the reasons (400, or 409
    when someone else changed the task first)."""
    status = 400
    if form.is_valid():
        try:
            # Read before the change: what it will cost, said after it is done.
            cautions = warnings(form.cleaned_data) if warnings else []
            perform(form.cleaned_data)
        except NotPermitted as error:
            raise PermissionDenied(error.message) from error
        except Conflict as error:
            # Someone else changed the task first: show its state now, and why.
            messages.error(request, error.message)
            task, form, status = _visible_task(request, task.pk), None, 409
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, success(form.cleaned_data) if callable(success) else success)
            for caution in cautions:
                messages.warning(request, caution)
            if not request.htmx:
                return redirect("queues:task_detail", pk=task.pk)
            fresh = _visible_task(request, task.pk)
            return render_page(
                request, "queues/_task_work.html", _task_work_context(request, fresh)
            )
    bound = {name: form} if form is not None else {}
    if request.htmx:
        context = _task_work_context(request, task, bound)
        return render_page(request, "queues/_task_work.html", context, status=status)
    context = _task_detail_context(request, task, bound)
    return render_page(request, "queues/task_detail.html", context, status=status)


@require_POST
@cs_page(permission="queues.change_task")
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = _workable_task(request, pk)
    return _task_action(
        request,
        task,
        name="complete",
        form=TaskCompleteForm(request.POST, task=task, auto_id="complete_%s"),
        perform=lambda data: services.task_complete(
            task=task, actor=request.user, outcome=data["outcome"], notes=data["notes"]
        ),
        success="Task completed.",
    )


@require_POST
@cs_page(permission="queues.change_task")
def task_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    task = _workable_task(request, pk)
    form = TaskSnoozeForm(
        request.POST, now=clock.now(), day_start=request.profile.work_start, auto_id="snooze_%s"
    )
    return _task_action(
        request,
        task,
        name="snooze",
        form=form,
        perform=lambda data: services.task_snooze(
            task=task, actor=request.user, until=data["until"]
        ),
        success=lambda data: f"Snoozed until {datetime_text(timezone.localtime(data['until']))}.",
        warnings=lambda data: services.snooze_warnings(task=task, until=data["until"]),
    )


@require_POST
@cs_page(permission="queues.change_task")
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    # Handing a task on is decided by the service (a manager may reassign anyone's task,
    # a member only their own or an unassigned one), so only visibility is checked here.
    task = _visible_task(request, pk)
    form = TaskAssignForm(request.POST, assignees=_assign_candidates(task), auto_id="assign_%s")
    return _task_action(
        request,
        task,
        name="assign",
        form=form,
        perform=lambda data: services.task_assign(
            task=task, actor=request.user, assignee=data["assignee"], reason=data["reason"]
        ),
        success="Task reassigned.",
    )


@require_POST
@cs_page(permission="queues.change_task")
def task_claim(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    return _task_action(
        request,
        task,
        name="claim",
        form=forms.Form(request.POST),
        perform=lambda data: services.task_claim(task=task, actor=request.user),
        success="The task is yours.",
    )


@require_POST
@cs_page(permission="queues.change_task")
def task_start(request: HttpRequest, pk: int) -> HttpResponse:
    task = _workable_task(request, pk)
    return _task_action(
        request,
        task,
        name="start",
        form=forms.Form(request.POST),
        perform=lambda data: services.task_start(task=task, actor=request.user),
        success="Marked in progress.",
    )


@require_POST
@cs_page(permission="queues.view_task")
def task_comment(request: HttpRequest, pk: int) -> HttpResponse:
    # Anyone who can see a task may comment on it.
    task = _visible_task(request, pk)
    return _task_action(
        request,
        task,
        name="comment",
        form=TaskCommentForm(request.POST, auto_id="comment_%s"),
        perform=lambda data: services.task_comment(
            task=task, actor=request.user, body=data["body"]
        ),
        success="Comment posted.",
    )
