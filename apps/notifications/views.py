"""In-app notifications: the list (all, unread, read), mark one or all read, and open one.

Part of the CS web UI, so it uses the page shell in ``apps.core.pages`` (log-in, the
viewer's time zone, the top bar). Someone else's notification answers 404: its existence
is not theirs to know.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ValidationFailed
from apps.core.models import Profile
from apps.core.pages import (
    cs_page,
    preferences_sections,
    render_page,
    safe_next,
    stays_on_site,
)
from apps.core.services import profile_update
from apps.notifications.forms import PreferencesForm
from apps.notifications.models import Notification
from apps.notifications.selectors import notification_list_for
from apps.notifications.services import notification_mark_read, notifications_mark_all_read

PAGE_SIZE = 25
SHOW = {"all": None, "unread": True, "read": False}
EMPTY = {
    "all": "No notifications yet. Reminders and work handed to you will show up here.",
    "unread": "You have read everything.",
    "read": "Nothing read yet.",
}


def _own_notification(request: HttpRequest, pk: int) -> Notification:
    notification = Notification.objects.filter(pk=pk, recipient=request.user).first()
    if notification is None:
        raise Http404("No such notification.")
    return notification


def _list_context(request: HttpRequest) -> dict:
    show = request.GET.get("show", "all")
    if show not in SHOW:
        show = "all"
    notifications = notification_list_for(user=request.user, unread=SHOW[show]).select_related(
        "account", "deal"
    )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "show": show,
        "tabs": [("all", "All"), ("unread", "Unread"), ("read", "Read")],
        "empty": EMPTY[show],
        "next": f"{reverse('notifications:list')}?show={show}",
        "nav": "notifications",
    }


@require_GET
@cs_page(permission=None)
def notification_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "notifications/list.html", _list_context(request))


@require_POST
@cs_page(permission=None)
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _own_notification(request, pk)
    notification_mark_read(notification=notification, user=request.user)
    if request.htmx:
        return render_page(
            request, "notifications/_notification.html", {"notification": notification, "oob": True}
        )
    return redirect(safe_next(request, reverse("notifications:list")))


@require_POST
@cs_page(permission=None)
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications_mark_all_read(user=request.user)
    if request.htmx:
        context = _list_context(request)
        context["marked"] = count
        return render_page(request, "notifications/_list_region.html", context)
    return redirect(safe_next(request, reverse("notifications:list")))


@require_POST
@cs_page(permission=None)
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark it read and go where it leads (a link elsewhere stays on the list)."""
    notification = _own_notification(request, pk)
    notification_mark_read(notification=notification, user=request.user)
    target = notification.url
    if target and stays_on_site(request, target):
        return redirect(target)
    return redirect(reverse("notifications:list"))


@cs_page(permission=None)
def preferences(request: HttpRequest) -> HttpResponse:
    """Time zone, working hours, digest time, out of office and backup, capacity, and
    which channels each kind of notification uses; then the sections other apps register
    (API tokens), which post to their own views."""
    profile = request.profile
    form = PreferencesForm(request.POST or None, instance=profile, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            profile_update(profile=Profile.objects.get(pk=profile.pk), **form.changes())
        except ValidationFailed as exc:
            for field, messages_ in exc.errors.items():
                for message in messages_:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, "Your preferences are saved.")
            return redirect("notifications:preferences")
    status = 400 if form.errors else 200
    return render_page(
        request,
        "notifications/preferences.html",
        {"form": form, "nav": "preferences", "sections": preferences_sections(request)},
        status=status,
    )
