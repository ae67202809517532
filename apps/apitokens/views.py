"""The *API tokens* section of the Preferences page posts here: make a token (its key is
shown once, on the page this answers with) and revoke one of one's own."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.apitokens.services import api_token_create, api_token_revoke_own
from apps.core.errors import ValidationFailed
from apps.core.pages import cs_page, render_page

BACK = "notifications:preferences"


@never_cache
@require_POST
@cs_page(permission=None)
def token_create(request: HttpRequest) -> HttpResponse:
    try:
        token, key = api_token_create(user=request.user, name=request.POST.get("name", ""))
    except ValidationFailed as exc:
        for problems in exc.errors.values():
            for problem in problems:
                messages.error(request, problem)
        return redirect(BACK)
    # Answered directly, not redirected: the key must not wait in a session or a URL.
    return render_page(
        request,
        "apitokens/created.html",
        {"token": token, "key": key, "nav": "preferences"},
        status=201,
    )


@require_POST
@cs_page(permission=None)
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    # Someone else's token answers 404: its existence is not theirs to know.
    if not api_token_revoke_own(user=request.user, token_id=pk):
        raise Http404("No such token.")
    messages.success(request, "The token is revoked.")
    return redirect(BACK)
