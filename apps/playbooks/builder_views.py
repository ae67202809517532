"""The builder's htmx partials: a step kind's fields when the kind changes, and a
template rendered against a chosen deal."""

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse

from apps.core.templating import TemplateError, render_text
from apps.deals.models import Deal, Stage
from apps.playbooks.forms import placeholder_choices, step_config_form
from apps.playbooks.placeholders import (
    step_placeholders,
    template_context,
    template_placeholder_problems,
)

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


def _wait_steps(sent: str) -> list[dict[str, Any]]:
    """The page's wait steps as the builder's script sends them, ``[{"key", "name",
    "event"}]``, as snapshots; anything else is no step."""
    try:
        steps = json.loads(sent or "[]")
    except ValueError:
        return []
    return [
        {
            "key": str(step.get("key") or ""),
            "name": str(step.get("name") or ""),
            "kind": "wait",
            "config": {"until_event": str(step.get("event") or "")},
        }
        for step in (steps if isinstance(steps, list) else [])
        if isinstance(step, dict)
    ]


def template_preview_view(request: HttpRequest) -> HttpResponse:
    """A title or body rendered for the deal chosen above the steps; nothing is saved. A
    template that saving would refuse shows why instead. A wait step's fact, not known
    before the step runs, shows as its name."""
    if not request.user.has_perm("playbooks.view_playbook"):
        raise PermissionDenied
    texts = [value for name, value in request.GET.items() if name not in ("deal", "steps")]
    steps = _wait_steps(request.GET.get("steps", ""))
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
    elif problems := template_placeholder_problems(texts[0], steps=steps):
        context["error"] = " ".join(problems)
    elif deal is None:
        context["error"] = "Choose a deal above the steps to preview against."
    else:
        facts: dict[str, dict[str, str]] = {}
        for path, label in step_placeholders(steps):
            _, _, key, fact = path.split(".", 3)
            facts.setdefault(key, {})[fact] = f"[{label}]"
        values = template_context(account=deal.account, deal=deal, enrollment_context={})
        values["context"]["steps"] = facts
        try:
            context["text"] = render_text(texts[0], values)
        except TemplateError as exc:
            context["error"] = str(exc)
    return TemplateResponse(request, "admin/playbooks/playbook/_template_preview.html", context)
