"""The page a customer reaches from a referral email: no login, the signed token is the
credential. It says who is referring and takes the company they recommend.

Opening the link is counted once (the funnel's "link opened"); nothing else is stored by
a GET. A tampered or unknown link is a 404, a closed one a 410, invalid fields a 400 with
a message per field, the same address twice through one link a 409, and a filled-in
honeypot field a 400; none of them stores anything.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from apps.core import clock
from apps.core.errors import Conflict, Gone, ValidationFailed
from apps.core.ratelimits import path_token_key, per_ip_rate, per_token_rate
from apps.growth.models import ReferralRequest
from apps.growth.referrals import (
    NOTE_MAX,
    Submission,
    referral_submit,
    request_opened,
    request_state,
)
from apps.growth.tokens import referral_request_id_from_token

# Left empty by people (it is hidden from them); bots fill every field.
HONEYPOT = "website"
FIELDS = ("company", "contact_name", "email", "title", "note")


def _page(request, template, context, status=200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"  # the token is in the path
    return response


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=per_ip_rate, method="POST", block=True)
@ratelimit(key=path_token_key, rate=per_token_rate, method="POST", block=True)
def refer(request: HttpRequest, token: str) -> HttpResponse:
    request_id = referral_request_id_from_token(token)
    ask = (
        ReferralRequest.objects.select_related("contact", "account").filter(pk=request_id).first()
        if request_id
        else None
    )
    if ask is None:
        return _page(request, "growth/public/invalid.html", {}, status=404)
    now = clock.now()
    base = {"ask": ask, "referrer": ask.contact, "company": ask.account.name}
    if request_state(ask, now) != "open":
        return _page(request, "growth/public/closed.html", base, status=410)
    values = {name: "" for name in FIELDS}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "GET":
        request_opened(ask, now)
    elif request.POST.get(HONEYPOT, ""):
        errors = {"non_field_errors": ["This looked automated, so it was not sent."]}
        status = 400
    else:
        values = {name: request.POST.get(name, "") for name in FIELDS}
        submission = Submission(**values, consent=request.POST.get("consent") == "yes")
        try:
            referral = referral_submit(request=ask, submission=submission)
        except ValidationFailed as exc:
            errors, status = exc.errors, 400
        except Conflict as exc:
            errors, status = {"non_field_errors": [exc.message]}, 409
        except Gone:
            return _page(request, "growth/public/closed.html", base, status=410)
        else:
            return _page(request, "growth/public/thanks.html", {**base, "referral": referral})
    return _page(
        request,
        "growth/public/refer.html",
        {
            **base,
            "values": values,
            "errors": errors,
            "general_errors": errors.get("non_field_errors", []),
            "note_max": NOTE_MAX,
            "honeypot": HONEYPOT,
        },
        status=status,
    )
