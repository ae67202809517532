"""The CS web UI: My work, the queue view with bulk actions, and the task page.

Views are thin: they read through ``selectors``, write through ``services`` and put a
refused action's reasons back on the form, next to the field. Every action answers an
htmx request with the part of the page it changed, and a plain form post with a
redirect (post/redirect/get), so the pages work without JavaScript too.
"""

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.apps import apps as django_apps
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.core import clock
from apps.core.errors import Conflict, DomainError, NotPermitted
from apps.core.selectors import profile_for
from apps.customers.models import Account
from apps.engine.models import Enrollment, StepRun
from apps.engine.selectors import step_run_effect
from apps.notifications.models import Notification
from apps.queues import selectors, services
from apps.queues.forms import (
    DEFAULT_PAGE_SIZE,
    PAGE_SIZES,
    BulkActionForm,
    TaskAssignForm,
    TaskCommentForm,
    TaskCompleteForm,
    TaskFilterForm,
    TaskSnoozeForm,
    add_domain_errors,
)
from apps.queues.models import OUTCOMES_BY_KIND, Task

User = get_user_model()

SLA_LABELS = {
    "on_track": "On track",
    "due_soon": "Due soon",
    "breached": "Breached",
    "none": "No SLA",
}
MY_WORK_SECTIONS = (
    ("overdue", "Overdue", "Nothing is overdue."),
    ("today", "Due today", "Nothing is due today."),
    ("upcoming", "Upcoming", "Nothing is coming up."),
    ("snoozed", "Snoozed", "No snoozed tasks."),
)
PAST_TASKS_SHOWN = 10


# Page plumbing ---------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cs_page(permission: str | None = "queues.view_task") -> Callable:
    """Log-in required, an optional permission (403 without it), and times shown in the
    viewer's own time zone from their work profile."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if permission and not request.user.has_perm(permission):
                raise PermissionDenied("Your role has no access to this page.")
            request.profile = profile_for(request.user)
            with timezone.override(_zone(request.profile.timezone)):
                return view(request, *args, **kwargs)

        return wrapper

    return decorate


def topbar_counts(user: Any) -> dict[str, int]:
    return {
        "topbar_open_tasks": Task.objects.filter(
            assignee=user, status__in=Task.OPEN_STATUSES
        ).count(),
        "topbar_unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    }


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a page or a partial with the top bar's counts (partials update them out of
    band, so a completed task or a read notification shows in the bar at once)."""
    context = {
        **topbar_counts(request.user),
        "viewer_timezone": request.profile.timezone,
        **context,
    }
    return render(request, template, context, status=status)


def safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _query_without(params: QueryDict, *keys: str) -> str:
    """The query string without ``keys``, for links that change only those."""
    kept = params.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


@dataclass
class Row:
    task: Task
    sla: str

    @property
    def sla_label(self) -> str:
        return SLA_LABELS.get(self.sla, self.sla)

    @property
    def kind_label(self) -> str:
        return kind_label(self.task.kind)

    @property
    def outcome_label(self) -> str:
        return OUTCOMES_BY_KIND.get(self.task.kind, {}).get(self.task.outcome, self.task.outcome)


def kind_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _rows(page: Page, now: dt.datetime) -> list[Row]:
    return [Row(task=task, sla=selectors.sla_state(task, now)) for task in page.object_list]


def _page_size(params: QueryDict) -> int:
    raw = params.get("per_page", "")
    return int(raw) if raw.isdecimal() and int(raw) in PAGE_SIZES else DEFAULT_PAGE_SIZE


