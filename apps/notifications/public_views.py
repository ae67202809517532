"""Pages customers reach from an email, without logging in: unsubscribe (and subscribe
again: only the contact's own link clears an unsubscribe, apart from an admin with a
written reason).

The signed token in the link is the only credential. A GET only asks (mail scanners
open links); a POST unsubscribes, from the page's button or from the mail client's
one-click request (RFC 8058), which carries no CSRF token: the signed token stands in.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from apps.core.ratelimits import path_token_key, per_ip_rate, per_token_rate
from apps.customers.models import ConsentChange, Contact
from apps.customers.services import contact_resubscribe_by_link, contact_unsubscribe
from apps.notifications.unsubscribe import contact_id_from_token


@csrf_exempt
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=per_ip_rate, block=True)
@ratelimit(
    key=path_token_key,
    rate=per_token_rate,
    method="POST",
    block=True,
)
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    contact_id = contact_id_from_token(token)
    contact = Contact.objects.select_related("account").filter(pk=contact_id).first()
    if contact is None:
        return render(request, "notifications/unsubscribe_invalid.html", status=404)
    if request.method == "POST" and request.POST.get("action") == "resubscribe":
        # The contact's own choice, from this page: recorded as such.
        contact_resubscribe_by_link(contact=contact)
        return render(request, "notifications/resubscribed.html", {"contact": contact})
    if request.method == "POST":
        # A mail client's one-click POST says List-Unsubscribe=One-Click in its body.
        how = (
            ConsentChange.How.ONE_CLICK
            if request.POST.get("List-Unsubscribe") == "One-Click"
            else ConsentChange.How.EMAIL_LINK
        )
        contact_unsubscribe(contact=contact, how=how)
        return render(request, "notifications/unsubscribed.html", {"contact": contact})
    return render(request, "notifications/unsubscribe.html", {"contact": contact})
