"""The page shell every app's pages share: log-in and the viewer's time zone, the top bar's
counts, where "/" leads and safe "next" links. The layout itself is templates/base.html.

Apps contribute without core knowing them: in their ``AppConfig.ready()`` they register a
top-bar count (``register_topbar_count``), start pages for those with a permission
(``register_start_page``), sections of the Preferences page
(``register_preferences_section``) and of the task and deal pages (``register_task_panel``,
``register_deal_panel``). So no app imports another to draw a page.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.errors import DomainError
from apps.core.selectors import profile_for

TopbarCount = Callable[[Any], int]

_topbar_counts: dict[str, TopbarCount] = {}


def register_topbar_count(name: str, count: TopbarCount) -> None:
    """Show ``count(user)`` in the top bar: templates read it as ``topbar_<name>``.

    Registering the same name again replaces the function (module reloads in tests)."""
    _topbar_counts[name] = count


@dataclass(frozen=True)
class StartPage:
    url_name: str
    permission: str | None
    order: int


_start_pages: dict[str, StartPage] = {}


def register_start_page(url_name: str, *, permission: str | None = None, order: int = 100) -> None:
    """Where "/" sends someone who is logged in (a URL name such as "app:view"): the
    start page of lowest ``order`` whose ``permission`` they have. One without a
    permission is everyone's default; give it the highest order. Registering the same
    URL name again replaces it (module reloads in tests)."""
    _start_pages[url_name] = StartPage(url_name=url_name, permission=permission, order=order)


def start_page(user: Any) -> str:
    """The URL name "/" sends ``user`` to: the first registered start page they may see."""
    for page in sorted(_start_pages.values(), key=lambda p: (p.order, p.url_name)):
        if page.permission is None or user.has_perm(page.permission):
            return page.url_name
    raise ImproperlyConfigured(
        "No start page fits this user: register one without a permission (register_start_page)."
    )


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    permission: str | None
    key: str


@dataclass(frozen=True)
class TaskPanel:
    """A section of the task page another app draws: ``template`` rendered with
    ``items`` = ``read(task)``, shown when that is not empty."""

    template: str
    read: Callable[[Any], list[Any]]


@dataclass(frozen=True)
class DealPanel:
    """A section of the deal page an app above ``deals`` draws: ``template`` rendered with
    ``panel`` = ``read(deal)``, shown when that is not None. A panel whose value has a
    true ``refresh`` attribute is still changing (work started after commit): the deal
    page reloads it every few seconds, a bounded number of times. ``key`` names it in
    the URL that reloads it."""

    key: str
    template: str
    read: Callable[[Any], Any]


@dataclass(frozen=True)
class PreferencesSection:
    """A section of the Preferences page another app draws: ``template`` rendered with
    what ``read(request)`` returns added to the page's context."""

    template: str
    read: Callable[[HttpRequest], dict[str, Any]]


_nav_links: dict[str, NavLink] = {}
_task_panels: dict[str, TaskPanel] = {}
_deal_panels: dict[str, DealPanel] = {}
_preferences_sections: dict[str, PreferencesSection] = {}


def register_nav_link(*, label: str, url_name: str, permission: str | None, key: str) -> None:
    """A link in the top bar's main menu, after the built-in ones, for those with
    ``permission``. ``key`` marks it current when a page passes ``nav=key``."""
    _nav_links[key] = NavLink(label=label, url_name=url_name, permission=permission, key=key)


def nav_links(user: Any) -> list[NavLink]:
    return [
        link
        for link in _nav_links.values()
        if link.permission is None or user.has_perm(link.permission)
    ]


def register_task_panel(template: str, read: Callable[[Any], list[Any]]) -> None:
    """Show ``template`` on the task page with what ``read(task)`` returns."""
    _task_panels[template] = TaskPanel(template=template, read=read)


def task_panels(task: Any) -> list[tuple[str, list[Any]]]:
    """(template, items) for each registered panel that has something for ``task``."""
    panels = [(panel.template, panel.read(task)) for panel in _task_panels.values()]
    return [(template, items) for template, items in panels if items]


def register_deal_panel(template: str, read: Callable[[Any], Any], *, key: str = "") -> None:
    """Show ``template`` on the deal page with what ``read(deal)`` returns (see
    ``DealPanel``). ``key`` defaults to the template's file name without "_" and ".html"."""
    key = key or template.rsplit("/", 1)[-1].removesuffix(".html").strip("_")
    _deal_panels[key] = DealPanel(key=key, template=template, read=read)


def deal_panel(key: str) -> DealPanel | None:
    return _deal_panels.get(key)


def deal_panels(deal: Any) -> list[tuple[DealPanel, Any]]:
    """(panel, value) for each registered deal panel that has something for ``deal``."""
    panels = [(panel, panel.read(deal)) for panel in _deal_panels.values()]
    return [(panel, value) for panel, value in panels if value is not None]


def register_preferences_section(
    template: str, read: Callable[[HttpRequest], dict[str, Any]]
) -> None:
    """Show ``template`` on the Preferences page with the context ``read(request)`` gives."""
    _preferences_sections[template] = PreferencesSection(template=template, read=read)


def preferences_sections(request: HttpRequest) -> list[tuple[str, dict[str, Any]]]:
    """(template, context) for each registered section of the Preferences page."""
    return [(section.template, section.read(request)) for section in _preferences_sections.values()]


def topbar_counts(user: Any) -> dict[str, int]:
    """One query per registered count, whatever the page."""
    return {f"topbar_{name}": count(user) for name, count in _topbar_counts.items()}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def cs_page(permission: str | None) -> Callable:
    """Log-in required, an optional permission (403 without it), and times shown in the
    viewer's own time zone from their work profile (``request.profile``)."""

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


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    """Render a page or a partial with the top bar's counts (partials update them out of
    band, so a completed task or a read notification shows in the bar at once)."""
    context = {
        **topbar_counts(request.user),
        "nav_links": nav_links(request.user),
        "viewer_timezone": request.profile.timezone,
        **context,
    }
    return render(request, template, context, status=status)


def add_domain_errors(form: forms.Form, error: DomainError) -> None:
    """Put a service's errors on a page's form: next to the field they name, else on top."""
    if not error.errors:
        form.add_error(None, error.message)
    for field, messages in error.errors.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The ``next`` the request asks for if it stays on this site, else ``fallback``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if stays_on_site(request, target) else fallback


def stays_on_site(request: HttpRequest, url: str) -> bool:
    """Whether redirecting to ``url`` keeps the viewer on this site (no open redirects)."""
    return url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("login")
    return redirect(start_page(request.user))
