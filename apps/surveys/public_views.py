"""The page a customer reaches from a survey email: no login, the signed token is the
credential.

A GET never stores anything: mail scanners and link previewers open every link, so the
score in the link is only preselected, and one tap on the button (a POST) answers.
Tampered, unknown, expired and answered tokens get a page that says which, with a 4xx.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from apps.core import clock
from apps.core.errors import Conflict, ValidationFailed
from apps.core.ratelimits import path_token_key, per_ip_rate, per_token_rate
from apps.surveys.models import BAND_NAMES, SCALE_LABELS, SCALES, Invitation, band_of
from apps.surveys.services import (
    COMMENT_MAX,
    invitation_state,
    parse_score,
    question_text,
    response_record,
)
from apps.surveys.tokens import invitation_id_from_token


def _page(request, template, context, status=200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    # The token is in the path: it must not leak to other sites ("no-referrer" would also
    # blank the Origin of our own form post, which the CSRF check needs).
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=per_ip_rate, method="POST", block=True)
@ratelimit(
    key=path_token_key,
    rate=per_token_rate,
    method="POST",
    block=True,
)
def answer(request: HttpRequest, token: str) -> HttpResponse:
    invitation_id = invitation_id_from_token(token)
    invitation = (
        Invitation.objects.select_related("survey", "account", "contact")
        .filter(pk=invitation_id)
        .first()
        if invitation_id
        else None
    )
    if invitation is None:
        return _page(request, "surveys/public/invalid.html", {}, status=404)
    survey = invitation.survey
    state = invitation_state(invitation, clock.now())
    base = {
        "invitation": invitation,
        "survey": survey,
        "company": invitation.account.name,
        "question": question_text(survey, invitation.account.name),
    }
    if state == "answered":
        response = invitation.response
        return _page(
            request,
            "surveys/public/answered.html",
            {**base, "response": response, "thanks": survey.thanks_for(response.band)},
            status=409 if request.method == "POST" else 200,
        )
    if state != "open":
        return _page(request, "surveys/public/expired.html", base, status=410)

    low, high, _, _ = SCALES[survey.kind]
    errors: dict[str, list[str]] = {}
    raw_score = request.POST.get("score") if request.method == "POST" else request.GET.get("score")
    comment = request.POST.get("comment", "") if request.method == "POST" else ""
    selected = None
    if raw_score not in (None, ""):
        try:
            selected = parse_score(survey, raw_score)
        except ValidationFailed as exc:
            if request.method == "POST":
                errors = exc.errors
    if request.method == "POST" and not errors:
        try:
            response = response_record(invitation=invitation, score=raw_score, comment=comment)
        except ValidationFailed as exc:
            errors = exc.errors
        except Conflict:
            # Answered (or expired) between reading the page and sending it.
            invitation.refresh_from_db()
            if invitation_state(invitation, clock.now()) != "answered":
                return _page(request, "surveys/public/expired.html", base, status=410)
            response = invitation.response
            return _page(
                request,
                "surveys/public/answered.html",
                {**base, "response": response, "thanks": survey.thanks_for(response.band)},
                status=409,
            )
        else:
            return _page(
                request,
                "surveys/public/thanks.html",
                {**base, "response": response, "thanks": survey.thanks_for(response.band)},
            )
    band = band_of(survey.kind, selected) if selected is not None else BAND_NAMES[survey.kind][0]
    low_label, high_label = SCALE_LABELS[survey.kind]
    return _page(
        request,
        "surveys/public/answer.html",
        {
            **base,
            "scores": range(low, high + 1),
            "selected": selected,
            "comment": comment,
            "comment_max": COMMENT_MAX,
            "follow_up": survey.follow_up_for(band),
            "low_label": low_label,
            "high_label": high_label,
            "errors": errors,
        },
        status=400 if errors else 200,
    )
