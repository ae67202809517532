"""The builder's htmx partials: a step kind's fields when the kind changes, and a
template rendered against a chosen deal."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse

from apps.core.templating import TemplateError, render_text
from apps.deals.models import Deal, Stage
from apps.playbooks.forms import placeholder_choices, step_config_form
from apps.playbooks.placeholders import template_context

PREVIEW_DEALS = 50


def preview_deals() -> list[Deal]:
    """The deals a template can be previewed against: the latest won ones."""
    return list(
        Deal.objects.filter(stage=Stage.CLOSED_WON)
        .select_related("account")
        .order_by("-close_date", "-pk")[:PREVIEW_DEALS]
    )


def step_config_view(request: HttpRequest) -> HttpResponse:
    """The settings fields of the kind chosen in ``<prefix>-kind``, for that step."""
    if not request.user.has_perm("playbooks.change_playbook"):
        raise PermissionDenied
    chosen = [(name, value) for name, value in request.GET.items() if name.endswith("-kind")]
    if len(chosen) != 1:
        return HttpResponseBadRequest("Send one <step>-kind parameter.")
    name, kind = chosen[0]
    form = step_config_form(kind, prefix=f"{name.removesuffix('-kind')}-config")
    context = {"config_form": form, "placeholders": placeholder_choices()}
    return TemplateResponse(request, "admin/playbooks/playbook/_step_config.html", context)


def template_preview_view(request: HttpRequest) -> HttpResponse:
    """A title or body rendered for the deal chosen above the steps; nothing is saved."""
    if not request.user.has_perm("playbooks.view_playbook"):
        raise PermissionDenied
    texts = [value for name, value in request.GET.items() if name != "deal"]
    deal_id = request.GET.get("deal", "")
    deal = (
        Deal.objects.select_related("account__csm", "account__owner", "owner", "primary_contact")
        .filter(pk=deal_id)
        .first()
        if deal_id.isdecimal()
        else None
    )
    context = {"deal": deal, "text": "", "error": ""}
    if len(texts) != 1:
        context["error"] = "Nothing to preview."
    elif deal is None:
        context["error"] = "Choose a deal above the steps to preview against."
    else:
        values = template_context(account=deal.account, deal=deal, enrollment_context={})
        try:
            context["text"] = render_text(texts[0], values)
        except TemplateError as exc:
            context["error"] = str(exc)
    return TemplateResponse(request, "admin/playbooks/playbook/_template_preview.html", context)