def _assignable_people(user: Any) -> QuerySet:
    """People the viewer can hand work to: members and managers of the queues they see."""
    queues = selectors.queues_visible_to(user).values("pk")
    return (
        User.objects.filter(
            Q(task_queues__in=queues) | Q(managed_queues__in=queues), is_active=True
        )
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def _bulk_form(request: HttpRequest, data: QueryDict | None = None) -> BulkActionForm:
    return BulkActionForm(data, assignees=_assignable_people(request.user), auto_id="bulk_%s")


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("queues:my_work")
    return redirect("login")


# My work ---------------------------------------------------------------------------------


def _my_work_context(
    request: HttpRequest, params: QueryDict, *, bulk_form: BulkActionForm | None = None
) -> dict[str, Any]:
    now = clock.now()
    buckets = selectors.my_work(user=request.user, now=now)
    size = _page_size(params)
    sections = []
    for key, title, empty in MY_WORK_SECTIONS:
        page_param = f"{key}_page"
        page = Paginator(buckets[key], size).get_page(params.get(page_param))
        sections.append(
            {
                "key": key,
                "title": title,
                "empty": empty,
                "page": page,
                "rows": _rows(page, now),
                "page_param": page_param,
                "query": _query_without(params, page_param),
            }
        )
    return {
        "sections": sections,
        "all_empty": not any(s["page"].paginator.count for s in sections),
        "bulk_form": bulk_form or _bulk_form(request),
        "list_name": "my_work",
        "nav": "my_work",
        "next": f"{reverse('queues:my_work')}?{params.urlencode()}",
        "now": now,
    }


@require_GET
@cs_page()
def my_work(request: HttpRequest) -> HttpResponse:
    return render_page(request, "queues/my_work.html", _my_work_context(request, request.GET))


# Queue view ------------------------------------------------------------------------------


def _filter_form(request: HttpRequest, params: QueryDict) -> TaskFilterForm:
    """The filter bar. Its choices come from small tables (the viewer's queues, the people
    who work them, the viewer's own accounts), never from scanning the visible tasks: with
    100k tasks those scans cost more than the page itself."""
    user = request.user
    queues = list(selectors.queues_visible_to(user).order_by("name"))
    accounts = Account.objects.filter(Q(csm=user) | Q(owner=user))
    if (selected := params.get("account", "")).isdecimal():
        accounts = accounts | Account.objects.filter(pk=selected)
    assignees = list(
        User.objects.filter(Q(pk=user.pk) | Q(pk__in=_assignable_people(user).values("pk")))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
    return TaskFilterForm(
        params,
        queues=queues,
        assignees=assignees,
        kinds=_task_kinds(),
        accounts=list(accounts.distinct().order_by("name")),
    )


def _task_kinds() -> list[str]:
    # Kinds come from playbook steps and change rarely; a short cache spares a scan.
    kinds = cache.get("queues:task-kinds")
    if kinds is None:
        kinds = sorted(
            set(Task.objects.order_by().values_list("kind", flat=True).distinct())
            | set(OUTCOMES_BY_KIND)
        )
        cache.set("queues:task-kinds", kinds, 300)
    return kinds


def _task_list_context(
    request: HttpRequest, params: QueryDict, *, bulk_form: BulkActionForm | None = None
) -> dict[str, Any]:
    now = clock.now()
    filter_form = _filter_form(request, params)
    tasks = selectors.task_list(user=request.user, filters=filter_form.task_filters())
    tasks = tasks.order_by(*filter_form.ordering())
    page = Paginator(tasks, filter_form.page_size()).get_page(params.get("page"))
    filtered = (
        any(params.get(key) for key in ("queue", "assignee", "priority", "kind", "due", "account"))
        or params.get("search")
        or params.get("status") not in (None, "", "active")
    )
    return {
        "filter_form": filter_form,
        "page": page,
        "rows": _rows(page, now),
        "query": _query_without(params, "page"),
        "sort_query": _query_without(params, "page", "sort"),
        "current_sort": filter_form.cleaned().get("sort") or "priority",
        "filtered": filtered,
        "bulk_form": bulk_form or _bulk_form(request),
        "list_name": "task_list",
        "nav": "task_list",
        "next": f"{reverse('queues:task_list')}?{params.urlencode()}",
        "now": now,
    }


@require_GET
@cs_page()
def task_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "queues/task_list.html", _task_list_context(request, request.GET))


LIST_CONTEXTS = {
    "my_work": (_my_work_context, "queues/my_work.html", "queues/_my_work_region.html"),
    "task_list": (_task_list_context, "queues/task_list.html", "queues/_task_list_region.html"),
}


@require_POST
@cs_page(permission="queues.change_task")
def tasks_bulk(request: HttpRequest) -> HttpResponse:
    """Apply an action to the selected tasks; each task succeeds or says why not."""
    list_name = request.POST.get("list") if request.POST.get("list") in LIST_CONTEXTS else "my_work"
    build_context, page_template, region_template = LIST_CONTEXTS[list_name]
    next_url = safe_next(request, reverse(f"queues:{list_name}"))
    params = QueryDict(next_url.partition("?")[2])
    form = _bulk_form(request, request.POST)
    ids = [int(v) for v in request.POST.getlist("task") if v.isdecimal()]
    tasks = list(selectors.tasks_visible_to(request.user).filter(pk__in=ids))
    if form.is_valid() and not tasks:
        form.add_error(None, "Select at least one task first.")
    status = 400
    if form.is_valid():
        try:
            result = services.tasks_bulk(
                tasks=tasks, actor=request.user, action=form.cleaned_data["action"], **form.params()
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            _bulk_messages(request, result, tasks)
            if not request.htmx:
                return redirect(next_url)
            form, status = None, 200
    context = build_context(request, params, bulk_form=form)
    if form is not None:
        # A refused action keeps the selection, so fixing the form is all it takes.
        context["selected_ids"] = {task.pk for task in tasks}
    template = region_template if request.htmx else page_template
    return render_page(request, template, context, status=status)


def _bulk_messages(request: HttpRequest, result: Any, tasks: list[Task]) -> None:
    titles = {task.pk: task.title for task in tasks}
    level = messages.SUCCESS if not result.failed else messages.WARNING
    messages.add_message(request, level, result.summary[:1].upper() + result.summary[1:] + ".")
    for item in result.items:
        if not item.ok:
            messages.error(request, f"“{titles.get(item.task_id, item.task_id)}”: {item.message}")


# One task --------------------------------------------------------------------------------


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
    timeline = []
    for enrollment in enrollments.select_related("playbook", "version__playbook").prefetch_related(
        "step_runs"
    ):
        runs_by_key: dict[str, list[StepRun]] = {}
        for run in enrollment.step_runs.all():
            runs_by_key.setdefault(run.step_key, []).append(run)
        steps = []
        for step in enrollment.version.steps:
            runs = sorted(runs_by_key.pop(step["key"], []), key=lambda r: (r.due_at, r.pk))
            steps.append(
                {
                    "name": step.get("name") or step["key"],
                    "kind": step.get("kind", ""),
                    "timing": _step_timing(step),
                    "runs": [_run_entry(run, task) for run in runs],
                }
            )
        timeline.append({"enrollment": enrollment, "steps": steps})
    return timeline


def _step_timing(step: dict[str, Any]) -> str:
    days, hours = step.get("delay_days") or 0, step.get("delay_hours") or 0
    unit = "business day" if step.get("business_days") else "day"
    parts = []
    if days:
        parts.append(f"{days} {unit}{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    delay = " and ".join(parts)
    if step.get("start") == "after_step":
        anchor = f"after “{step.get('after_step')}” finishes"
    else:
        anchor = "after enrollment" if delay else "at enrollment"
    text = f"{delay} {anchor}".strip()
    if step.get("at_time"):
        text += f", at {step['at_time']} the customer's time"
    if step.get("repeat_every_days"):
        text += f"; repeats every {step['repeat_every_days']} days"
    if step.get("conditions"):
        text += "; only if its conditions hold"
    return text[:1].upper() + text[1:]


def _run_entry(run: StepRun, task: Task) -> dict[str, Any]:
    finished = run.state in StepRun.FINISHED_STATES
    when = (run.finished_at or run.due_at) if finished else run.due_at
    effect = step_run_effect(run, show_error=False)
    return {
        "run": run,
        "when": when,
        "effect": effect,
        "upcoming": run.state
        in (StepRun.State.PENDING, StepRun.State.RUNNING, *StepRun.DUE_STATES),
        "is_this_task": run.pk == task.step_run_id,
    }


def _survey_answers(task: Task) -> list[Any]:
    """Survey responses for the account, once a surveys app provides them."""
    if not task.account_id or not django_apps.is_installed("apps.surveys"):
        return []
    for name in ("SurveyResponse", "Response"):
        try:
            model = django_apps.get_model("surveys", name)
        except LookupError:
            continue
        if any(f.name == "account" for f in model._meta.get_fields()):
            return list(model.objects.filter(account_id=task.account_id).order_by("-pk")[:10])
    return []


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
        "survey_answers": _survey_answers(task),
        "back_url": safe_next(request, reverse("queues:my_work")),
    }


@require_GET
@cs_page()
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
) -> HttpResponse:
    """Validate, call the service, then answer: the refreshed part of the page for htmx,
    a redirect for a plain post; on refusal, the form again with the reasons (400, or 409
    when someone else changed the task first)."""
    status = 400
    if form.is_valid():
        try:
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
        success=lambda data: f"Snoozed until {timezone.localtime(data['until']):%a %d %b, %H:%M}.",
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
@cs_page()
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
