"""The task lists of the CS web UI: My work, the queue view, and bulk actions on either.

Views are thin: they read through ``selectors``, write through ``services`` and put a
refused action's reasons back on the form, next to the field. A bulk action answers an
htmx request with the list region it changed and a plain form post with a redirect
(post/redirect/get), so the lists work without JavaScript too.
"""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core import clock
from apps.core.errors import DomainError
from apps.core.pages import cs_page, render_page, safe_next
from apps.customers.models import Account
from apps.queues import selectors, services
from apps.queues.forms import (
    DEFAULT_PAGE_SIZE,
    NARROWING_FILTERS,
    PAGE_SIZES,
    BulkActionForm,
    TaskFilterForm,
    add_domain_errors,
)
from apps.queues.models import OUTCOMES_BY_KIND, Task
from apps.queues.views.rows import Row

User = get_user_model()

MY_WORK_SECTIONS = (
    ("overdue", "Overdue", "Nothing is overdue."),
    ("today", "Due today", "Nothing is due today."),
    ("upcoming", "Upcoming", "Nothing is coming up."),
    ("snoozed", "Snoozed", "No snoozed tasks."),
)


def _query_without(params: QueryDict, *keys: str) -> str:
    """The query string without ``keys``, for links that change only those."""
    kept = params.copy()
    for key in keys:
        kept.pop(key, None)
    return kept.urlencode()


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
@cs_page(permission="queues.view_task")
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
        any(params.get(key) for key in NARROWING_FILTERS)
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
@cs_page(permission="queues.view_task")
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
