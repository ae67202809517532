"""The email outbox in the CS web UI: every email Afterwin sent or will send, readable as
the recipient sees it. With the default set-up nothing leaves the machine (the console
backend), so this is where a newcomer reads the welcome email or opens a survey link."""

from csp import constants as csp
from csp.decorators import csp_update
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from apps.core.pages import cs_page, render_page
from apps.notifications.models import EmailMessage

PAGE_SIZE = 25


@require_GET
@cs_page(permission="notifications.view_emailmessage")
def email_list(request: HttpRequest) -> HttpResponse:
    emails = EmailMessage.objects.select_related("contact__account").order_by("-created_at", "-id")
    to = (request.GET.get("to") or "").strip()
    if to:
        emails = emails.filter(to_email__icontains=to)
    page = Paginator(emails, PAGE_SIZE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "notifications/email_list.html",
        {"nav": "emails", "page": page, "to": to, "query": f"to={to}" if to else ""},
    )


# The email is shown in a sandboxed iframe (no script, no access to this page) whose
# document inherits this page's Content Security Policy; customer emails carry their
# styles inline, as mail clients need, so this page alone allows inline styles.
@csp_update({"style-src": [csp.UNSAFE_INLINE]})
@require_GET
@cs_page(permission="notifications.view_emailmessage")
def email_detail(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(EmailMessage.objects.select_related("contact__account"), pk=pk)
    context = {"nav": "emails", "email": email}
    return render_page(request, "notifications/email_detail.html", context)
